"""BarSeries: validation of from_arrays, content hash, immutability, slices, gaps, funding."""

from __future__ import annotations

import hashlib
import pickle
import struct

import numpy as np
import pytest

from fitness import (
    TIMEFRAMES,
    BarSeries,
    DataError,
    FundingTable,
    GapError,
    GapReport,
    align_funding,
    timeframe_to_ms,
)
from tests.stubs import START_MS, make_bar_columns, make_bars

HOUR = 3_600_000
DAY = 24 * HOUR


def bars(**overrides: object) -> dict[str, object]:
    columns: dict[str, object] = {
        "timestamp": START_MS + np.arange(4, dtype=np.int64) * HOUR,
        "open": [10.0, 11.0, 12.0, 13.0],
        "high": [11.5, 12.5, 13.5, 14.5],
        "low": [9.5, 10.5, 11.5, 12.5],
        "close": [11.0, 12.0, 13.0, 14.0],
        "volume": [1.0, 2.0, 3.0, 4.0],
    }
    columns.update(overrides)
    return columns


def build(gaps: str = "error", **overrides: object) -> BarSeries:
    return BarSeries.from_arrays(**bars(**overrides), symbol="TEST", timeframe="1h", gaps=gaps)


def naive_hash(columns: dict[str, list[float] | list[int]]) -> str:
    # an independent reference: struct-packed values, one at a time
    digest = hashlib.sha256()
    for name in ("timestamp", "open", "high", "low", "close", "volume", "funding_rate"):
        fmt = "<q" if name == "timestamp" else "<d"
        digest.update(name.encode() + b"\x00")
        for value in columns[name]:
            digest.update(struct.pack(fmt, value))
    return "sha256:" + digest.hexdigest()


def test_timeframe_to_ms_when_known_then_returns_bar_length_and_unknown_raises():
    assert timeframe_to_ms("1m") == 60_000
    assert timeframe_to_ms("1h") == HOUR
    assert timeframe_to_ms("1d") == DAY
    assert set(TIMEFRAMES) == {
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
    }
    with pytest.raises(DataError, match="timeframe '7m' is not supported"):
        timeframe_to_ms("7m")


def test_from_arrays_when_valid_then_properties_follow_design():
    series = build()

    assert series.n_bars == len(series) == 4
    assert series.timeframe_ms == HOUR and series.timeframe_seconds == 3600
    assert series.bars_per_year == 8760.0
    assert series.segments == ((0, 4),)
    assert series.has_funding is False and not series.funding_rate.any()
    assert series.exchange == "" and series.name == ""
    assert series.gaps.count == 0 and series.gaps.policy == "error"
    assert series.timestamp.dtype == np.int64 and series.close.dtype == np.float64
    assert make_bars(10, timeframe="5m").bars_per_year == 105_120.0


def test_content_hash_when_compared_to_naive_struct_reference_then_equal():
    columns = {key: list(value) for key, value in bars().items()}
    columns["timestamp"] = [int(value) for value in columns["timestamp"]]
    columns["funding_rate"] = [0.0, 0.0001, 0.0, -0.0002]
    series = BarSeries.from_arrays(**columns, symbol="TEST", timeframe="1h")

    assert series.content_hash == naive_hash(columns)
    assert len(series.content_hash) == len("sha256:") + 64


def test_content_hash_when_one_value_changes_then_differs_and_metadata_does_not_count():
    base = build()
    same_data_other_meta = BarSeries.from_arrays(
        **bars(), symbol="OTHER", timeframe="1h", exchange="x", source="elsewhere"
    )
    changed = build(close=[11.0, 12.0, 13.0, 14.000000001])

    assert same_data_other_meta.content_hash == base.content_hash
    assert changed.content_hash != base.content_hash


def test_content_hash_when_volume_is_negative_zero_then_equals_positive_zero():
    assert (
        build(volume=[-0.0, 2.0, 3.0, 4.0]).content_hash
        == build(volume=[0.0, 2, 3, 4]).content_hash
    )


def test_from_arrays_when_caller_mutates_input_then_series_unchanged_and_read_only():
    columns = make_bar_columns(20, seed=1)
    series = BarSeries.from_arrays(**columns, symbol="X", timeframe="1h")
    before = series.content_hash

    columns["close"][:] = 1.0

    assert series.content_hash == before and series.close[0] != 1.0
    with pytest.raises(ValueError, match="read-only"):
        series.close[0] = 5.0
    with pytest.raises(AttributeError):
        series.symbol = "Y"  # type: ignore[misc]


