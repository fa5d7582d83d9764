"""Array aliases, the market protocol primitives evaluate over, and dtype validators."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

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
