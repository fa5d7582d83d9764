"""Statistics for watching a strategy after the lab: CUSUM on returns, Sharpe consistency, drawdown.

A running strategy is compared with the distribution its backtest (holdout) promised:

- :func:`lower_cusum` is Page's one-sided CUSUM for a *downward* shift of the mean of
  standardised returns ``z = (r - mean) / std``: ``S_t = max(0, S_{t-1} - z_t - k)``, alarm at
  the first ``S_t > h``. ``k`` is half the shift (in deviations) it is tuned to detect fastest;
  ``h`` sets the false-alarm rate (average run length under no change).
- :func:`sharpe_consistency` is the probability, under the backtest's Sharpe and return shape,
  of a realised Sharpe at or below the one observed (the left tail of the PSR statistic,
  STATISTICS.md §1.1, with the *backtest's* moments in the standard error).
- :func:`running_drawdown` is the current drawdown of an equity path from its peak.

Sharpe ratios are per period (daily here), kurtosis non-excess, as everywhere in ``fitness.stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from fitness.errors import DataError

__all__ = ["CusumResult", "lower_cusum", "running_drawdown", "sharpe_consistency"]

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class CusumResult:
    """The lower CUSUM path of a return series and its first alarm.

    Attributes
    ----------
    statistic : float
        ``S`` after the last observation (after the alarm, the path continues unreset).
    alarm_index : int or None
        Index of the first observation with ``S > h`` (None: no alarm).
    peak : float
        Largest ``S`` reached.
    """

    statistic: float
    alarm_index: int | None
    peak: float


def lower_cusum(
    returns: npt.ArrayLike, mean: float, std: float, *, k: float, h: float
) -> CusumResult:
    """Run Page's one-sided (lower) CUSUM on ``(returns - mean) / std``.

    Parameters
    ----------
    returns : array_like of float, shape (n_obs,)
        Per-period returns (fractions), finite; may be empty.
    mean, std : float
        The backtest's per-period mean and sample deviation (``std > 0``).
    k : float
        Reference value in deviations (>= 0): half the downward shift to detect.
    h : float
        Decision threshold (> 0).

    Raises
    ------
    DataError
        When ``std`` is not positive and finite, ``k < 0``, ``h <= 0`` or a return is not finite.
    """
    if not (math.isfinite(std) and std > 0.0 and math.isfinite(mean)):
        raise DataError(
            f"cusum: expected a finite mean and a deviation > 0 of the backtest's returns, "
            f"found mean {mean}, std {std}"
        )
    if not (k >= 0.0 and h > 0.0):
        raise DataError(f"cusum: expected k >= 0 and h > 0, found k {k}, h {h}")
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise DataError("cusum: expected a 1-D array of finite returns")
    statistic = peak = 0.0
    alarm: int | None = None
    for i, value in enumerate(values.tolist()):
        statistic = max(0.0, statistic - (value - mean) / std - k)
        peak = max(peak, statistic)
        if alarm is None and statistic > h:
            alarm = i
    return CusumResult(statistic, alarm, peak)


def sharpe_consistency(
    sr_observed: float, n_obs: int, sr_expected: float, skew: float, kurtosis: float
) -> float:
    """Return P[SR̂ <= sr_observed] when the true Sharpe is the backtest's ``sr_expected``.

    ``Φ((SR_obs - SR_bt)·sqrt(n_obs - 1) / sqrt(1 - γ3·SR_bt + (γ4 - 1)/4·SR_bt²))`` with the
    backtest's skewness ``γ3`` and non-excess kurtosis ``γ4``. Small values say the realised
    record is unlikely under the backtest (decay, or an overfit backtest); 0.5 when they match.

    Parameters
    ----------
    sr_observed, sr_expected : float
        Realised and backtest Sharpe ratios, per period (same period).
    n_obs : int
        Realised observations (>= 2).
    skew, kurtosis : float
        The backtest returns' skewness and non-excess kurtosis (>= 1).
    """
    if n_obs < 2:
        raise DataError(f"n_obs: expected at least 2 observations, found {n_obs}")
    if kurtosis < 1.0:
        raise DataError(f"kurtosis: expected non-excess kurtosis >= 1, found {kurtosis}")
    difference = sr_observed - sr_expected
    if difference == 0.0:
        return 0.5
    variance_term = 1.0 - skew * sr_expected + (kurtosis - 1.0) / 4.0 * sr_expected**2
    if variance_term <= 0.0:
        return 1.0 if difference > 0.0 else 0.0
    z = difference * math.sqrt(n_obs - 1) / math.sqrt(variance_term)
    return _STANDARD_NORMAL.cdf(z)


def running_drawdown(equity: npt.ArrayLike, start_equity: float | None = None) -> float:
    """Return the current drawdown ``1 - equity[-1] / max(peak)`` (a fraction in [0, 1]).

    ``start_equity`` (when given) counts as the first peak. An empty path has drawdown 0.
    """
    values = np.asarray(equity, dtype=np.float64)
    peak = -math.inf if start_equity is None else float(start_equity)
    if values.size == 0:
        return 0.0
    peak = max(peak, float(np.max(values)))
    if not peak > 0.0:
        return 1.0
    return max(0.0, 1.0 - float(values[-1]) / peak)
