"""Numba kernels comparing series with series or constant levels, giving boolean signals.

!!! note
    Inputs are 1-D float64 arrays of one length ``(n_bars,)`` and float scalars, never written
    to. Outputs are new bool arrays. **A comparison involving NaN is False** (IEEE semantics,
    relied on deliberately): warm-up never fires a signal. Crosses compare bar ``t`` with bar
    ``t - 1`` and are False on the first bar. Causal, O(n_bars).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def greater_nb(a, b):
    """``a[t] > b[t]``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] > b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def less_nb(a, b):
    """``a[t] < b[t]``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] < b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def above_level_nb(a, level):
    """``a[t] > level``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] > level
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def below_level_nb(a, level):
    """``a[t] < level``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] < level
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def is_positive_nb(a):
    """``a[t] > 0``."""
    return above_level_nb(a, 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def crosses_above_nb(a, b):
    """``a`` crosses above ``b``: ``a[t] > b[t]`` and ``a[t-1] <= b[t-1]``."""
    m = a.shape[0]
    out = np.zeros(m, np.bool_)
    for i in range(1, m):
        out[i] = a[i] > b[i] and a[i - 1] <= b[i - 1]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def crosses_below_nb(a, b):
    """``a`` crosses below ``b``: ``a[t] < b[t]`` and ``a[t-1] >= b[t-1]``."""
    m = a.shape[0]
    out = np.zeros(m, np.bool_)
    for i in range(1, m):
        out[i] = a[i] < b[i] and a[i - 1] >= b[i - 1]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def crosses_above_level_nb(a, level):
    """``a`` crosses above ``level``: ``a[t] > level`` and ``a[t-1] <= level``."""
    m = a.shape[0]
    out = np.zeros(m, np.bool_)
    for i in range(1, m):
        out[i] = a[i] > level and a[i - 1] <= level
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def crosses_below_level_nb(a, level):
    """``a`` crosses below ``level``: ``a[t] < level`` and ``a[t-1] >= level``."""
    m = a.shape[0]
    out = np.zeros(m, np.bool_)
    for i in range(1, m):
        out[i] = a[i] < level and a[i - 1] >= level
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def streak_nb(a, n, sign):
    """True when ``sign * a`` rose strictly on each of the last ``n`` bars (sign +1 or -1)."""
    m = a.shape[0]
    out = np.zeros(m, np.bool_)
    run = 0
    for i in range(1, m):
        run = run + 1 if sign * a[i] > sign * a[i - 1] else 0
        out[i] = run >= n
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rising_nb(a, n):
    """``a[t] > a[t-1] > ... > a[t-n]`` (rose on each of the last ``n`` bars)."""
    return streak_nb(a, n, 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def falling_nb(a, n):
    """``a[t] < a[t-1] < ... < a[t-n]`` (fell on each of the last ``n`` bars)."""
    return streak_nb(a, n, -1.0)
