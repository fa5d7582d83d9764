"""Strongly typed, numba-compiled building blocks of strategy expressions (layer 0).

Public API is listed in ``__all__``; anything else is private.
"""

from __future__ import annotations

from primitives.arrays import BoolArray, Float64Array, Int64Array, MarketLike, as_float64

__all__ = [
    "BoolArray",
    "Float64Array",
    "Int64Array",
    "MarketLike",
    "as_float64",
]
