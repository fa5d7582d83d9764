"""Walk-forward folds: a timeline cut into discovery folds, validation and holdout with embargoes.

Order in time (oldest first): ``discovery-1`` .. ``discovery-K``, ``validation``, ``holdout``,
with ``embargo_bars`` bars between each consecutive pair whose P&L counts nowhere. Segments are
``[start, stop)`` bar-index ranges where P&L counts; each is backtested from flat, and its
indicators may warm up on earlier bars (never later ones). Gaps (the ``"split"`` gap policy)
are never straddled: a segment crossing a gap is cut into pieces sharing its name.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fitness.errors import DataError
from primitives.arrays import Int64Array

DAY_MS = 86_400_000


class FoldConfig(BaseModel):
    """How a timeline is split (a section of the run config; every field has a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_discovery_folds: int = Field(default=4, ge=1, description="contiguous discovery folds")
    validation_fraction: float = Field(
        default=0.15, ge=0.0, lt=0.5, description="share of the timeline's bars for validation"
    )
    holdout_fraction: float = Field(
        default=0.20, ge=0.0, lt=0.5, description="share of the timeline's bars never evolved on"
    )
    embargo_bars: int | None = Field(
        default=None, ge=0, description="bars between segments; None = one day of bars"
    )
    min_segment_bars: int = Field(
        default=100, ge=1, description="a shorter segment is a config/data error"
    )

    @model_validator(mode="after")
    def _check_fractions(self) -> FoldConfig:
        if self.validation_fraction + self.holdout_fraction >= 0.8:
            raise ValueError(
                "validation_fraction + holdout_fraction must be < 0.8 so discovery keeps at "
                f"least 20 % of the bars, found {self.validation_fraction} + "
                f"{self.holdout_fraction}"
            )
        return self


@dataclass(frozen=True, slots=True)
class Segment:
    """Bars ``[start, stop)`` of one series where a segment's P&L counts.

    ``name`` is ``"discovery-1"`` .. ``"discovery-K"``, ``"validation"`` or ``"holdout"``;
    ``kind`` is ``"discovery"``, ``"validation"`` or ``"holdout"``. Under the ``"split"`` gap
    policy one named segment may consist of several pieces (one ``Segment`` each).
    """

    name: str
    kind: str
    start: int
    stop: int

    @property
    def n_bars(self) -> int:
        """Return the number of bars in the segment."""
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class CalendarSegment:
    """A named segment as a calendar period ``[start_ms, stop_ms)`` of bar open times (ms UTC)."""

    name: str
    kind: str
    start_ms: int
    stop_ms: int


def _segment_plan(n_bars: int, config: FoldConfig, embargo: int) -> list[tuple[str, str, int]]:
    # (name, kind, n_bars) oldest first; fractions are of the whole timeline, rounded half up
    holdout = math.floor(config.holdout_fraction * n_bars + 0.5)
    validation = math.floor(config.validation_fraction * n_bars + 0.5)
    tail = [("validation", "validation", validation)] if config.validation_fraction > 0 else []
    if config.holdout_fraction > 0:
        tail.append(("holdout", "holdout", holdout))
    k = config.n_discovery_folds
    discovery = n_bars - sum(size for _, _, size in tail) - embargo * (k - 1 + len(tail))
    sizes = [discovery // k + (1 if i < discovery % k else 0) for i in range(k)]
    plan = [(f"discovery-{i + 1}", "discovery", size) for i, size in enumerate(sizes)]
    return plan + tail


def _contiguous_split(
    n_bars: int, config: FoldConfig, embargo: int, where: str
) -> tuple[Segment, ...]:
    plan = _segment_plan(n_bars, config, embargo)
    for name, _, size in plan:
        if size < config.min_segment_bars:
            raise DataError(
                f"{where}: {n_bars} bars are too short for the fold config: segment {name!r} "
                f"would have {max(size, 0)} bars, below min_segment_bars = "
                f"{config.min_segment_bars} (n_discovery_folds = {config.n_discovery_folds}, "
                f"validation_fraction = {config.validation_fraction}, holdout_fraction = "
                f"{config.holdout_fraction}, embargo_bars = {embargo}); use more data or "
                "lower n_discovery_folds, embargo_bars or min_segment_bars"
            )
    segments, start = [], 0
    for name, kind, size in plan:
        segments.append(Segment(name, kind, start, start + size))
        start += size + embargo
    return tuple(segments)


def _check_runs(runs: Sequence[tuple[int, int]], n_bars: int, where: str) -> list[tuple[int, int]]:
    checked, previous_stop = [], 0
    for position, (start, stop) in enumerate(runs):
        if not previous_stop <= start < stop <= n_bars:
            raise DataError(
                f"{where}: contiguous run {position} = ({start}, {stop}) is empty, overlaps the "
                f"previous run or leaves [0, {n_bars}); expected sorted, disjoint (start, stop) "
                "index runs as returned by the data layer's segments"
            )
        checked.append((int(start), int(stop)))
        previous_stop = stop
    return checked


def _clip_to_runs(
    segments: Sequence[Segment], runs: Sequence[tuple[int, int]], config: FoldConfig, where: str
) -> tuple[Segment, ...]:
    # a segment never spans a gap: keep its intersections with each run (pieces of >= 2 bars,
    # since a 1-bar piece backtested from flat cannot hold a position)
    pieces: list[Segment] = []
    for segment in segments:
        named = [
            Segment(segment.name, segment.kind, max(segment.start, start), min(segment.stop, stop))
            for start, stop in runs
            if min(segment.stop, stop) - max(segment.start, start) >= 2
        ]
        total = sum(piece.n_bars for piece in named)
        if total < config.min_segment_bars:
            raise DataError(
                f"{where}: segment {segment.name!r} keeps only {total} bars outside gaps, below "
                f"min_segment_bars = {config.min_segment_bars}; use data with fewer gaps, "
                "fill them (gaps = 'fill_flat') or lower min_segment_bars"
            )
        pieces.extend(named)
    return tuple(pieces)


def split_segments(
    n_bars: int,
    config: FoldConfig,
    *,
    bars_per_day: int,
    contiguous_runs: Sequence[tuple[int, int]] | None = None,
) -> tuple[Segment, ...]:
    """Return the walk-forward segments of one series of ``n_bars`` bars, oldest first.

    Holdout and validation get ``round(fraction · n_bars)`` bars (half up) at the end; the
    discovery folds share the rest after the embargoes (``embargo_bars``, or ``bars_per_day``
    when None) as evenly as possible, earlier folds taking the odd bars.

    Parameters
    ----------
    n_bars : int
        Number of bars of the series.
    config : FoldConfig
        Fold configuration.
    bars_per_day : int
        Bars in one day at the series' timeframe (the default embargo).
    contiguous_runs : sequence of (start, stop), optional
        Gap-free index runs (gap policy ``"split"``). Segments are then cut at gaps into pieces
        with the same name; pieces under 2 bars and bars outside every run are dropped.

    Raises
    ------
    DataError
        If a segment would be shorter than ``min_segment_bars`` (the message names the fields).
    """
    if bars_per_day < 1:
        raise ValueError(f"bars_per_day: expected at least 1, found {bars_per_day}")
    embargo = bars_per_day if config.embargo_bars is None else config.embargo_bars
    segments = _contiguous_split(n_bars, config, embargo, "series")
    if contiguous_runs is None:
        return segments
    runs = _check_runs(contiguous_runs, n_bars, "contiguous_runs")
    return _clip_to_runs(segments, runs, config, "series")


@dataclass(frozen=True, slots=True)
class Timeline:
    """Walk-forward split of one or more series aligned on the same calendar boundaries.

    ``calendar`` holds the named segments as ms periods on the common span; every series has its
    own index ranges for them (see :meth:`segments`). Bars of a series before the common span
    may serve as indicator warm-up, never as P&L.
    """

    timeframe_ms: int
    embargo_bars: int
    calendar: tuple[CalendarSegment, ...]
    series_segments: tuple[tuple[Segment, ...], ...]

    @property
    def n_series(self) -> int:
        """Return the number of series split."""
        return len(self.series_segments)

    @property
    def boundaries_ms(self) -> tuple[tuple[int, int], ...]:
        """Return ``(start_ms, stop_ms)`` of each calendar segment, oldest first."""
        return tuple((segment.start_ms, segment.stop_ms) for segment in self.calendar)

    def segments(self, series_index: int, kind: str | None = None) -> tuple[Segment, ...]:
        """Return the segments (index ranges) of series ``series_index``, optionally one kind."""
        segments = self.series_segments[series_index]
        return segments if kind is None else tuple(s for s in segments if s.kind == kind)


def _checked_timestamps(values: Int64Array, timeframe_ms: int, position: int) -> Int64Array:
    timestamps = np.asarray(values)
    if timestamps.ndim != 1 or timestamps.size < 2 or timestamps.dtype.kind not in "iu":
        raise DataError(
            f"timestamps[{position}]: expected a 1-D integer array of at least 2 bar open times "
            f"(ms), found dtype {timestamps.dtype} shape {timestamps.shape}"
        )
    times_ms = timestamps.astype(np.int64)
    steps = times_ms[1:] - times_ms[:-1]  # np.diff, which numpy's stubs type as timedelta64
    bad = np.flatnonzero((steps <= 0) | (steps % timeframe_ms != 0))
    if bad.size:
        row = int(bad[0]) + 1
        raise DataError(
            f"timestamps[{position}] row {row}: {int(timestamps[row])} follows "
            f"{int(timestamps[row - 1])}; expected strictly increasing times on the "
            f"{timeframe_ms} ms grid; load the series through the data layer"
        )
    return timestamps.astype(np.int64)


def _runs_from_timestamps(timestamps: Int64Array, timeframe_ms: int) -> list[tuple[int, int]]:
    breaks = np.flatnonzero(np.diff(timestamps) != timeframe_ms) + 1
    edges = [0, *breaks.tolist(), int(timestamps.size)]
    return list(itertools.pairwise(edges))


def split_timeline(
    timestamps: Sequence[Int64Array], timeframe_ms: int, config: FoldConfig
) -> Timeline:
    """Return the walk-forward split of several series on identical calendar boundaries.

    Boundaries are laid out by :func:`split_segments` on the grid bars of the common span
    ``[max(first), min(last)]`` (gaps counted as bars, so every symbol's holdout is the same
    calendar period), then mapped onto each series with ``searchsorted``. Gaps found in a
    series' timestamps (gap policy ``"split"``) cut its segments into pieces.

    Parameters
    ----------
    timestamps : sequence of ndarray of int64, each shape (n_bars_i,)
        Bar open times (ms UTC) of each series, strictly increasing on the timeframe grid.
    timeframe_ms : int
        Bar length in milliseconds.
    config : FoldConfig
        Fold configuration; ``embargo_bars = None`` means one day of bars.

    Raises
    ------
    DataError
        If the series do not overlap, a timestamp array is malformed, or a segment of the
        common span or of one series is shorter than ``min_segment_bars``.
    """
    if timeframe_ms < 1:
        raise ValueError(f"timeframe_ms: expected a positive bar length, found {timeframe_ms}")
    if len(timestamps) == 0:
        raise DataError("timestamps: expected at least one series, found none")
    series = [_checked_timestamps(ts, timeframe_ms, i) for i, ts in enumerate(timestamps)]
    first, last = max(int(ts[0]) for ts in series), min(int(ts[-1]) for ts in series)
    if first > last or (last - first) % timeframe_ms:
        raise DataError(
            f"timestamps: the series share no common span on the {timeframe_ms} ms grid "
            f"(latest first bar {first}, earliest last bar {last}); choose overlapping series"
        )
    n_common = (last - first) // timeframe_ms + 1
    embargo = max(1, DAY_MS // timeframe_ms) if config.embargo_bars is None else config.embargo_bars
    common = _contiguous_split(n_common, config, embargo, "common span of the series")
    calendar = tuple(
        CalendarSegment(
            s.name, s.kind, first + s.start * timeframe_ms, first + s.stop * timeframe_ms
        )
        for s in common
    )
    per_series = []
    for position, ts in enumerate(series):
        mapped = [
            Segment(
                c.name,
                c.kind,
                int(np.searchsorted(ts, c.start_ms, side="left")),
                int(np.searchsorted(ts, c.stop_ms, side="left")),
            )
            for c in calendar
        ]
        runs = _runs_from_timestamps(ts, timeframe_ms)
        per_series.append(_clip_to_runs(mapped, runs, config, f"timestamps[{position}]"))
    return Timeline(
        timeframe_ms=timeframe_ms,
        embargo_bars=embargo,
        calendar=calendar,
        series_segments=tuple(per_series),
    )
