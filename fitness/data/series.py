"""Bar series (DESIGN §1): the immutable, validated ``BarSeries``, funding tables and alignment.

Every way bars come in (arrays, CSV/Parquet files, the store, the exchange fetcher) ends in
:func:`series_from_columns`, so they are validated exactly alike. The content hash is sha256 over,
for each column in the order timestamp, open, high, low, close, volume, funding_rate: the column
name (UTF-8), a NUL byte, then the column's little-endian bytes (int64 / float64).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from fitness.data.gaps import GAP_POLICIES, Gap, GapReport, apply_gap_policy, check_gap_policy
from fitness.data.timeframes import TIMEFRAMES, iso_from_ms, timeframe_to_ms
from fitness.data.validation import (
    BAR_COLUMNS,
    RowLocator,
    check_funding,
    check_grid,
    check_increasing,
    check_values,
    coerce_floats,
    coerce_timestamps,
    first_true,
)
from fitness.errors import DataError
from primitives.arrays import Float64Array, Int64Array

__all__ = [
    "BAR_COLUMNS",
    "GAP_POLICIES",
    "TIMEFRAMES",
    "BarSeries",
    "FundingTable",
    "Gap",
    "GapReport",
    "align_funding",
    "content_hash",
    "series_from_columns",
    "timeframe_to_ms",
]

_SECONDS_PER_YEAR = 365 * 86_400  # DESIGN §2: crypto trades 365 × 24 h


def content_hash(columns: Mapping[str, np.ndarray], names: Sequence[str] = BAR_COLUMNS) -> str:
    """Return ``"sha256:<hex>"`` over ``names`` in order: name, NUL, little-endian bytes."""
    digest = hashlib.sha256()
    for name in names:
        dtype = "<i8" if name == "timestamp" else "<f8"
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(np.ascontiguousarray(columns[name], dtype=dtype).data)
    return f"sha256:{digest.hexdigest()}"


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.ascontiguousarray(array, dtype=dtype)
    if out.flags.writeable:
        if out is array or out.base is not None:  # caller-owned memory: copy, nobody can mutate it
            out = out.copy()
        out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class FundingTable:
    """Raw funding settlements: ``timestamp`` (int64 ms UTC) and ``funding_rate`` (float64).

    Validated on construction (equal lengths, numbers, finite rates, strictly increasing
    settlement times); arrays are read-only. Positive rates: longs pay shorts.
    """

    timestamp: Int64Array
    funding_rate: Float64Array
    source: str = field(default="<funding>", repr=False)

    def __post_init__(self) -> None:
        times, rates = check_funding(self.timestamp, self.funding_rate, RowLocator(self.source))
        object.__setattr__(self, "timestamp", _frozen(times, np.int64))
        object.__setattr__(self, "funding_rate", _frozen(rates, np.float64))

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @property
    def content_hash(self) -> str:
        """Return the sha256 of the table (same scheme as the bar hash, two columns)."""
        columns = {"timestamp": self.timestamp, "funding_rate": self.funding_rate}
        return content_hash(columns, ("timestamp", "funding_rate"))

    def within(self, start_ms: int, end_ms: int) -> FundingTable:
        """Return the settlements with ``start_ms <= timestamp < end_ms``."""
        keep = (self.timestamp >= start_ms) & (self.timestamp < end_ms)
        return FundingTable(self.timestamp[keep], self.funding_rate[keep], self.source)


def align_funding(
    bar_timestamp: Int64Array,
    timeframe_ms: int,
    funding_timestamp: Int64Array,
    funding_rate: Float64Array,
    *,
    source: str = "<funding>",
) -> Float64Array:
    """Return the funding rate of each bar: the settlements inside ``[open, open + tf)``, summed.

    DESIGN §1: a settlement at ``s`` belongs to the bar whose ``[open, open + timeframe_ms)``
    contains ``s`` (exchange jitter such as 08:00:00.008 stays in the 08:00 bar); several
    settlements in one bar (timeframes above 8h) are summed. A settlement inside a gap of a
    ``"split"`` series has no bar to settle on and is left out (no return is computed across a
    gap); the raw table keeps it.

    Parameters
    ----------
    bar_timestamp : ndarray of int64, shape (n_bars,)
        Bar open times, ms UTC, strictly increasing.
    timeframe_ms : int
        Bar length in ms.
    funding_timestamp : ndarray of int64, shape (n_settlements,)
        Settlement times, ms UTC, strictly increasing.
    funding_rate : ndarray of float64, shape (n_settlements,)
        Rate per settlement (fraction; positive: longs pay).
    source : str
        Names the funding data in error messages.

    Returns
    -------
    ndarray of float64, shape (n_bars,)
        Zero where no settlement falls in the bar.

    Raises
    ------
    DataError
        Naming the first settlement outside ``[first open, last open + timeframe_ms)``, or a
        malformed funding table.
    """
    return align_with_locator(
        bar_timestamp, timeframe_ms, funding_timestamp, funding_rate, RowLocator(source)
    )


def align_with_locator(
    bar_timestamp: Int64Array,
    timeframe_ms: int,
    funding_timestamp: Int64Array,
    funding_rate: Float64Array,
    locator: RowLocator,
) -> Float64Array:
    """Do :func:`align_funding`, naming funding rows through ``locator`` (file lines)."""
    source = locator.source
    bars = np.ascontiguousarray(bar_timestamp, dtype=np.int64)
    times, rates = check_funding(funding_timestamp, funding_rate, locator)
    out = np.zeros(bars.shape[0], dtype=np.float64)
    if times.size == 0:
        return out
    if bars.size == 0:
        raise DataError(f"{source}: funding given for an empty bar series")
    start, end = int(bars[0]), int(bars[-1]) + int(timeframe_ms)
    bad = first_true((times < start) | (times >= end))
    if bad >= 0:
        value = int(times[bad])
        raise DataError(
            f"{locator.row(bad)}, column timestamp: settlement {value} ({iso_from_ms(value)}) "
            f"is outside the bar range [{iso_from_ms(start)}, {iso_from_ms(end)}) (expected "
            "every settlement inside a bar); trim the funding data to the bars' span"
        )
    owner = np.searchsorted(bars, times, side="right") - 1
    inside = times < bars[owner] + timeframe_ms
    np.add.at(out, owner[inside], rates[inside])
    return out + 0.0


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """One symbol at one timeframe: validated, immutable column arrays (DESIGN §1).

    Build it with :meth:`from_arrays` (validates) or :func:`fitness.load_bars`; the plain
    constructor only checks shapes and dtypes. Arrays are read-only, shape ``(n_bars,)``:
    ``timestamp`` int64 bar open in ms UTC; ``open``, ``high``, ``low``, ``close`` float64
    prices; ``volume`` float64 base-asset volume; ``funding_rate`` float64, the settled rate
    inside each bar (zeros when ``has_funding`` is False). ``exchange`` is ``""`` when unknown;
    ``name`` is the dataset name when loaded from the store, else ``""``. ``content_hash`` is
    ``"sha256:<64 hex>"`` over the columns only (metadata is not hashed).
    """

    timestamp: Int64Array
    open: Float64Array
    high: Float64Array
    low: Float64Array
    close: Float64Array
    volume: Float64Array
    funding_rate: Float64Array
    symbol: str
    timeframe: str
    exchange: str = ""
    name: str = ""
    has_funding: bool = False
    gaps: GapReport = field(default_factory=GapReport)
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        timeframe_to_ms(self.timeframe)
        if not isinstance(self.symbol, str) or not self.symbol:
            raise DataError(f"symbol must be a non-empty string, was {self.symbol!r}")
        n_bars = None
        for column in BAR_COLUMNS:
            array = _frozen(getattr(self, column), np.int64 if column == "timestamp" else float)
            if array.ndim != 1 or (n_bars is not None and array.shape[0] != n_bars):
                raise DataError(f"BarSeries column {column}: shape {array.shape} (expected 1-D)")
            n_bars = array.shape[0]
            object.__setattr__(self, column, array)
        if not n_bars:
            raise DataError("BarSeries: no bars (expected at least one)")
        object.__setattr__(self, "content_hash", content_hash(self.columns()))

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuild through __init__ so unpickled arrays are read-only again
        values = tuple(getattr(self, name) for name in BAR_COLUMNS)
        meta = (self.symbol, self.timeframe, self.exchange, self.name, self.has_funding)
        return (BarSeries, (*values, *meta, self.gaps))

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    def __repr__(self) -> str:
        span = f"{iso_from_ms(int(self.timestamp[0]))}..{iso_from_ms(int(self.timestamp[-1]))}"
        return (
            f"BarSeries({self.symbol} {self.timeframe}, {self.n_bars} bars {span}, "
            f"gaps={self.gaps.count}, {self.content_hash[:19]})"
        )

    @property
    def n_bars(self) -> int:
        return len(self)

    @property
    def timeframe_ms(self) -> int:
        return timeframe_to_ms(self.timeframe)

    @property
    def timeframe_seconds(self) -> int:
        return self.timeframe_ms // 1000

    @property
    def bars_per_year(self) -> float:
        """Return ``365 * 86400 / timeframe_seconds`` (DESIGN §2), e.g. 8760.0 for 1h."""
        return _SECONDS_PER_YEAR / self.timeframe_seconds

    @property
    def segments(self) -> tuple[tuple[int, int], ...]:
        """Return the contiguous index runs ``(start, stop)``; one unless gaps were split."""
        breaks = np.flatnonzero(np.diff(self.timestamp) != self.timeframe_ms) + 1
        edges = [0, *(int(edge) for edge in breaks), self.n_bars]
        return tuple(itertools.pairwise(edges))

    def columns(self) -> dict[str, np.ndarray]:
        """Return the seven column arrays in canonical order (read-only views)."""
        return {name: getattr(self, name) for name in BAR_COLUMNS}

    def slice(self, start: int, stop: int) -> BarSeries:
        """Return bars ``[start, stop)`` (Python index rules) with its own hash and gap report.

        Raises
        ------
        ValueError
            If the slice is empty.
        """
        first, last, _ = slice(start, stop).indices(self.n_bars)
        if last <= first:
            raise ValueError(
                f"slice [{start}, {stop}) of a {self.n_bars}-bar series is empty "
                "(expected start < stop)"
            )
        span = (int(self.timestamp[first]), int(self.timestamp[last - 1]) + self.timeframe_ms)
        bars = slice(first, last)
        return BarSeries(
            self.timestamp[bars],
            self.open[bars],
            self.high[bars],
            self.low[bars],
            self.close[bars],
            self.volume[bars],
            self.funding_rate[bars],
            symbol=self.symbol,
            timeframe=self.timeframe,
            exchange=self.exchange,
            name=self.name,
            has_funding=self.has_funding,
            gaps=self.gaps.within(*span),
        )

    @classmethod
    def from_arrays(
        cls,
        timestamp: object,
        open: object,
        high: object,
        low: object,
        close: object,
        volume: object,
        funding_rate: object | None = None,
        *,
        symbol: str,
        timeframe: str,
        exchange: str = "",
        gaps: str = "error",
        source: str = "<arrays>",
    ) -> BarSeries:
        """Return a validated series built from column arrays (exactly the import's checks).

        Parameters
        ----------
        timestamp : array-like of int64, shape (n_bars,)
            Bar open times in ms UTC (integral floats, datetime64 and ISO-8601 text with an
            offset are accepted too).
        open, high, low, close, volume : array-like of float64, shape (n_bars,)
            Prices (> 0, ``low <= open, close <= high``) and base-asset volume (>= 0).
        funding_rate : array-like of float64, shape (n_bars,), optional
            The settled rate inside each bar; ``None`` means no funding (zeros,
            ``has_funding=False``).
        symbol, timeframe, exchange : str
            Metadata; ``timeframe`` is a key of :data:`TIMEFRAMES`.
        gaps : {"error", "split", "fill_flat"}
            Gap policy (DESIGN §1).
        source : str
            Names the data in error messages.

        Raises
        ------
        DataError
            For the first problem found (lengths, empty, non-numeric, NaN/inf, prices <= 0,
            high < low, open/close outside [low, high], negative volume, duplicate or unsorted
            or off-grid timestamps); :class:`GapError` for gaps under ``gaps="error"``.
        """
        columns: dict[str, object] = {
            "timestamp": timestamp,
            "open": open,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
        if funding_rate is not None:
            columns["funding_rate"] = funding_rate
        return series_from_columns(
            columns,
            symbol=symbol,
            timeframe=timeframe,
            exchange=exchange,
            gaps=gaps,
            locator=RowLocator(source),
        )


def series_from_columns(
    columns: Mapping[str, object],
    *,
    symbol: str,
    timeframe: str,
    exchange: str = "",
    gaps: str = "error",
    locator: RowLocator | None = None,
    funding: FundingTable | None = None,
    funding_locator: RowLocator | None = None,
    name: str = "",
) -> BarSeries:
    """Validate raw columns (arrays or text cells) into a :class:`BarSeries`: the one validation.

    ``columns`` holds timestamp, open, high, low, close, volume and optionally funding_rate.
    ``funding`` (raw settlements) is aligned on the bars before the gap policy runs, so bars
    inserted by ``fill_flat`` carry no funding; ``funding_locator`` names its rows in errors.
    Raises :class:`DataError` as in :meth:`BarSeries.from_arrays`.
    """
    locator = locator or RowLocator()
    timeframe_ms = timeframe_to_ms(timeframe)
    check_gap_policy(gaps)
    if not isinstance(symbol, str) or not symbol.strip():
        raise DataError(f"{locator.source}: symbol is empty (expected e.g. BTCUSDT); pass --symbol")
    if funding is not None and "funding_rate" in columns:
        raise DataError(
            f"{locator.source}: funding given twice (a funding_rate column and a funding table); "
            "drop the column or the separate funding file"
        )
    missing = [name for name in BAR_COLUMNS[:-1] if name not in columns]
    if missing:
        raise DataError(f"{locator.source}: missing column(s) {', '.join(missing)}")
    names = [name for name in BAR_COLUMNS if name in columns]
    shapes = {column: np.shape(cast("npt.ArrayLike", columns[column])) for column in names}
    if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 1:
        found = ", ".join(f"{column} {shape}" for column, shape in shapes.items())
        raise DataError(
            f"{locator.source}: columns differ in length or are not 1-D ({found}); "
            "expected one value per bar in every column"
        )
    if shapes["timestamp"][0] == 0:
        raise DataError(f"{locator.source}: no bars (expected at least one row of data)")

    arrays: dict[str, np.ndarray] = {"timestamp": coerce_timestamps(columns["timestamp"], locator)}
    for column in names[1:]:
        arrays[column] = coerce_floats(columns[column], column, locator)
    check_values(arrays, locator)
    check_increasing(arrays["timestamp"], locator)
    check_grid(arrays["timestamp"], timeframe, timeframe_ms, locator)
    has_funding = "funding_rate" in arrays or funding is not None
    if funding is not None:
        arrays["funding_rate"] = align_with_locator(
            arrays["timestamp"],
            timeframe_ms,
            funding.timestamp,
            funding.funding_rate,
            funding_locator or RowLocator(funding.source),
        )
    arrays.setdefault("funding_rate", np.zeros(arrays["timestamp"].shape[0]))
    arrays, report = apply_gap_policy(
        arrays, timeframe=timeframe, timeframe_ms=timeframe_ms, policy=gaps, locator=locator
    )
    for column in ("volume", "funding_rate"):
        arrays[column] = arrays[column] + 0.0  # -0.0 -> 0.0: equal data hash equally
    return BarSeries(
        arrays["timestamp"],
        arrays["open"],
        arrays["high"],
        arrays["low"],
        arrays["close"],
        arrays["volume"],
        arrays["funding_rate"],
        symbol=symbol.strip(),
        timeframe=timeframe,
        exchange=exchange,
        name=name,
        has_funding=has_funding,
        gaps=report,
    )
