"""Array aliases, the market protocol primitives evaluate over, and dtype validators."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from primitives.errors import MarketInputError

Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]


@runtime_checkable
class MarketLike(Protocol):
    """Column arrays of one symbol at one timeframe (``fitness.BarSeries`` satisfies it).

    ``timestamp`` is the bar open time in ms UTC (int64); prices, volume and
    ``funding_rate`` are float64 arrays of the same length (DESIGN §1).
    """

    @property
    def timestamp(self) -> Int64Array: ...
    @property
    def open(self) -> Float64Array: ...
    @property
    def high(self) -> Float64Array: ...
    @property
    def low(self) -> Float64Array: ...
    @property
    def close(self) -> Float64Array: ...
    @property
    def volume(self) -> Float64Array: ...
    @property
    def funding_rate(self) -> Float64Array: ...


def as_float64(values: npt.ArrayLike, name: str = "array") -> Float64Array:
    """Return ``values`` as a 1-D C-contiguous float64 array (no copy when already one).

    Raises
    ------
    ValueError
        If ``values`` is not one-dimensional.
    """
    out = np.ascontiguousarray(values, dtype=np.float64)
    if out.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, found shape {out.shape}")
    return out


MARKET_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "funding_rate",
)


def readonly(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (the array itself when already read-only).

    Every array handed to a kernel is read-only, so numba compiles one specialisation per
    kernel and nothing downstream can modify a memoised result.
    """
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def market_column(market: MarketLike, name: str) -> np.ndarray:
    """Return column ``name`` of ``market`` as a read-only 1-D C-contiguous array.

    ``timestamp`` is int64 (ms UTC), every other column float64. No copy is made when the
    column already has that layout.

    Raises
    ------
    MarketInputError
        If the market has no such column or it is not one-dimensional.
    """
    try:
        values = getattr(market, name)
    except AttributeError:
        raise MarketInputError(
            f"market object {type(market).__name__} has no column {name!r} "
            f"(expected the columns {', '.join(MARKET_COLUMNS)})"
        ) from None
    dtype = np.int64 if name == "timestamp" else np.float64
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.ndim != 1:
        raise MarketInputError(
            f"market column {name!r}: expected a 1-D array, found shape {array.shape}; pass "
            "one column per bar"
        )
    return readonly(array)
