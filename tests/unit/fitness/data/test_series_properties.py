"""Properties of the data layer against deliberately naive reference loops (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fitness import BarSeries, align_funding
from tests.stubs import START_MS, make_bar_columns

HOUR = 3_600_000


def naive_align(bar_timestamp, timeframe_ms, settlement_timestamp, rates):
    out = [0.0] * len(bar_timestamp)
    for settlement, rate in zip(settlement_timestamp, rates, strict=True):
        for index, bar_open in enumerate(bar_timestamp):
            if bar_open <= settlement < bar_open + timeframe_ms:
                out[index] += rate
    return out


@st.composite
def bars_with_gaps(draw):
    n = draw(st.integers(2, 40))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 5]), min_size=n - 1, max_size=n - 1))
    timestamp = START_MS + HOUR * np.concatenate(([0], np.cumsum(steps))).astype(np.int64)
    return timestamp


@settings(max_examples=60)
@given(
    timestamp=bars_with_gaps(),
    offsets=st.lists(st.integers(0, 10**9), max_size=12, unique=True),
    timeframe_hours=st.sampled_from([1, 4, 24]),
)
def test_align_funding_when_random_settlements_then_equals_naive_loop(
    timestamp, offsets, timeframe_hours
):
    timeframe_ms = timeframe_hours * HOUR
    bar_timestamp = START_MS + (timestamp - START_MS) * timeframe_hours
    span = int(bar_timestamp[-1] + timeframe_ms - bar_timestamp[0])
    settlements = np.unique(bar_timestamp[0] + np.array(offsets, dtype=np.int64) % span)
    rates = np.linspace(-0.001, 0.002, settlements.size)

    fast = align_funding(bar_timestamp, timeframe_ms, settlements, rates)

    np.testing.assert_allclose(
        fast, naive_align(bar_timestamp, timeframe_ms, settlements, rates), rtol=1e-15, atol=1e-18
    )


@settings(max_examples=60)
@given(timestamp=bars_with_gaps(), seed=st.integers(0, 1000))
def test_fill_flat_when_gaps_then_equals_naive_forward_fill_and_split_keeps_rows(timestamp, seed):
    columns = make_bar_columns(timestamp.size, seed)
    columns["timestamp"] = timestamp

    filled = BarSeries.from_arrays(**columns, symbol="X", timeframe="1h", gaps="fill_flat")
    split = BarSeries.from_arrays(**columns, symbol="X", timeframe="1h", gaps="split")

    expected = {name: [] for name in ("open", "high", "low", "close", "volume", "funding_rate")}
    for index, bar_open in enumerate(timestamp):
        if index:
            for _ in range(int((bar_open - timestamp[index - 1]) // HOUR) - 1):
                for name in ("open", "high", "low", "close"):
                    expected[name].append(columns["close"][index - 1])
                expected["volume"].append(0.0)
                expected["funding_rate"].append(0.0)
        for name in expected:
            expected[name].append(columns[name][index])
    for name, values in expected.items():
        np.testing.assert_array_equal(getattr(filled, name), values)
    assert filled.n_bars == (timestamp[-1] - timestamp[0]) // HOUR + 1
    assert filled.gaps.missing_bars == split.gaps.missing_bars == filled.n_bars - timestamp.size
    assert split.n_bars == timestamp.size
    assert sum(stop - start for start, stop in split.segments) == timestamp.size
    assert len(split.segments) == split.gaps.count + 1
