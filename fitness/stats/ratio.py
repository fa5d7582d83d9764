"""The one Sharpe ratio (DESIGN §2): per period, annualised, and from precomputed moments.

Every Sharpe in the project comes from here: the backtest metrics (annualised per bar), the
evaluator's daily record, the promotion replays (annualised daily), PSR/DSR moments, PBO and
the effective-trials clustering (vectorised). One rule for the undefined case:

- the ratio is ``mean / std`` with the sample deviation ``std(ddof=1)``;
- it is **0.0 when the deviation is 0** — and a deviation at or below
  ``ZERO_DEVIATION_RELATIVE · |mean|`` counts as 0: only rounding of a constant series gives a
  per-period Sharpe above 10⁷ (streaming sums cancel to about 1e-8 relative deviation);
- it is **0.0 with fewer than 2 observations** (no deviation can be measured, so no
  risk-adjusted reward is claimed), and 0.0 when the deviation is NaN or infinite.

So a Sharpe is always a finite float. Functions that need at least 2 observations for a
statistic of their own (PSR, MinTRL) check that themselves.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fitness.errors import DataError

__all__ = [
    "DAYS_PER_YEAR",
    "ZERO_DEVIATION_RELATIVE",
    "sharpe_annual",
    "sharpe_from_moments",
    "sharpe_from_moments_array",
    "sharpe_per_period",
]

DAYS_PER_YEAR = 365.0
"""Crypto trades every day: annualising daily returns uses sqrt(365)."""
ZERO_DEVIATION_RELATIVE = 1e-7
"""A deviation ``<= ZERO_DEVIATION_RELATIVE * |mean|`` is rounding noise: the Sharpe is 0."""


def _has_deviation(mean: npt.ArrayLike, std: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    # NaN/inf deviations (fewer than 2 values, overflow) fail both tests: no measured risk
    std_array = np.asarray(std, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(std_array) & (
            std_array > ZERO_DEVIATION_RELATIVE * np.abs(np.asarray(mean, dtype=np.float64))
        )


def sharpe_from_moments(mean: float, std: float) -> float:
    """Return ``mean / std`` of one series, 0.0 when the deviation is 0 (see the module rule).

    Parameters
    ----------
    mean, std : float
        Mean and sample standard deviation (ddof=1) of per-period returns; ``std`` may be NaN
        (fewer than 2 observations), which gives 0.0.
    """
    # the rule of _has_deviation on Python floats: no np.errstate context per call (it cost
    # ~40 % of segment_metrics, six calls per evaluated strategy); same comparisons, same bits
    deviation, centre = float(std), float(mean)
    measured = math.isfinite(deviation) and deviation > ZERO_DEVIATION_RELATIVE * abs(centre)
    return mean / std if measured else 0.0


def sharpe_from_moments_array(
    mean: npt.NDArray[np.float64], std: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Return :func:`sharpe_from_moments` element by element (same rule, vectorised).

    Parameters
    ----------
    mean, std : ndarray of float64, same shape
        Per-series means and sample standard deviations.
    """
    mean_array = np.asarray(mean, dtype=np.float64)
    std_array = np.asarray(std, dtype=np.float64)
    out = np.zeros(np.broadcast(mean_array, std_array).shape)
    np.divide(mean_array, std_array, out=out, where=_has_deviation(mean_array, std_array))
    return out


def checked_returns(returns: npt.ArrayLike, name: str, min_obs: int) -> npt.NDArray[np.float64]:
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array of per-period returns, found {values.shape}")
    if values.size < min_obs:
        raise DataError(f"{name}: need at least {min_obs} observations, found {values.size}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            f"{name}: value {values[bad[0]]} at index {bad[0]} is not finite "
            f"({bad.size} such values); drop or fill them before computing statistics"
        )
    return values


def sharpe_per_period(returns: npt.ArrayLike) -> float:
    """Return the per-period Sharpe ratio ``mean / std(ddof=1)`` of ``returns``.

    0.0 when the deviation is 0 or there are fewer than 2 returns (module rule). The unit is
    that of the sampling: daily returns give a per-day Sharpe.

    Parameters
    ----------
    returns : array_like of float, shape (n_obs,)
        Per-period simple returns (fractions), all finite.

    Raises
    ------
    DataError
        If the array is not 1-D or contains NaN/inf.
    """
    values = checked_returns(returns, "returns", 0)
    if values.size < 2:
        return 0.0
    return sharpe_from_moments(float(values.mean()), float(values.std(ddof=1)))


def sharpe_annual(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """Return the annualised Sharpe ratio ``sharpe_per_period(returns) * sqrt(periods_per_year)``.

    Parameters
    ----------
    returns : array_like of float, shape (n_obs,)
        Per-period simple returns (fractions), all finite.
    periods_per_year : float
        Periods of ``returns`` in a year: ``DAYS_PER_YEAR`` (365) for daily returns,
        ``fitness.bars_per_year(timeframe)`` for bar returns.

    Raises
    ------
    DataError
        As :func:`sharpe_per_period`.
    ValueError
        If ``periods_per_year`` is not a finite number > 0.
    """
    if not (math.isfinite(periods_per_year) and periods_per_year > 0.0):
        raise ValueError(
            f"periods_per_year: expected a finite number > 0, found {periods_per_year}"
        )
    return sharpe_per_period(returns) * math.sqrt(periods_per_year)
