"""Fold invariants: disjoint, in time order, embargoed, fractions kept, holdout last, aligned."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fitness import FoldConfig, split_segments, split_timeline
from fitness.errors import DataError

HOUR_MS = 3_600_000

fold_configs = st.builds(
    FoldConfig,
    n_discovery_folds=st.integers(1, 8),
    validation_fraction=st.sampled_from([0.0, 0.05, 0.1, 0.15, 0.25, 0.33]),
    holdout_fraction=st.sampled_from([0.0, 0.07, 0.2, 0.3, 0.45]),
    embargo_bars=st.one_of(st.none(), st.integers(0, 200)),
    min_segment_bars=st.integers(1, 300),
)


@given(n_bars=st.integers(10, 50_000), config=fold_configs, bars_per_day=st.integers(1, 300))
def test_split_segments_when_any_config_then_invariants_hold_or_data_error(
    n_bars: int, config: FoldConfig, bars_per_day: int
) -> None:
    try:
        segments = split_segments(n_bars, config, bars_per_day=bars_per_day)
    except DataError as e:
        assert "min_segment_bars" in str(e)
        return
    embargo = bars_per_day if config.embargo_bars is None else config.embargo_bars

    kinds = [s.kind for s in segments]
    assert kinds[: config.n_discovery_folds] == ["discovery"] * config.n_discovery_folds
    assert [s.name for s in segments if s.kind == "discovery"] == [
        f"discovery-{i + 1}" for i in range(config.n_discovery_folds)
    ]
    assert segments[0].start == 0
    for earlier, later in itertools.pairwise(segments):
        # disjoint, in time order, exactly one embargo apart
        assert later.start - earlier.stop == embargo
    assert all(s.n_bars >= config.min_segment_bars for s in segments)
    assert segments[-1].stop == n_bars
    if config.holdout_fraction > 0:
        assert segments[-1].kind == "holdout"
        assert abs(segments[-1].n_bars - config.holdout_fraction * n_bars) <= 0.5 + 1e-9
    validation = [s for s in segments if s.kind == "validation"]
    assert len(validation) == (config.validation_fraction > 0)
    for segment in validation:
        assert abs(segment.n_bars - config.validation_fraction * n_bars) <= 0.5 + 1e-9
    discovery = [s.n_bars for s in segments if s.kind == "discovery"]
    assert max(discovery) - min(discovery) <= 1


@settings(max_examples=50)
@given(
    offsets=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=4),
    n_common=st.integers(1500, 6000),
    gap=st.one_of(st.none(), st.tuples(st.integers(0, 5999), st.integers(1, 40))),
)
def test_split_timeline_when_symbols_vary_then_same_calendar_and_pnl_inside_segments(
    offsets: list[tuple[int, int]], n_common: int, gap: tuple[int, int] | None
) -> None:
    # series i covers [-before, n_common + after) on the hourly grid; series 0 may have a gap
    series = []
    for index, (before, after) in enumerate(offsets):
        timestamps = HOUR_MS * np.arange(-before, n_common + after, dtype=np.int64)
        if index == 0 and gap is not None:
            position = before + gap[0] % n_common
            timestamps = np.delete(timestamps, np.arange(position, position + gap[1]))
            if (
                timestamps.size < 2
                or timestamps[0] > 0
                or timestamps[-1] < HOUR_MS * (n_common - 1)
            ):
                return  # the gap ate an end of the common span: a different span, skip
        series.append(timestamps)
    config = FoldConfig(min_segment_bars=50)

    try:
        timeline = split_timeline(series, HOUR_MS, config)
    except DataError:
        return

    for index, timestamps in enumerate(series):
        segments = timeline.segments(index)
        assert {s.name for s in segments} == {c.name for c in timeline.calendar}
        calendar = {c.name: (c.start_ms, c.stop_ms) for c in timeline.calendar}
        previous_stop = 0
        for segment in segments:
            start_ms, stop_ms = calendar[segment.name]
            inside = timestamps[segment.start : segment.stop]
            # every P&L bar of the piece lies inside its calendar segment, and never spans a gap
            assert inside[0] >= start_ms and inside[-1] < stop_ms
            assert np.all(np.diff(inside) == HOUR_MS)
            assert segment.start >= previous_stop
            previous_stop = segment.stop
    for earlier, later in zip(timeline.calendar[:-1], timeline.calendar[1:], strict=True):
        assert later.start_ms - earlier.stop_ms == timeline.embargo_bars * HOUR_MS
    assert timeline.calendar[-1].name == "holdout"
