"""Numba kernels over finite trailing windows: means, moments, extrema, lags, rates of change.

!!! note
    Inputs are 1-D float64 arrays, shape ``(n_bars,)``, never written to; ``n`` is the window
    in bars (>= 1, validated by the caller in ``registry.py``). Outputs are new arrays of the
    same length. Warm-up and windows containing a NaN give NaN (``pandas.rolling`` with
    ``min_periods = n``). Causal: output ``t`` reads inputs at bars ``<= t`` only. O(n_bars)
    whatever the window: running sums are recomputed exactly every ``max(n, 512)`` bars
    (bounded drift at O(1) amortised cost); extrema use the van Herk/Gil-Werman block
    prefix/suffix maxima (three branch-free passes). Standard deviations are population
    (ddof = 0), as in Bollinger bands; a window whose values are all equal has standard
    deviation exactly 0.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RECOMPUTE_BARS = 512  # exact re-summation period (at least the window) bounding the drift


@njit(cache=True, nogil=True, error_model="numpy")
def window_sums_nb(x, start, stop, shift):
    """Return (sum, sum of squares) of ``x[start:stop] - shift`` over finite values."""
    s1 = 0.0
    s2 = 0.0
    for j in range(start, stop):
        v = x[j]
        if v == v:
            d = v - shift
            s1 += d
            s2 += d * d
    return s1, s2


@njit(cache=True, nogil=True, error_model="numpy")
def sma_nb(x, n):
    """Simple moving average over the last ``n`` bars (pandas ``rolling(n).mean()``)."""
    m = x.shape[0]
    out = np.empty(m)
    period = max(n, RECOMPUTE_BARS)
    countdown = period
    total = 0.0
    n_nan = 0
    for i in range(m):
        v = x[i]
        if v != v:
            n_nan += 1
            v = 0.0
        u = 0.0
        if i >= n:
            u = x[i - n]
            if u != u:
                n_nan -= 1
                u = 0.0
        total += v - u  # one dependent add per bar: the loop is latency-bound on it
        countdown -= 1
        if countdown == 0:
            countdown = period
            if i >= n - 1:
                total = window_sums_nb(x, i - n + 1, i + 1, 0.0)[0]
        out[i] = total / n if i >= n - 1 and n_nan == 0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_mean_var_nb(x, n):
    """Return rolling (mean, population variance) over the last ``n`` bars.

    Sums are taken of ``x - shift`` where the shift is reset to a recent value at each exact
    recomputation, which avoids the cancellation of ``E[x^2] - E[x]^2`` on prices; all-equal
    windows have variance exactly 0. Callers transform the two arrays in a separate,
    branch-free (SIMD-vectorised) loop: sqrt and division inside this loop would be scalar.
    """
    m = x.shape[0]
    mean = np.empty(m)
    var = np.empty(m)
    period = max(n, RECOMPUTE_BARS)
    countdown = period
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    n_nan = 0
    n_equal = 0  # consecutive bars equal to their predecessor, ending at i
    previous = np.nan
    unshifted = True  # no shift taken inside the current NaN-free stretch yet
    for i in range(m):
        v = x[i]
        d = 0.0
        if v == v:
            d = v - shift
            n_equal = n_equal + 1 if v == previous else 0
        else:
            n_nan += 1
            n_equal = 0
            unshifted = True
        previous = v
        e = 0.0
        if i >= n:
            u = x[i - n]
            if u == u:
                e = u - shift
            else:
                n_nan -= 1
        s1 += d - e
        s2 += d * d - e * e
        countdown -= 1
        if countdown == 0 or (unshifted and n_nan == 0 and i >= n - 1):
            # first full window of a stretch, then periodically: shift to a value in the window
            countdown = period
            unshifted = False
            if v == v:
                shift = v
            s1, s2 = window_sums_nb(x, max(i - n + 1, 0), i + 1, shift)
        if i < n - 1 or n_nan > 0:
            mean[i] = np.nan
            var[i] = np.nan
        else:
            mu = s1 / n
            mean[i] = shift + mu
            var[i] = 0.0 if n_equal >= n - 1 else max(s2 / n - mu * mu, 0.0)
    return mean, var


@njit(cache=True, nogil=True, error_model="numpy")
def stdev_nb(x, n):
    """Rolling population standard deviation over the last ``n`` bars (same unit as ``x``)."""
    var = rolling_mean_var_nb(x, n)[1]
    for i in range(var.shape[0]):
        var[i] = math.sqrt(var[i])
    return var


@njit(cache=True, nogil=True, error_model="numpy")
def zscore_nb(x, n):
    """Rolling z-score ``(x - mean) / std`` over the last ``n`` bars; 0 when std is 0."""
    mean, var = rolling_mean_var_nb(x, n)
    for i in range(x.shape[0]):
        std = math.sqrt(var[i])
        z = (x[i] - mean[i]) / std if std > 0.0 else 0.0
        mean[i] = z if std == std else np.nan
    return mean


@njit(cache=True, nogil=True, error_model="numpy")
def bollinger_nb(x, n, k, side):
    """Bollinger band ``mean + side * k * std`` (side +1 upper, -1 lower) over ``n`` bars."""
    mean, var = rolling_mean_var_nb(x, n)
    width = side * k
    for i in range(x.shape[0]):
        mean[i] += width * math.sqrt(var[i])
    return mean


@njit(cache=True, nogil=True, error_model="numpy")
def percent_b_nb(x, n, k):
    """Bollinger %B × 100: 0 at the lower band, 100 at the upper band; 50 when std is 0."""
    mean, var = rolling_mean_var_nb(x, n)
    scale = 100.0 / (2.0 * k)
    for i in range(x.shape[0]):
        std = math.sqrt(var[i])
        b = scale * (x[i] - mean[i]) / std + 50.0 if std > 0.0 else 50.0
        mean[i] = b if std == std else np.nan
    return mean


@njit(cache=True, nogil=True, error_model="numpy")
def wma_nb(x, n):
    """Linearly weighted moving average, weights ``n`` (newest) down to 1 (oldest)."""
    m = x.shape[0]
    out = np.empty(m)
    denominator = n * (n + 1) / 2.0
    period = max(n, RECOMPUTE_BARS)
    countdown = period
    plain = 0.0  # sum of the window
    weighted = 0.0  # sum of weight * value
    n_nan = 0
    for i in range(m):
        v = x[i]
        if v != v:
            n_nan += 1
            v = 0.0
        # every older value loses one unit of weight when the window moves on
        weighted += n * v - plain
        plain += v
        if i >= n:
            u = x[i - n]
            if u == u:
                plain -= u
            else:
                n_nan -= 1
        countdown -= 1
        if countdown == 0 or i == n - 1:
            countdown = period
            plain = 0.0
            weighted = 0.0
            for j in range(max(i - n + 1, 0), i + 1):
                w = x[j]
                if w == w:
                    plain += w
                    weighted += (j - i + n) * w
        out[i] = weighted / denominator if i >= n - 1 and n_nan == 0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_extreme_nb(x, n, sign):
    """Rolling max (sign +1) or min (sign -1) over the last ``n`` bars (van Herk/Gil-Werman).

    Bars are cut into blocks of ``n``. The window ``[t-n+1, t]`` spans the end of the
    previous block and the start of the current one, so its extreme is the larger of the
    previous block's suffix extreme at ``t-n+1`` and the current block's running (prefix)
    extreme at ``t``. Suffixes of a block are computed when the next block starts, from bars
    already seen: the output stays causal. Two cache-friendly reads per bar, no branches on
    the data.
    """
    m = x.shape[0]
    out = np.empty(m)
    suffix = np.empty(n)
    lowest = -np.inf
    last_nan = -n - 1
    for block_start in range(0, m, n):
        previous_start = block_start - n
        if previous_start >= 0:
            acc = lowest
            for j in range(block_start - 1, previous_start - 1, -1):
                v = sign * x[j]
                acc = v if v > acc else acc
                suffix[j - previous_start] = acc
        acc = lowest
        for i in range(block_start, min(block_start + n, m)):
            v = sign * x[i]
            if v != v:
                last_nan = i
            acc = v if v > acc else acc
            if i < n - 1 or i - last_nan < n:
                out[i] = np.nan
            elif i == block_start + n - 1:  # the window is exactly this block
                out[i] = sign * acc
            else:
                a = suffix[i - n + 1 - previous_start]
                out[i] = sign * (a if a > acc else acc)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_max_nb(x, n):
    """Rolling maximum over the last ``n`` bars, the current bar included."""
    return rolling_extreme_nb(x, n, 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def rolling_min_nb(x, n):
    """Rolling minimum over the last ``n`` bars, the current bar included."""
    return rolling_extreme_nb(x, n, -1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def lag_nb(x, n):
    """Value ``n`` bars ago: ``out[t] = x[t - n]``; NaN for the first ``n`` bars."""
    m = x.shape[0]
    out = np.empty(m)
    for i in range(min(n, m)):
        out[i] = np.nan
    for i in range(n, m):
        out[i] = x[i - n]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def previous_nb(x):
    """Value on the previous bar: ``out[t] = x[t - 1]`` (Donchian channels of *previous* bars)."""
    return lag_nb(x, 1)


@njit(cache=True, nogil=True, error_model="numpy")
def roc_nb(x, n):
    """Rate of change over ``n`` bars: ``x[t] / x[t - n] - 1`` (NaN when the base is 0)."""
    m = x.shape[0]
    out = np.empty(m)
    for i in range(min(n, m)):
        out[i] = np.nan
    for i in range(n, m):
        base = x[i - n]
        out[i] = x[i] / base - 1.0 if base != 0.0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def realised_vol_nb(x, n):
    """Root mean square of the last ``n`` one-bar simple returns of ``x`` (per bar).

    A return is NaN when either price is NaN or not positive; windows holding one are NaN.
    """
    m = x.shape[0]
    squares = np.empty(m)
    if m > 0:
        squares[0] = np.nan
    for i in range(1, m):
        a = x[i - 1]
        b = x[i]
        r = b / a - 1.0
        squares[i] = r * r if a > 0.0 and b > 0.0 else np.nan
    out = sma_nb(squares, n)
    for i in range(m):
        out[i] = math.sqrt(out[i])
    return out
