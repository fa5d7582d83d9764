"""Stationary block bootstrap, its block length, Hansen's SPA test and bootstrap drawdowns.

The stationary bootstrap is Politis & Romano (1994); the block length is Politis & White (2004)
with the Patton, Politis & White (2009) correction; SPA is Hansen (2005) with a **studentised**
statistic (STATISTICS.md §4: arch 8.0.0's ``studentize=True`` does not studentise it). All
randomness comes from the caller's ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fitness.errors import DataError
from primitives.arrays import Float64Array, Int64Array

_MAX_CHUNK_CELLS = 2_000_000  # resamples × bars per vectorised chunk (memory bound)


@dataclass(frozen=True, slots=True)
class SPAResult:
    """Hansen's SPA p-values (consistent, lower, upper = White's RC) and the test statistic.

    ``statistic`` is ``max(max_k sqrt(n)·d̄_k / ω̂_k, 0)`` (studentised) or
    ``max(max_k sqrt(n)·d̄_k, 0)`` when ``studentize=False``; ``mean_block`` is the stationary
    bootstrap's mean block length actually used.
    """

    p_consistent: float
    p_lower: float
    p_upper: float
    statistic: float
    mean_block: float


def _generator(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng: expected a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"found {type(rng).__name__}"
        )
    return rng


def stationary_bootstrap_indices(
    n: int,
    mean_block: float,
    rng: np.random.Generator,
    n_resamples: int | None = None,
) -> Int64Array:
    """Return indices of stationary-bootstrap resamples of a length-``n`` series.

    The first index is uniform; each next index starts a new block at a uniform position with
    probability ``p = 1 / mean_block``, else continues the previous index + 1 (wrapping to 0),
    so block lengths are geometric with mean ``mean_block`` (Politis & Romano 1994).

    Parameters
    ----------
    n : int
        Length of the series (>= 1).
    mean_block : float
        Mean block length in bars (>= 1; 1 is the i.i.d. bootstrap).
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller for determinism).
    n_resamples : int, optional
        Number of resamples; None returns one resample.

    Returns
    -------
    ndarray of int64, shape (n,) or (n_resamples, n)
    """
    generator = _generator(rng)
    if n < 1:
        raise ValueError(f"n: expected at least 1, found {n}")
    if not math.isfinite(mean_block) or mean_block < 1.0:
        raise ValueError(f"mean_block: expected a finite number >= 1, found {mean_block}")
    rows = 1 if n_resamples is None else int(n_resamples)
    if rows < 1:
        raise ValueError(f"n_resamples: expected at least 1, found {n_resamples}")
    starts = generator.random((rows, n)) < 1.0 / mean_block
    starts[:, 0] = True
    uniform = generator.integers(0, n, size=(rows, n))
    positions = np.arange(n)
    # position of the most recent block start at or before each t
    block_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    first_index = np.take_along_axis(uniform, block_start, axis=1)
    indices = ((first_index + (positions - block_start)) % n).astype(np.int64)
    return indices[0] if n_resamples is None else indices


def _autocovariances(centred: Float64Array, max_lag: int) -> Float64Array:
    # R(k) = Σ_t x_t x_{t+k} / n for k = 0..max_lag, columns independent; shape (max_lag+1, m)
    n = centred.shape[0]
    return np.stack(
        [np.sum(centred[k:] * centred[: n - k], axis=0) / n for k in range(max_lag + 1)]
    )


def optimal_block_length(x: npt.ArrayLike) -> float | Float64Array:
    """Return the stationary-bootstrap block length of Politis & White (2004), corrected (2009).

    Steps, per column: R(k) = autocovariance, ρ(k) its correlation; K_n = max(5, ceil(log10 n));
    m̂ = the smallest lag after which K_n consecutive |ρ| stay below ``2·sqrt(log10 n / n)``
    (or ``ceil(sqrt(n)) + K_n`` when none does); M = min(2·max(m̂, 1), ceil(sqrt(n)) + K_n);
    flat-top weights λ(s) = 1 for |s| <= 1/2, 2(1 - |s|) up to 1;
    ``G = Σ_{|k|<=M} λ(k/M)|k|R(k)``, ``g = Σ_{|k|<=M} λ(k/M)R(k)``, ``D_SB = 2g²``;
    ``b = (2G²/D_SB)^(1/3)·n^(1/3)``, clipped to [1, ceil(min(3·sqrt(n), n/3))].
    For an AR(1) with coefficient φ this tends to ``(2φ/(1 - φ²))^(2/3)·n^(1/3)``.

    Parameters
    ----------
    x : array_like of float, shape (n,) or (n, m)
        Series (columns are treated independently), n >= 9.

    Returns
    -------
    float or ndarray of float64, shape (m,)
        Mean block length in bars (not rounded).
    """
    values = np.asarray(x, dtype=np.float64)
    one_dimensional = values.ndim == 1
    matrix = values[:, None] if one_dimensional else values
    if matrix.ndim != 2 or matrix.shape[0] < 9 or not np.all(np.isfinite(matrix)):
        raise DataError(
            f"x: expected a finite 1-D or 2-D array with at least 9 rows, found shape "
            f"{values.shape}" + ("" if np.all(np.isfinite(values)) else " with NaN/inf values")
        )
    n = matrix.shape[0]
    centred = matrix - matrix.mean(axis=0)
    k_n = max(5, math.ceil(math.log10(n)))
    max_lag = min(math.ceil(math.sqrt(n)) + k_n, n - 1)
    autocovariance = _autocovariances(centred, max_lag)
    variance = autocovariance[0]
    safe = np.where(variance > 0.0, variance, 1.0)
    insignificant = np.abs(autocovariance[1:] / safe) < 2.0 * math.sqrt(math.log10(n) / n)
    result = np.ones(matrix.shape[1])
    b_max = math.ceil(min(3.0 * math.sqrt(n), n / 3.0))
    for column in range(matrix.shape[1]):
        if variance[column] <= 0.0:
            continue  # a constant series: any block length is equivalent
        m_hat = max_lag
        for lag in range(max_lag - k_n + 1):
            # lags lag+1 .. lag+K_n are all insignificant (row i holds lag i + 1)
            if insignificant[lag : lag + k_n, column].all():
                m_hat = lag
                break
        big_m = min(2 * max(m_hat, 1), max_lag)
        lags = np.arange(1, big_m + 1)
        ratio = lags / big_m
        weights = np.where(ratio <= 0.5, 1.0, 2.0 * (1.0 - ratio))
        g_big = 2.0 * np.sum(weights * lags * autocovariance[1 : big_m + 1, column])
        g_zero = variance[column] + 2.0 * np.sum(weights * autocovariance[1 : big_m + 1, column])
        if g_zero <= 0.0:
            continue
        block = (g_big**2 / g_zero**2) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
        result[column] = min(max(block, 1.0), float(b_max))
    return float(result[0]) if one_dimensional else result


def _resample_means(
    values: Float64Array, mean_block: float, n_resamples: int, rng: np.random.Generator
) -> Float64Array:
    # bootstrap means of every column, (n_resamples, m), via per-resample draw counts @ values
    n = values.shape[0]
    chunk = max(1, _MAX_CHUNK_CELLS // n)
    means = np.empty((n_resamples, values.shape[1]))
    for begin in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - begin)
        indices = stationary_bootstrap_indices(n, mean_block, rng, rows)
        flat = (np.arange(rows)[:, None] * n + indices).ravel()
        counts = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
        means[begin : begin + rows] = counts @ values / n
    return means


def spa_test(
    benchmark_returns: npt.ArrayLike,
    model_returns: npt.ArrayLike,
    n_bootstrap: int = 1000,
    mean_block: float | None = None,
    *,
    rng: np.random.Generator,
    studentize: bool = True,
) -> SPAResult:
    """Return Hansen's (2005) test of superior predictive ability against a benchmark.

    H0: no model beats the benchmark in expected per-period return. With ``d_{k,t} =
    r_{k,t} - r_{0,t}``, ``ω̂_k = sqrt(n)·std_b(d̄*_{k,b})`` (stationary-bootstrap standard error)
    and ``T = max(max_k sqrt(n)·d̄_k/ω̂_k, 0)``, each resample gives
    ``T*_b = max(max_k sqrt(n)·(d̄*_{k,b} - μ̂_k)/ω̂_k, 0)`` with μ̂ recentred three ways:
    lower ``max(d̄_k, 0)``, consistent ``d̄_k·1{d̄_k >= -sqrt(ω̂_k²/n·2 ln ln n)}``, upper
    ``d̄_k`` (White's Reality Check); ``p = mean_b(T*_b > T)``. ``studentize=False`` drops the
    ``ω̂_k`` scaling (the raw statistic; for comparison only). A column whose differential has
    zero bootstrap variance (e.g. a model equal to the benchmark) contributes 0.

    Parameters
    ----------
    benchmark_returns : array_like of float, shape (n_bars,)
        Per-period returns of the benchmark (zeros for flat, the market for buy-and-hold).
    model_returns : array_like of float, shape (n_bars,) or (n_bars, n_models)
        Per-period returns of the candidate models on the same bars.
    n_bootstrap : int
        Number of stationary-bootstrap resamples.
    mean_block : float, optional
        Mean block length in bars; None uses the median :func:`optimal_block_length` of the
        differential columns.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).
    """
    generator = _generator(rng)
    benchmark = np.asarray(benchmark_returns, dtype=np.float64)
    models = np.asarray(model_returns, dtype=np.float64)
    models = models[:, None] if models.ndim == 1 else models
    if benchmark.ndim != 1 or models.ndim != 2 or models.shape[0] != benchmark.shape[0]:
        raise DataError(
            f"spa_test: expected benchmark (n_bars,) and models (n_bars, n_models) with equal "
            f"n_bars, found {benchmark.shape} and {models.shape}"
        )
    n = benchmark.shape[0]
    if n < 10:
        raise DataError(f"spa_test: need at least 10 bars, found {n}")
    if not (np.all(np.isfinite(benchmark)) and np.all(np.isfinite(models))):
        raise DataError("spa_test: returns contain NaN/inf; drop or fill them first")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap: expected at least 1, found {n_bootstrap}")
    differential = models - benchmark[:, None]
    if mean_block is None:
        mean_block = float(np.median(optimal_block_length(differential)))
    mean_difference = differential.mean(axis=0)
    bootstrap_means = _resample_means(differential, mean_block, n_bootstrap, generator)
    omega = math.sqrt(n) * np.sqrt(np.mean((bootstrap_means - mean_difference) ** 2, axis=0))
    valid = omega > 1e-12 * (np.abs(differential).max(axis=0) + 1e-300)
    scale = np.where(valid, omega if studentize else 1.0, np.inf)
    statistic = max(float(np.max(math.sqrt(n) * mean_difference / scale)), 0.0)
    threshold = -np.sqrt(omega**2 / n * 2.0 * math.log(math.log(n)))
    recentring = {
        "lower": np.maximum(mean_difference, 0.0),
        "consistent": np.where(mean_difference >= threshold, mean_difference, 0.0),
        "upper": mean_difference,
    }
    p_values = {}
    for name, mu in recentring.items():
        resampled = math.sqrt(n) * (bootstrap_means - mu) / scale
        maxima = np.maximum(resampled.max(axis=1), 0.0)
        p_values[name] = float(np.mean(maxima > statistic))
    return SPAResult(
        p_consistent=p_values["consistent"],
        p_lower=p_values["lower"],
        p_upper=p_values["upper"],
        statistic=statistic,
        mean_block=mean_block,
    )


def _max_drawdowns(resampled_returns: Float64Array) -> Float64Array:
    # max drawdown of each row's equity curve starting at 1 (a positive fraction)
    equity = np.cumprod(1.0 + resampled_returns, axis=1)
    peaks = np.maximum(np.maximum.accumulate(equity, axis=1), 1.0)
    drawdowns: Float64Array = np.max(1.0 - equity / peaks, axis=1)
    return drawdowns


def bootstrap_drawdown_quantile(
    returns: npt.ArrayLike,
    quantile: float = 0.95,
    n_bootstrap: int = 1000,
    mean_block: float | None = None,
    *,
    rng: np.random.Generator,
) -> float:
    """Return a quantile of the maximum drawdown over stationary-bootstrap resamples.

    Bar returns are resampled in blocks (keeping their autocorrelation); each resample is
    compounded from equity 1 and its maximum drawdown ``max_t(1 - equity_t / peak_t)`` taken
    (peak includes the starting equity). STATISTICS.md §7: gate on the 95th percentile.

    Parameters
    ----------
    returns : array_like of float, shape (n_bars,)
        Per-bar simple returns (>= -1, finite), at least 9.
    quantile : float
        Quantile in [0, 1] (``numpy.quantile`` linear interpolation).
    n_bootstrap : int
        Number of resamples.
    mean_block : float, optional
        Mean block length in bars; None uses :func:`optimal_block_length`.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).

    Returns
    -------
    float
        Drawdown as a positive fraction of the peak equity, in [0, 1].
    """
    generator = _generator(rng)
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or values.size < 9:
        raise DataError(f"returns: expected a 1-D array of at least 9 bars, found {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values) | (values < -1.0))
    if bad.size:
        raise DataError(
            f"returns: value {values[bad[0]]} at index {bad[0]} is not a finite return >= -1"
        )
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile: expected a value in [0, 1], found {quantile}")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap: expected at least 1, found {n_bootstrap}")
    if mean_block is None:
        mean_block = float(optimal_block_length(values))
    n = values.size
    chunk = max(1, _MAX_CHUNK_CELLS // n)
    drawdowns = np.empty(n_bootstrap)
    for begin in range(0, n_bootstrap, chunk):
        rows = min(chunk, n_bootstrap - begin)
        indices = stationary_bootstrap_indices(n, mean_block, generator, rows)
        drawdowns[begin : begin + rows] = _max_drawdowns(values[indices])
    return float(np.quantile(drawdowns, quantile))
