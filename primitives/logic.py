"""Numba kernels of boolean logic and UTC session filters.

!!! note
    Inputs are 1-D bool arrays of one length ``(n_bars,)`` or the int64 ``timestamp`` column
    (bar open, ms UTC, DESIGN §1), never written to. Outputs are new bool arrays. Session
    filters use the bar's open time, known before the bar trades. Causal, O(n_bars).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; 0 = Monday


@njit(cache=True, nogil=True, error_model="numpy")
def and_nb(a, b):
    """``a and b``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] and b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def or_nb(a, b):
    """``a or b``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = a[i] or b[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def not_nb(a):
    """``not a``."""
    m = a.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = not a[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def if_then_else_nb(condition, then, otherwise):
    """``then[t]`` where ``condition[t]``, else ``otherwise[t]``."""
    m = condition.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = then[i] if condition[i] else otherwise[i]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def hours_of_day_nb(timestamp):
    """UTC hour of day (0–23) of each bar open; one division per hour boundary, not per bar."""
    m = timestamp.shape[0]
    out = np.empty(m, np.int64)
    hour_start = 0
    hour = -1
    for i in range(m):
        t = timestamp[i]
        if hour >= 0 and hour_start <= t < hour_start + MS_PER_HOUR:
            pass
        elif hour >= 0 and hour_start + MS_PER_HOUR <= t < hour_start + 2 * MS_PER_HOUR:
            hour_start += MS_PER_HOUR
            hour = hour + 1 if hour < 23 else 0
        else:
            hour_start = (t // MS_PER_HOUR) * MS_PER_HOUR
            hour = (t // MS_PER_HOUR) % 24
        out[i] = hour
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def weekdays_nb(timestamp):
    """UTC weekday (0 = Monday … 6 = Sunday) of each bar open; one division per day boundary."""
    m = timestamp.shape[0]
    out = np.empty(m, np.int64)
    day_start = 0
    day = -1
    for i in range(m):
        t = timestamp[i]
        if day < 0 or not day_start <= t < day_start + MS_PER_DAY:
            day_start = (t // MS_PER_DAY) * MS_PER_DAY
            day = (t // MS_PER_DAY + EPOCH_WEEKDAY) % 7
        out[i] = day
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def hour_between_nb(timestamp, start, stop):
    """UTC hour of the bar open in ``[start, stop)``, wrapping midnight when ``start > stop``.

    ``start == stop`` is the empty interval (never True).
    """
    hours = hours_of_day_nb(timestamp)
    m = timestamp.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        hour = hours[i]
        if start <= stop:
            out[i] = start <= hour < stop
        else:
            out[i] = hour >= start or hour < stop
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def weekday_is_nb(timestamp, day):
    """UTC weekday of the bar open equals ``day`` (0 = Monday … 6 = Sunday)."""
    days = weekdays_nb(timestamp)
    m = timestamp.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = days[i] == day
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def weekend_nb(timestamp):
    """The bar opens on a Saturday or Sunday (UTC)."""
    days = weekdays_nb(timestamp)
    m = timestamp.shape[0]
    out = np.empty(m, np.bool_)
    for i in range(m):
        out[i] = days[i] >= 5
    return out
