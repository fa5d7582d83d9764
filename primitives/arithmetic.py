"""Numba kernels of dimension-aware arithmetic between series (price − price → price delta …).

!!! note
    Inputs are 1-D float64 arrays of one length ``(n_bars,)`` and float scalars, never written
    to; outputs are new float64 arrays. NaN propagates (IEEE). A division by zero gives NaN.
    Element-wise, hence causal; O(n_bars).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def copy_nb(a):
    """A copy of ``a`` (market columns used as terminals)."""
    return a.copy()


@njit(cache=True, nogil=True, error_model="numpy")
def add_nb(a, b):
    """``a + b``."""
    m = a.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = a[i] + b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def subtract_nb(a, b):
    """``a - b``."""
    m = a.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = a[i] - b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def midpoint_of_nb(a, b):
    """``(a + b) / 2``."""
    m = a.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = 0.5 * (a[i] + b[i])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def relative_nb(a, b):
    """``a / b - 1``; NaN where ``b`` is 0."""
    m = a.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = a[i] / b[i] - 1.0 if b[i] != 0.0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def scale_nb(a, k):
    """``k * a``."""
    m = a.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = k * a[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def fraction_of_nb(whole, part):
    """``part / whole`` (NaN where ``whole`` is 0)."""
    m = whole.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = part[i] / whole[i] if whole[i] != 0.0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def band_nb(middle, width, k, side):
    """``middle + side * k * width`` (channels: Keltner = EMA ± k·ATR)."""
    m = middle.shape[0]
    out = np.empty(m)
    distance = side * k
    for i in range(m):
        out[i] = middle[i] + distance * width[i]
    return out
