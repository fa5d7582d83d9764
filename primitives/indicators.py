"""Numba kernels of trader indicators: EMA family, Wilder RSI/ATR, VWAP, stochastics, funding.

!!! note
    Inputs are 1-D float64 arrays of one length ``(n_bars,)`` (market columns: prices > 0,
    volume >= 0, DESIGN §1), never written to; windows ``n`` are >= 1 (validated by the caller
    in ``registry.py``). Outputs are new float64 arrays. Warm-up gives NaN. Recursive
    (infinite-memory) kernels — EMA, Wilder smoothing — are seeded with the simple mean of their
    first ``n`` valid inputs and **restart** after a NaN input (a fresh seed on the next ``n``
    valid values). Causal: output ``t`` reads inputs at bars ``<= t`` only. O(n_bars).
    Composite indicators (Keltner, stochastics, Donchian…) are assembled from these and the
    ``rolling.py`` kernels by the registry's hidden sub-expressions; kernel modules do not call
    each other, so numba's per-file cache can never serve a stale inlined callee.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FUNDING_INTERVAL_MS = 8 * 3_600_000  # Binance-style settlements at 00:00, 08:00, 16:00 UTC


@njit(cache=True, nogil=True, error_model="numpy")
def smooth_step_nb(v, n, alpha, run, seed, e):
    """One bar of seeded exponential smoothing; return (output, run, seed, state).

    The first ``n`` valid values are summed into the seed (output NaN until the n-th, which
    outputs their mean); then ``e = alpha * v + (1 - alpha) * e``. A NaN input restarts.
    """
    if v != v:
        return np.nan, 0, 0.0, e
    run += 1
    if run > n:
        e = (1.0 - alpha) * e + alpha * v
        return e, run, seed, e
    if run == n:
        e = (seed + v) / n
        return e, run, seed, e
    return np.nan, run, seed + v, e


@njit(cache=True, nogil=True, error_model="numpy")
def smoothed_nb(x, n, alpha):
    """Exponential smoothing ``e = alpha * x + (1 - alpha) * e``, seeded with a mean of n values."""
    m = x.shape[0]
    out = np.empty(m)
    run = 0
    seed = 0.0
    e = 0.0
    for i in range(m):
        out[i], run, seed, e = smooth_step_nb(x[i], n, alpha, run, seed, e)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def ema_nb(x, n):
    """Exponential moving average, ``alpha = 2 / (n + 1)``, seeded with the SMA of n values."""
    return smoothed_nb(x, n, 2.0 / (n + 1.0))


@njit(cache=True, nogil=True, error_model="numpy")
def rsi_nb(x, n):
    """Wilder RSI over ``n`` changes: ``100 * avg_gain / (avg_gain + avg_loss)``; 50 if flat.

    The first value is at the bar holding the ``n``-th change (warm-up ``n`` bars).
    """
    m = x.shape[0]
    out = np.empty(m)
    alpha = 1.0 / n
    beta = 1.0 - alpha
    n_changes = 0
    gain = 0.0
    loss = 0.0
    previous = np.nan
    for i in range(m):
        v = x[i]
        change = v - previous
        previous = v
        if change != change:  # a NaN now or on the previous bar restarts the averages
            n_changes = 0
            gain = 0.0
            loss = 0.0
            out[i] = np.nan
            continue
        up = max(change, 0.0)
        down = max(-change, 0.0)
        n_changes += 1
        if n_changes > n:
            gain = beta * gain + alpha * up
            loss = beta * loss + alpha * down
        else:
            gain += up
            loss += down
            if n_changes < n:
                out[i] = np.nan
                continue
            gain /= n
            loss /= n
        total = gain + loss
        out[i] = 50.0 if total == 0.0 else 100.0 * gain / total
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def true_range_nb(high, low, previous_close):
    """True range of one bar; without a previous close (NaN) it is ``high - low``."""
    span = high - low
    if previous_close == previous_close:
        span = max(span, abs(high - previous_close), abs(low - previous_close))
    return span


@njit(cache=True, nogil=True, error_model="numpy")
def atr_nb(high, low, close, n):
    """Wilder average true range over ``n`` bars (warm-up ``n - 1`` bars)."""
    m = close.shape[0]
    out = np.empty(m)
    alpha = 1.0 / n
    run = 0
    seed = 0.0
    e = 0.0
    for i in range(m):
        tr = true_range_nb(high[i], low[i], close[i - 1] if i > 0 else np.nan)
        out[i], run, seed, e = smooth_step_nb(tr, n, alpha, run, seed, e)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def macd_nb(x, fast, slow):
    """MACD line ``EMA(x, fast) - EMA(x, slow)`` (both averages in one pass)."""
    m = x.shape[0]
    out = np.empty(m)
    alpha_fast = 2.0 / (fast + 1.0)
    alpha_slow = 2.0 / (slow + 1.0)
    run_fast = run_slow = 0
    seed_fast = seed_slow = e_fast = e_slow = 0.0
    for i in range(m):
        v = x[i]
        a, run_fast, seed_fast, e_fast = smooth_step_nb(
            v, fast, alpha_fast, run_fast, seed_fast, e_fast
        )
        b, run_slow, seed_slow, e_slow = smooth_step_nb(
            v, slow, alpha_slow, run_slow, seed_slow, e_slow
        )
        out[i] = a - b
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def typical_price_nb(high, low, close):
    """Typical price ``(high + low + close) / 3``."""
    m = close.shape[0]
    out = np.empty(m)
    for i in range(m):
        out[i] = (high[i] + low[i] + close[i]) / 3.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def vwap_nb(high, low, close, volume, n):
    """Rolling VWAP of the typical price over ``n`` bars; the plain mean when volume is 0.

    Market columns are finite (DESIGN §1). Running sums are re-summed every ``max(n, 512)``
    bars to bound their drift.
    """
    m = close.shape[0]
    out = np.empty(m)
    period = max(n, 512)
    countdown = period
    traded = 0.0
    volume_sum = 0.0
    price_sum = 0.0
    for i in range(m):
        price = (high[i] + low[i] + close[i]) / 3.0
        price_in = price
        traded_in = price * volume[i]
        volume_in = volume[i]
        if i >= n:
            j = i - n
            old = (high[j] + low[j] + close[j]) / 3.0
            price_in -= old
            traded_in -= old * volume[j]
            volume_in -= volume[j]
        # one dependent add per running sum and bar (the loop is latency-bound on them)
        traded += traded_in
        volume_sum += volume_in
        price_sum += price_in
        countdown -= 1
        if countdown == 0 and i >= n - 1:
            countdown = period
            traded = 0.0
            volume_sum = 0.0
            price_sum = 0.0
            for j in range(i - n + 1, i + 1):
                old = (high[j] + low[j] + close[j]) / 3.0
                traded += old * volume[j]
                volume_sum += volume[j]
                price_sum += old
        if i < n - 1:
            out[i] = np.nan
        elif volume_sum > 0.0:
            out[i] = traded / volume_sum
        else:
            out[i] = price_sum / n
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def stochastic_nb(close, highest, lowest):
    """Stochastic %K from rolling extremes: ``100 * (close - lowest) / (highest - lowest)``.

    50 when the range is flat (highest == lowest).
    """
    m = close.shape[0]
    out = np.empty(m)
    for i in range(m):
        span = highest[i] - lowest[i]
        ratio = 100.0 * (close[i] - lowest[i]) / span  # inf/NaN when flat: replaced below
        out[i] = 50.0 if span == 0.0 else ratio
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def funding_last_nb(timestamp, funding_rate):
    """Last settled funding rate, carried forward; NaN before the first settlement.

    A bar holds a settlement when its rate is non-zero or its interval
    ``[open, open + timeframe)`` contains a multiple of 8 h UTC (so a settled rate of exactly
    0 is recognised too). The timeframe is the smallest bar spacing seen so far (causal).
    """
    m = timestamp.shape[0]
    out = np.empty(m)
    spacing = 0
    last = np.nan
    mark = 0  # the first multiple of 8 h at or after the bar open (recomputed when stale)
    for i in range(m):
        start = timestamp[i]
        if i > 0:
            step = start - timestamp[i - 1]
            if step > 0 and (spacing == 0 or step < spacing):
                spacing = step
        rate = funding_rate[i]
        if rate == rate:
            settles = rate != 0.0
            if not settles and spacing > 0:
                if not start <= mark < start + FUNDING_INTERVAL_MS:
                    mark = -((-start) // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
                settles = mark < start + spacing
            if settles:
                last = rate
        out[i] = last
    return out
