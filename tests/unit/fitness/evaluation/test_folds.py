"""Walk-forward folds: layout, fractions, embargoes, gaps and multi-symbol calendar boundaries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from fitness import FoldConfig, Segment, split_segments, split_timeline
from fitness.errors import DataError

HOUR_MS = 3_600_000
START_MS = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS


def _hourly(first_bar: int, n_bars: int) -> np.ndarray:
    return START_MS + HOUR_MS * np.arange(first_bar, first_bar + n_bars, dtype=np.int64)


def test_split_segments_when_defaults_then_hand_computed_layout() -> None:
    # 10,000 hourly bars: holdout 2,000, validation 1,500, 5 embargoes of 24 bars,
    # discovery 10,000 - 3,500 - 120 = 6,380 -> 4 folds of 1,595
    segments = split_segments(10_000, FoldConfig(), bars_per_day=24)

    assert [(s.name, s.kind, s.start, s.stop) for s in segments] == [
        ("discovery-1", "discovery", 0, 1595),
        ("discovery-2", "discovery", 1619, 3214),
        ("discovery-3", "discovery", 3238, 4833),
        ("discovery-4", "discovery", 4857, 6452),
        ("validation", "validation", 6476, 7976),
        ("holdout", "holdout", 8000, 10_000),
    ]


def test_split_segments_when_discovery_not_divisible_then_earlier_folds_take_odd_bars() -> None:
    config = FoldConfig(n_discovery_folds=3, embargo_bars=2, min_segment_bars=5)

    segments = split_segments(100, config, bars_per_day=24)

    # holdout 20, validation 15, embargoes 4·2 = 8, discovery 57 -> 19, 19, 19
    assert [s.n_bars for s in segments] == [19, 19, 19, 15, 20]
    segments = split_segments(101, config, bars_per_day=24)
    # holdout round(20.2) = 20, validation round(15.15) = 15, discovery 58 -> 20, 19, 19
    assert [s.n_bars for s in segments] == [20, 19, 19, 15, 20]


def test_split_segments_when_no_validation_then_discovery_then_holdout() -> None:
    config = FoldConfig(n_discovery_folds=2, validation_fraction=0.0, embargo_bars=0)

    segments = split_segments(1000, config, bars_per_day=24)

    assert [s.name for s in segments] == ["discovery-1", "discovery-2", "holdout"]
    assert [(s.start, s.stop) for s in segments] == [(0, 400), (400, 800), (800, 1000)]


def test_split_segments_when_no_validation_no_holdout_then_discovery_covers_all() -> None:
    config = FoldConfig(n_discovery_folds=1, validation_fraction=0.0, holdout_fraction=0.0)

    assert split_segments(500, config, bars_per_day=24) == (
        Segment("discovery-1", "discovery", 0, 500),
    )


def test_split_segments_when_data_short_then_data_error_names_config_field() -> None:
    with pytest.raises(DataError, match="min_segment_bars = 100") as raised:
        split_segments(700, FoldConfig(), bars_per_day=24)

    assert "discovery-1" in str(raised.value)
    assert "n_discovery_folds" in str(raised.value)


def test_split_segments_when_embargo_none_then_one_day_of_bars() -> None:
    segments = split_segments(5000, FoldConfig(min_segment_bars=10), bars_per_day=288)

    gaps = [b.start - a.stop for a, b in itertools.pairwise(segments)]
    assert gaps == [288] * 5


def test_fold_config_when_bad_values_then_validation_error_names_field() -> None:
    with pytest.raises(ValidationError, match="holdout_fraction"):
        FoldConfig(holdout_fraction=0.5)
    with pytest.raises(ValidationError, match="n_discovery_folds"):
        FoldConfig(n_discovery_folds=0)
    with pytest.raises(ValidationError, match="validation_fraction \\+ holdout_fraction"):
        FoldConfig(validation_fraction=0.45, holdout_fraction=0.4)
    with pytest.raises(ValidationError, match="extra"):
        FoldConfig(purge=3)  # type: ignore[call-arg]


def test_fold_config_when_assigned_then_frozen() -> None:
    config = FoldConfig()

    with pytest.raises(ValidationError):
        config.embargo_bars = 3  # type: ignore[misc]


def test_split_segments_when_gap_inside_fold_then_two_pieces_same_name() -> None:
    config = FoldConfig(n_discovery_folds=2, embargo_bars=10, min_segment_bars=50)
    plain = split_segments(2000, config, bars_per_day=24)
    cut = plain[0].start + 300  # a gap between bars 299 and 300 of discovery-1

    segments = split_segments(
        2000, config, bars_per_day=24, contiguous_runs=[(0, cut), (cut, 2000)]
    )

    first = [s for s in segments if s.name == "discovery-1"]
    assert [(s.start, s.stop) for s in first] == [(0, 300), (300, plain[0].stop)]
    assert segments[2:] == plain[1:]


def test_split_segments_when_piece_under_two_bars_then_dropped() -> None:
    config = FoldConfig(n_discovery_folds=1, embargo_bars=0, min_segment_bars=5)

    segments = split_segments(100, config, bars_per_day=24, contiguous_runs=[(0, 64), (64, 100)])

    # discovery [0, 65) meets run (64, 100) in one bar only: that piece is dropped
    assert [(s.name, s.start, s.stop) for s in segments][:2] == [
        ("discovery-1", 0, 64),
        ("validation", 65, 80),
    ]


def test_split_segments_when_gaps_eat_a_segment_then_data_error() -> None:
    config = FoldConfig(n_discovery_folds=1, embargo_bars=0, min_segment_bars=10)

    with pytest.raises(DataError, match="'holdout' keeps only"):
        split_segments(100, config, bars_per_day=24, contiguous_runs=[(0, 85)])


def test_split_segments_when_runs_overlap_then_data_error() -> None:
    with pytest.raises(DataError, match="contiguous run 1"):
        split_segments(
            1000, FoldConfig(min_segment_bars=10), bars_per_day=24,
            contiguous_runs=[(0, 600), (500, 1000)],
        )  # fmt: skip


def test_split_timeline_when_symbols_differ_in_span_then_identical_calendar_boundaries() -> None:
    early = _hourly(0, 12_000)  # starts 2,000 bars earlier: warm-up only
    late = _hourly(2000, 11_000)  # ends 1,000 bars later than the common span

    timeline = split_timeline([early, late], HOUR_MS, FoldConfig())

    assert timeline.n_series == 2
    assert timeline.embargo_bars == 24
    assert timeline.calendar[0].start_ms == int(late[0])
    assert timeline.calendar[-1].stop_ms == int(early[-1]) + HOUR_MS
    for series_index, timestamps in enumerate([early, late]):
        segments = timeline.segments(series_index)
        assert [s.name for s in segments] == [c.name for c in timeline.calendar]
        for segment, (start_ms, stop_ms) in zip(segments, timeline.boundaries_ms, strict=True):
            assert int(timestamps[segment.start]) == start_ms
            assert int(timestamps[segment.stop - 1]) == stop_ms - HOUR_MS
    assert timeline.segments(0)[0].start == 2000  # the earlier bars stay available for warm-up


def test_split_timeline_when_series_has_gap_then_pieces_never_straddle_it() -> None:
    full = _hourly(0, 10_000)
    gapped = np.concatenate([full[:3000], full[3050:]])  # 50 missing bars in discovery-2

    timeline = split_timeline([full, gapped], HOUR_MS, FoldConfig())

    pieces = timeline.segments(1, kind="discovery")
    assert len(pieces) == 5
    for piece in pieces:
        span = gapped[piece.stop - 1] - gapped[piece.start]
        assert span == (piece.n_bars - 1) * HOUR_MS  # contiguous in time
    assert [p.name for p in pieces].count("discovery-2") == 2


def test_split_timeline_when_series_do_not_overlap_then_data_error() -> None:
    with pytest.raises(DataError, match="no common span"):
        split_timeline([_hourly(0, 500), _hourly(600, 500)], HOUR_MS, FoldConfig())


def test_split_timeline_when_timestamp_off_grid_then_data_error_names_row() -> None:
    timestamps = _hourly(0, 500)
    timestamps[7] += 1

    with pytest.raises(DataError, match=r"timestamps\[0\] row 7"):
        split_timeline([timestamps], HOUR_MS, FoldConfig())


def test_split_timeline_when_common_span_short_then_data_error() -> None:
    with pytest.raises(DataError, match="common span"):
        split_timeline([_hourly(0, 3000), _hourly(2500, 3000)], HOUR_MS, FoldConfig())


def test_split_timeline_when_holdout_prices_move_then_discovery_indices_unchanged() -> None:
    # the split depends on timestamps only; no discovery index reaches the holdout or embargo
    timestamps = _hourly(0, 8000)

    timeline = split_timeline([timestamps], HOUR_MS, FoldConfig())

    holdout = timeline.segments(0, kind="holdout")[0]
    validation = timeline.segments(0, kind="validation")[0]
    assert max(s.stop for s in timeline.segments(0, kind="discovery")) + 24 <= validation.start
    assert validation.stop + 24 == holdout.start
    assert holdout.stop == 8000
