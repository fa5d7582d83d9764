"""Finite-or-None: the one conversion of a computed or parsed value into a JSON-ready number.

Shared by promotion (gate values, evidence) and the reports (reading ``promotion.json``), so it
sits at the root of ``evolve``, below every sub-package.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["finite_or_none"]


def finite_or_none(value: object) -> float | None:
    """Return ``value`` as a finite float, or None when it is not a finite real number.

    Real numbers (``int``, ``float``, numpy integers and floats) convert; None, NaN, ±inf,
    booleans, strings and containers give None — a JSON ``true`` or ``"0.5"`` is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
