"""Numba kernels of position roots: stateless combiners and the stateful latch and stops.

!!! note
    Signals are 1-D bool arrays, positions and market columns float64, all of one length
    ``(n_bars,)`` and never written to. Outputs are new float64 arrays of targets in [-1, 1]
    (DESIGN §2: the target of bar ``t`` uses data up to the close of ``t``); NaN only where an
    input is NaN (warm-up). State machines are evaluated once per bar on closes, in bar order,
    so they are causal. O(n_bars).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def pos_from_nb(long, short):
    """+1 where ``long`` and not ``short``, -1 where ``short`` and not ``long``, else 0."""
    m = long.shape[0]
    out = np.empty(m)
    for i in range(m):
        if long[i] and not short[i]:
            out[i] = 1.0
        elif short[i] and not long[i]:
            out[i] = -1.0
        else:
            out[i] = 0.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def long_only_nb(signal):
    """+1 where ``signal``, else 0."""
    m = signal.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = 1.0 if signal[i] else 0.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def short_only_nb(signal):
    """-1 where ``signal``, else 0."""
    m = signal.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = -1.0 if signal[i] else 0.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def latch_nb(enter_long, exit_long, enter_short, exit_short):
    """Stateful position that holds through noise until its exit fires.

    State starts flat (0). On each bar, exits apply first: a long is closed by ``exit_long``,
    a short by ``exit_short``. Entries apply next: ``enter_long`` alone goes (or stays, or
    flips to) long, ``enter_short`` alone goes short; both at once are ignored as conflicting.
    """
    m = enter_long.shape[0]
    out = np.empty(m)
    state = 0
    for i in range(m):
        # integer arithmetic, no data-dependent branches (noisy signals defeat prediction);
        # only the last line depends on the previous state
        go_long = int(enter_long[i]) * (1 - int(enter_short[i]))
        go_short = int(enter_short[i]) * (1 - int(enter_long[i]))
        keep_long = 1 - int(exit_long[i])
        keep_short = 1 - int(exit_short[i])
        entry = go_long - go_short
        no_entry = 1 - go_long - go_short
        held = int(state > 0) * keep_long - int(state < 0) * keep_short
        state = entry + no_entry * held
        out[i] = state
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def atr_stop_nb(close, atr, position, k):
    """ATR trailing stop around an inner target position.

    An entry is a bar where the inner position's side (its sign) differs from the tracked side;
    the entry close starts ``best`` (highest close since entry for longs, lowest for shorts).
    From the first bar whose close is adversely at least ``k * atr[t]`` from ``best`` (and
    strictly below/above it) the output is flat, until the inner position goes flat or changes
    side and so re-enters. Otherwise the inner position passes through unchanged. NaN inner
    position or ATR gives NaN and resets the state.
    """
    m = close.shape[0]
    out = np.empty(m)
    side = 0.0
    best = 0.0
    stopped = False
    for i in range(m):
        p = position[i]
        a = atr[i]
        if math.isnan(p) or math.isnan(a):
            out[i] = np.nan
            side = 0.0
            stopped = False
            continue
        now = 1.0 if p > 0.0 else (-1.0 if p < 0.0 else 0.0)
        if now == 0.0:
            side = 0.0
            stopped = False
            out[i] = 0.0
            continue
        c = close[i]
        if now != side:
            side = now
            best = c
            stopped = False
        elif side > 0.0:
            best = max(best, c)
        else:
            best = min(best, c)
        adverse = (best - c) * side  # positive when price moved against the position
        if not stopped and adverse > 0.0 and adverse >= k * a:
            stopped = True
        out[i] = 0.0 if stopped else p
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def vol_target_nb(vol, position, target):
    """Scale the inner position by ``target / vol``, clipped to [-1, 1].

    ``vol`` is the realised volatility per bar (``realised_vol(close, n)``); when it is 0 the
    output is the sign of the position (the scale is unbounded, then clipped).
    """
    m = vol.shape[0]
    out = np.empty(m)
    for i in range(m):
        p = position[i]
        v = vol[i]
        if math.isnan(p) or math.isnan(v):
            out[i] = np.nan
        elif p == 0.0:
            out[i] = 0.0
        elif v == 0.0:
            out[i] = 1.0 if p > 0.0 else -1.0
        else:
            out[i] = min(max(p * target / v, -1.0), 1.0)
    return out
