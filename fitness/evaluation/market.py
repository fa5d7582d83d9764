"""The market a population is judged on: one or more symbols split on one walk-forward timeline.

A ``Market`` is built once per run, is immutable and picklable (it goes into Ray's object store
once), and tells the evaluator which bars each segment covers and which bars evolution may see.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fitness.data.series import BarSeries
from fitness.errors import DataError
from fitness.evaluation.folds import (
    DAY_MS,
    CalendarSegment,
    FoldConfig,
    Segment,
    Timeline,
    split_timeline,
)
from primitives.arrays import Float64Array, Int64Array

SEGMENT_KINDS = ("discovery", "validation", "holdout")


@dataclass(frozen=True, slots=True, eq=False)
class SeriesPrefix:
    """Bars ``[0, stop)`` of a series as read-only views, for evaluating strategies causally.

    ``content_hash`` is the full series' hash suffixed with ``[:stop]`` (a prefix of known
    content is identified by the whole's hash and its length), so a subtree memo never mixes
    it up with the full series or another prefix. It satisfies ``primitives.MarketLike``.
    """

    timestamp: Int64Array
    open: Float64Array
    high: Float64Array
    low: Float64Array
    close: Float64Array
    volume: Float64Array
    funding_rate: Float64Array
    content_hash: str

    @classmethod
    def of(cls, series: BarSeries, stop: int) -> SeriesPrefix:
        """Return bars ``[0, stop)`` of ``series`` (views, no copy)."""
        columns = series.columns()
        return cls(
            **{name: array[:stop] for name, array in columns.items()},
            content_hash=f"{series.content_hash}[:{stop}]",
        )

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])


@dataclass(frozen=True, slots=True)
class NamedSegment:
    """One named segment of one series: its pieces (several only under the "split" gap policy).

    ``start_ms``/``stop_ms`` bound the calendar period (identical for every symbol).
    """

    name: str
    kind: str
    pieces: tuple[Segment, ...]
    start_ms: int
    stop_ms: int

    @property
    def n_bars(self) -> int:
        """Return the number of bars whose P&L counts (all pieces)."""
        return sum(piece.n_bars for piece in self.pieces)


@dataclass(frozen=True, slots=True, eq=False)
class Market:
    """Bar series of one or more symbols at one timeframe, split on one walk-forward timeline.

    Build it with :meth:`build`. Attributes: ``series`` (one ``BarSeries`` per symbol, distinct
    symbols, same timeframe) and ``timeline`` (``fitness.split_timeline`` of their timestamps:
    the same calendar boundaries for every symbol). Evolution sees only the bars before the end
    of the validation segment (:meth:`evolution_bars`); the embargo and holdout after it are
    read only when a caller asks for the holdout.
    """

    series: tuple[BarSeries, ...]
    timeline: Timeline
    _named: tuple[tuple[NamedSegment, ...], ...] = field(init=False, repr=False)
    _prefixes: tuple[SeriesPrefix | BarSeries, ...] = field(init=False, repr=False)
    _ranges: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        series = tuple(self.series)
        object.__setattr__(self, "series", series)
        if self.timeline.n_series != len(series):
            raise DataError(
                f"market: the timeline splits {self.timeline.n_series} series but "
                f"{len(series)} were given; build it with Market.build"
            )
        named = tuple(self._group(i) for i in range(len(series)))
        prefixes = tuple(
            _prefix(bars, segments) for bars, segments in zip(series, named, strict=True)
        )
        ranges = tuple(
            _ranges(len(prefix), segments) for prefix, segments in zip(prefixes, named, strict=True)
        )
        object.__setattr__(self, "_named", named)
        object.__setattr__(self, "_prefixes", prefixes)
        object.__setattr__(self, "_ranges", ranges)

    def __reduce__(self) -> tuple[Any, ...]:
        # the derived views are rebuilt on unpickling: the object store holds each array once
        return (Market, (self.series, self.timeline))

    @classmethod
    def build(cls, series: Sequence[BarSeries], folds: FoldConfig) -> Market:
        """Return the market of ``series`` split by ``folds``.

        Parameters
        ----------
        series : sequence of BarSeries
            One series per symbol, all at the same timeframe, each symbol once.
        folds : FoldConfig
            How the common span is cut into discovery folds, validation and holdout.

        Raises
        ------
        DataError
            If no series is given, timeframes differ, a symbol repeats, or the data are too
            short for the fold config (the message names the datasets).
        """
        items = tuple(series)
        if not items:
            raise DataError("market: no bar series given (expected at least one symbol)")
        for position, item in enumerate(items):
            if not isinstance(item, BarSeries):
                raise DataError(
                    f"market: series {position} is a {type(item).__name__}, expected a "
                    "fitness.BarSeries (load it with fitness.load_bars)"
                )
        names = ", ".join(_label(item) for item in items)
        timeframes = sorted({item.timeframe for item in items})
        if len(timeframes) > 1:
            raise DataError(
                f"market: mixed timeframes {timeframes} in {names}; expected one timeframe "
                "for every symbol (resample or pick datasets of the same timeframe)"
            )
        symbols = [item.symbol for item in items]
        repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
        if repeated:
            raise DataError(
                f"market: symbol(s) {repeated} given more than once in {names}; expected each "
                "symbol once"
            )
        try:
            timeline = split_timeline(
                [item.timestamp for item in items], items[0].timeframe_ms, folds
            )
        except DataError as e:
            raise DataError(f"market of {names}: {e}") from e
        return cls(items, timeline)

    def _group(self, index: int) -> tuple[NamedSegment, ...]:
        calendar: dict[str, CalendarSegment] = {c.name: c for c in self.timeline.calendar}
        pieces: dict[str, list[Segment]] = {}
        for segment in self.timeline.segments(index):
            pieces.setdefault(segment.name, []).append(segment)
        return tuple(
            NamedSegment(
                name=c.name,
                kind=c.kind,
                pieces=tuple(pieces[c.name]),
                start_ms=calendar[c.name].start_ms,
                stop_ms=calendar[c.name].stop_ms,
            )
            for c in self.timeline.calendar
        )

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols in series order."""
        return tuple(item.symbol for item in self.series)

    @property
    def timeframe(self) -> str:
        """Return the common timeframe, e.g. ``"1h"``."""
        return self.series[0].timeframe

    @property
    def timeframe_ms(self) -> int:
        """Return the bar length in milliseconds."""
        return self.series[0].timeframe_ms

    @property
    def bars_per_day(self) -> int:
        """Return the bars in one day (at least 1): the bucket of the daily return records."""
        return max(1, DAY_MS // self.timeframe_ms)

    @property
    def content_hashes(self) -> tuple[str, ...]:
        """Return each series' content hash, in series order."""
        return tuple(item.content_hash for item in self.series)

    @property
    def n_bars_total(self) -> int:
        """Return the number of bars over all symbols."""
        return sum(len(item) for item in self.series)

    @property
    def n_discovery_folds(self) -> int:
        """Return the number of discovery folds."""
        return sum(1 for c in self.timeline.calendar if c.kind == "discovery")

    def segments(self, index: int, kind: str | None = None) -> tuple[Segment, ...]:
        """Return the segment pieces (bar-index ranges) of series ``index``, optionally one kind.

        Raises
        ------
        ValueError
            If ``kind`` is not one of ``"discovery"``, ``"validation"``, ``"holdout"``.
        """
        if kind is not None and kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind {kind!r} is unknown; expected one of {SEGMENT_KINDS}")
        return self.timeline.segments(index, kind)

    def named_segments(self, index: int) -> tuple[NamedSegment, ...]:
        """Return the named segments of series ``index`` (pieces grouped by name), oldest first."""
        return self._named[index]

    def evolution_bars(self, index: int) -> SeriesPrefix | BarSeries:
        """Return the bars of series ``index`` evolution may see: up to the end of validation.

        Strategies are causal, so their targets on this prefix equal those on the full series
        bar for bar; the embargo and holdout after it are never read.
        """
        return self._prefixes[index]

    def evolution_ranges(self, index: int) -> tuple[tuple[int, int], ...]:
        """Return ``[start, stop)`` ranges partitioning :meth:`evolution_bars` at segment edges.

        Every non-holdout segment piece is one range; the bars between them (warm-up before
        the first fold, embargoes, gaps) form the others. Hashing each range once covers the
        evolution prefix exactly once.
        """
        return self._ranges[index]

    def day_index(self, index: int, segment: NamedSegment, bar: int) -> int:
        """Return the day bucket (from the segment's calendar start) holding bar ``bar``."""
        elapsed = int(self.series[index].timestamp[bar]) - segment.start_ms
        return int(elapsed // (self.bars_per_day * self.timeframe_ms))

    def n_days(self, segment: NamedSegment) -> int:
        """Return the number of day buckets of a named segment's calendar period."""
        bucket_ms = self.bars_per_day * self.timeframe_ms
        return int(-(-(segment.stop_ms - segment.start_ms) // bucket_ms))

    def describe(self) -> str:
        """Return a one-line summary: symbols, timeframe, bars and segment sizes."""
        sizes = ", ".join(
            f"{s.name} {s.n_bars}" for s in self.named_segments(0) if s.kind != "discovery"
        )
        folds = self.n_discovery_folds
        return (
            f"{'+'.join(self.symbols)} {self.timeframe}: {self.n_bars_total:,} bars, "
            f"{folds} discovery folds, {sizes} (first series)"
        )


def _prefix(series: BarSeries, segments: tuple[NamedSegment, ...]) -> SeriesPrefix | BarSeries:
    stop = max((s.pieces[-1].stop for s in segments if s.kind != "holdout"), default=len(series))
    return series if stop == len(series) else SeriesPrefix.of(series, stop)


def _ranges(n_bars: int, segments: tuple[NamedSegment, ...]) -> tuple[tuple[int, int], ...]:
    edges = {0, n_bars}
    for segment in segments:
        if segment.kind != "holdout":
            edges.update(edge for piece in segment.pieces for edge in (piece.start, piece.stop))
    return tuple(itertools.pairwise(sorted(edges)))


def _label(series: BarSeries) -> str:
    return series.name or f"{series.symbol} {series.timeframe}"