def test_from_arrays_when_iso_and_int_timestamps_then_same_hash():
    iso = [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+00:00",
        "2024-01-01T03:00:00+01:00",
        "2024-01-01T03:00:00.000Z",
    ]
    assert build(timestamp=iso).content_hash == build().content_hash


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"close": [11.0, 12.0, 13.0]}, ["differ in length"]),
        (
            {"close": [11.0, "abc", 13.0, 14.0]},
            ["row 2 (index 1), column close", "'abc' is not a number"],
        ),
        ({"high": [11.5, 12.5, float("nan"), 14.5]}, ["row 3 (index 2), column high", "nan"]),
        ({"low": [9.5, float("inf"), 11.5, 12.5]}, ["row 2 (index 1), column low", "inf"]),
        ({"open": [10.0, 11.0, 0.0, 13.0]}, ["row 3 (index 2), column open", "not positive"]),
        ({"high": [11.5, 12.5, 13.5, 12.0]}, ["row 4 (index 3)", "high < low"]),
        (
            {"open": [10.0, 13.0, 12.0, 13.0]},
            ["row 2 (index 1), column open", "outside [low, high]"],
        ),
        ({"close": [11.0, 12.0, 11.0, 14.0]}, ["row 3 (index 2), column close", "outside"]),
        ({"volume": [1.0, 2.0, -3.0, 4.0]}, ["row 3 (index 2), column volume", "negative"]),
        ({"timestamp": START_MS + np.array([0, 1, 1, 2]) * HOUR}, ["row 3 (index 2)", "duplicate"]),
        ({"timestamp": START_MS + np.array([0, 2, 1, 3]) * HOUR}, ["row 3 (index 2)", "earlier"]),
        (
            {"timestamp": START_MS + np.arange(4) * HOUR + [0, 0, 123, 0]},
            ["row 3", "off the 1h grid", "123 ms past"],
        ),
        ({"timestamp": ["2024-01-01T00:00:00", "x", "y", "z"]}, ["row 1", "no UTC offset"]),
        ({"funding_rate": [0.0, float("nan"), 0.0, 0.0]}, ["row 2", "funding_rate"]),
    ],
    ids=[
        "length",
        "non-numeric",
        "nan",
        "inf",
        "non-positive",
        "high<low",
        "open-outside",
        "close-outside",
        "negative-volume",
        "duplicate",
        "unsorted",
        "off-grid",
        "naive-iso",
        "funding-nan",
    ],
)
def test_from_arrays_when_bad_input_then_data_error_names_row_and_column(overrides, fragments):
    with pytest.raises(DataError) as caught:
        build(**overrides)

    message = str(caught.value)
    assert message.startswith("<arrays>")
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


def test_from_arrays_when_empty_then_data_error():
    with pytest.raises(DataError, match="no bars"):
        BarSeries.from_arrays([], [], [], [], [], [], symbol="X", timeframe="1h")


def test_from_arrays_when_gap_and_default_policy_then_gap_error_with_hint():
    timestamp = START_MS + np.array([0, 1, 4, 5]) * HOUR

    with pytest.raises(GapError) as caught:
        build(timestamp=timestamp)

    message = str(caught.value)
    assert "row 3 (index 2)" in message and "1 gap(s), 2 bar(s) missing" in message
    assert "--gaps split" in message and "--gaps fill_flat" in message


def test_from_arrays_when_gaps_split_then_segments_are_contiguous_runs():
    series = build(gaps="split", timestamp=START_MS + np.array([0, 1, 4, 5]) * HOUR)

    assert series.n_bars == 4
    assert series.segments == ((0, 2), (2, 4))
    assert series.gaps.policy == "split" and series.gaps.count == 1
    gap = series.gaps.gaps[0]
    assert (gap.start_ms, gap.end_ms, gap.missing_bars, gap.filled) == (
        START_MS + 2 * HOUR,
        START_MS + 4 * HOUR,
        2,
        False,
    )


def test_from_arrays_when_gaps_fill_flat_then_flat_zero_volume_bars_at_previous_close():
    series = build(
        gaps="fill_flat",
        timestamp=START_MS + np.array([0, 1, 4, 5]) * HOUR,
        funding_rate=[0.001, 0.002, 0.003, 0.004],
    )

    assert series.n_bars == 6 and series.segments == ((0, 6),)
    np.testing.assert_array_equal(series.timestamp, START_MS + np.arange(6) * HOUR)
    for column in (series.open, series.high, series.low, series.close):
        assert column[2] == column[3] == 12.0  # close of the bar before the gap
    np.testing.assert_array_equal(series.volume, [1.0, 2.0, 0.0, 0.0, 3.0, 4.0])
    np.testing.assert_array_equal(series.funding_rate, [0.001, 0.002, 0.0, 0.0, 0.003, 0.004])
    report = series.gaps
    assert (report.policy, report.count, report.missing_bars, report.longest_bars) == (
        "fill_flat",
        1,
        2,
        2,
    )
    assert report.gaps[0].filled is True


def test_gap_report_when_round_tripped_through_dict_then_equal():
    report = build(gaps="split", timestamp=START_MS + np.array([0, 1, 4, 9]) * HOUR).gaps

    data = report.to_dict()

    assert data["count"] == 2 and data["missing_bars"] == 6 and data["longest_bars"] == 4
    assert data["gaps"][0]["start"] == "2024-01-01T02:00:00Z"
    assert GapReport.from_dict(data) == report


def test_slice_when_taken_then_hash_recomputed_and_gaps_restricted():
    series = build(gaps="split", timestamp=START_MS + np.array([0, 1, 4, 5]) * HOUR)

    head, tail, across = series.slice(0, 2), series.slice(2, 4), series.slice(1, 3)

    assert head.n_bars == 2 and head.gaps.count == 0 and head.segments == ((0, 2),)
    assert tail.gaps.count == 0
    assert across.gaps.count == 1 and across.segments == ((0, 1), (1, 2))
    assert head.content_hash == build(**{k: v[:2] for k, v in bars().items()}).content_hash
    assert series.slice(-2, 4).content_hash == tail.content_hash
    with pytest.raises(ValueError, match="empty"):
        series.slice(3, 3)


def test_bar_series_when_pickled_then_equal_hash_and_still_read_only():
    series = make_bars(50, seed=3)

    restored = pickle.loads(pickle.dumps(series))

    assert restored.content_hash == series.content_hash and restored.symbol == series.symbol
    assert not restored.close.flags.writeable


def test_make_bars_when_same_seed_then_identical_and_other_seed_differs():
    assert make_bars(100, seed=7).content_hash == make_bars(100, seed=7).content_hash
    assert make_bars(100, seed=7).content_hash != make_bars(100, seed=8).content_hash
    assert make_bars(100, seed=7).has_funding


def test_align_funding_when_hand_computed_1h_example_with_jitter_then_rates_land_in_their_bars():
    bar_timestamp = START_MS + np.arange(24, dtype=np.int64) * HOUR
    settlements = START_MS + np.array([0, 8 * HOUR + 8, 16 * HOUR], dtype=np.int64)  # 08:00:00.008

    out = align_funding(bar_timestamp, HOUR, settlements, np.array([0.0001, -0.0002, 0.0003]))

    expected = np.zeros(24)
    expected[0], expected[8], expected[16] = 0.0001, -0.0002, 0.0003
    np.testing.assert_array_equal(out, expected)


def test_align_funding_when_1d_bars_then_three_settlements_per_day_are_summed():
    bar_timestamp = START_MS + np.arange(2, dtype=np.int64) * DAY
    settlements = START_MS + np.arange(6, dtype=np.int64) * 8 * HOUR
    settlements[1] += 8  # jitter does not move a settlement out of its day
    rates = np.array([0.0001, 0.0002, 0.0003, -0.0001, 0.0005, 0.0])

    out = align_funding(bar_timestamp, DAY, settlements, rates)

    np.testing.assert_allclose(out, [0.0006, 0.0004], rtol=0, atol=1e-18)


@pytest.mark.parametrize("offset", [-1, 24 * HOUR])
def test_align_funding_when_settlement_outside_bar_range_then_error_names_funding_row(offset):
    bar_timestamp = START_MS + np.arange(24, dtype=np.int64) * HOUR
    settlements = np.array([START_MS + 8 * HOUR, START_MS + offset], dtype=np.int64)
    settlements.sort()

    with pytest.raises(
        DataError, match=r"funding.csv row \d, column timestamp: settlement .* outside"
    ):
        align_funding(bar_timestamp, HOUR, settlements, np.array([0.1, 0.2]), source="funding.csv")


def test_align_funding_when_settlement_inside_a_split_gap_then_left_out():
    bar_timestamp = START_MS + np.array([0, 1, 10, 11], dtype=np.int64) * HOUR

    out = align_funding(bar_timestamp, HOUR, np.array([START_MS + 8 * HOUR]), np.array([0.5]))

    assert not out.any()


def test_funding_table_when_unsorted_or_nan_then_data_error_and_valid_is_read_only():
    with pytest.raises(DataError, match=r"row 2 .*duplicate settlement time"):
        FundingTable(np.array([1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(DataError, match=r"row 1 .*funding_rate"):
        FundingTable(np.array([1, 2]), np.array([np.nan, 0.2]))
    table = FundingTable(np.array([1, 2]), np.array([0.1, 0.2]))
    assert len(table) == 2 and not table.timestamp.flags.writeable
    assert len(table.within(2, 3)) == 1
