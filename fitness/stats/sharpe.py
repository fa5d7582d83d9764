"""Promotion statistics: PSR, DSR, expected maximum Sharpe, MinTRL, MinBTL and Sharpe haircuts.

Conventions (STATISTICS.md §0): every Sharpe ratio is **per period** (same sampling frequency as
the returns and ``n_obs``) unless a name says ``annual``; kurtosis is **non-excess** (Pearson, 3
for a Gaussian); ``V[SR]`` is the per-period variance of the trials' Sharpe ratios. This module
also re-exports the one Sharpe ratio (:mod:`fitness.stats.ratio`), the CSCV/CPCV
(:mod:`fitness.stats.pbo`), bootstrap/SPA (:mod:`fitness.stats.bootstrap`) and effective-trials
(:mod:`fitness.stats.trials`) functions, so ``fitness.stats.sharpe`` is the one import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from fitness.stats.bootstrap import (
    SPAResult,
    bootstrap_drawdown_quantile,
    optimal_block_length,
    spa_test,
    stationary_bootstrap_indices,
)
from fitness.stats.pbo import CPCVSplits, PBOResult, cpcv_paths, pbo_cscv, stitch_cpcv_paths
from fitness.stats.ratio import (
    DAYS_PER_YEAR,
    checked_returns,
    sharpe_annual,
    sharpe_from_moments,
    sharpe_per_period,
)
from fitness.stats.trials import EffectiveTrials, effective_trials

__all__ = [
    "DAYS_PER_YEAR",
    "CPCVSplits",
    "EffectiveTrials",
    "HaircutResult",
    "PBOResult",
    "SPAResult",
    "SampleMoments",
    "bootstrap_drawdown_quantile",
    "cpcv_paths",
    "deflated_sharpe_ratio",
    "effective_trials",
    "expected_max_sharpe",
    "haircut_sharpe",
    "min_backtest_length_years",
    "min_track_record_length",
    "optimal_block_length",
    "pbo_cscv",
    "probabilistic_sharpe_ratio",
    "sample_moments",
    "sharpe_annual",
    "sharpe_from_moments",
    "sharpe_per_period",
    "spa_test",
    "stationary_bootstrap_indices",
    "stitch_cpcv_paths",
]

EULER_GAMMA = 0.5772156649015329
_STANDARD_NORMAL = NormalDist()
HaircutMethod = Literal["bhy", "holm", "bonferroni"]


class SampleMoments(NamedTuple):
    """Moments of one return series: per-period Sharpe, skewness, non-excess kurtosis, count."""

    sharpe: float
    skew: float
    kurtosis: float
    n_obs: int


@dataclass(frozen=True, slots=True)
class HaircutResult:
    """Harvey–Liu haircut of one annualised Sharpe ratio (see :func:`haircut_sharpe`)."""

    method: str
    t_statistic: float
    p_value: float
    adjusted_p_value: float
    adjusted_annual_sharpe: float
    haircut: float
    """Fraction of the Sharpe ratio removed: ``1 - adjusted / original`` (0 when it is 0)."""


def sample_moments(returns: npt.ArrayLike) -> SampleMoments:
    """Return the per-period Sharpe, skewness and non-excess kurtosis of ``returns``.

    Skewness ``m3 / m2**1.5`` and kurtosis ``m4 / m2**2`` use the population (biased) central
    moments ``m_k = mean((r - mean)**k)``, as ``scipy.stats.skew/kurtosis(fisher=False)`` do by
    default. A constant series gives Sharpe 0, skewness 0 and kurtosis 3 (the Gaussian values,
    so PSR/DSR stay defined).

    Parameters
    ----------
    returns : array_like of float, shape (n_obs,)
        Per-period simple returns (fractions), at least 2, all finite.
    """
    values = checked_returns(returns, "returns", 2)
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    if m2 <= 0.0:
        return SampleMoments(0.0, 0.0, 3.0, int(values.size))
    skew = float(np.mean(centred**3)) / m2**1.5
    kurtosis = float(np.mean(centred**4)) / m2**2
    # Pearson's inequality kurtosis >= 1 + skew² holds for every sample; a two-valued sample
    # sits on the bound and rounding can put it a few ulps below (0.9999999999999999 for a
    # symmetric pair), which the PSR/MinTRL variance term would reject as excess kurtosis
    kurtosis = max(kurtosis, 1.0 + skew * skew)
    return SampleMoments(sharpe_per_period(values), skew, kurtosis, int(values.size))


def _sharpe_variance_term(sr: float, skew: float, kurtosis: float) -> float:
    # STATISTICS.md §1.1: (1 - γ3·SR + (γ4 - 1)/4 · SR²); >= 0 whenever γ4 >= 1 + γ3²
    if kurtosis < 1.0:
        raise ValueError(
            f"kurtosis: expected non-excess (Pearson) kurtosis >= 1 (3 for a Gaussian), "
            f"found {kurtosis}; add 3 if you passed excess kurtosis"
        )
    return 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr


def probabilistic_sharpe_ratio(
    sr: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    sr_benchmark: float = 0.0,
) -> float:
    """Return the probability that the true Sharpe ratio exceeds ``sr_benchmark`` (PSR).

    ``PSR = Φ((SR - SR*)·sqrt(n_obs - 1) / sqrt(1 - γ3·SR + (γ4 - 1)/4·SR²))``
    (Bailey & López de Prado 2012; STATISTICS.md §1.1).

    Parameters
    ----------
    sr, sr_benchmark : float
        Observed and benchmark Sharpe ratios, **per period** (never annualised: an annual SR
        drives PSR to about 1).
    n_obs : int
        Number of return observations behind ``sr`` (>= 2).
    skew : float
        Sample skewness of the returns.
    kurtosis : float
        Sample **non-excess** kurtosis (3 for Gaussian returns).

    Returns
    -------
    float
        Probability in [0, 1]; exactly 0.5 when ``sr == sr_benchmark``.
    """
    if n_obs < 2:
        raise ValueError(f"n_obs: expected at least 2 observations, found {n_obs}")
    variance_term = _sharpe_variance_term(sr, skew, kurtosis)
    difference = sr - sr_benchmark
    if difference == 0.0:
        return 0.5
    if variance_term <= 0.0:
        # a degenerate (two-point) return distribution: the estimate has no spread
        return 1.0 if difference > 0.0 else 0.0
    z = difference * math.sqrt(n_obs - 1) / math.sqrt(variance_term)
    return _STANDARD_NORMAL.cdf(z)


def _expected_max_standard(n_trials: float) -> float:
    # E[max of N i.i.d. N(0, 1)] ≈ (1 - γ)·Z⁻¹[1 - 1/N] + γ·Z⁻¹[1 - 1/(N·e)] (AMS 2014)
    if not math.isfinite(n_trials) or n_trials < 1.0:
        raise ValueError(f"n_trials: expected a finite number >= 1, found {n_trials}")
    if n_trials == 1.0:
        return 0.0
    quantile_a = _STANDARD_NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    quantile_b = _STANDARD_NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return max(0.0, (1.0 - EULER_GAMMA) * quantile_a + EULER_GAMMA * quantile_b)


def expected_max_sharpe(n_trials: float, variance: float) -> float:
    """Return the expected maximum Sharpe ratio of ``n_trials`` zero-skill trials (SR0).

    ``E[max] ≈ sqrt(V)·((1 - γ)·Z⁻¹[1 - 1/N] + γ·Z⁻¹[1 - 1/(N·e)])`` with γ the
    Euler–Mascheroni constant (Bailey et al. 2014; STATISTICS.md §1.2). The approximation is for
    N ≫ 1; it is exactly 0 for N = 1 and clipped at 0 below N ≈ 2.

    Parameters
    ----------
    n_trials : float
        (Effective) number of independent trials, >= 1; may be fractional.
    variance : float
        Variance of the trials' Sharpe ratios, >= 0. The result has the same unit as
        ``sqrt(variance)``: per-period variance gives a per-period SR0.
    """
    if not math.isfinite(variance) or variance < 0.0:
        raise ValueError(f"variance: expected a finite number >= 0, found {variance}")
    return math.sqrt(variance) * _expected_max_standard(n_trials)


def deflated_sharpe_ratio(
    sr: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    n_trials: float,
    variance: float,
) -> float:
    """Return the deflated Sharpe ratio ``PSR(SR0)`` with SR0 = :func:`expected_max_sharpe`.

    ``sr``, ``n_obs``, ``skew`` and ``kurtosis`` (non-excess) describe the *selected* strategy;
    ``n_trials`` and ``variance`` (per-period V[SR_n]) the whole search (STATISTICS.md §1.3).
    Promote only when the result exceeds 0.95.
    """
    sr_zero = expected_max_sharpe(n_trials, variance)
    return probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, sr_benchmark=sr_zero)


def min_track_record_length(
    sr: float,
    skew: float,
    kurtosis: float,
    sr_benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Return the minimum track record length, in periods, for PSR(sr_benchmark) = confidence.

    ``MinTRL = 1 + (1 - γ3·SR + (γ4 - 1)/4·SR²)·(Z_confidence / (SR - SR*))²``
    (STATISTICS.md §1.1). Per-period SRs give periods; per-trade SRs give a trade count. The
    value is not rounded (round up for a count: SR 0.1 Gaussian needs ``ceil(272.9) = 273``).
    Returns ``inf`` when ``sr <= sr_benchmark`` (no track record is long enough).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a probability in (0, 1), found {confidence}")
    if sr <= sr_benchmark:
        return math.inf
    variance_term = _sharpe_variance_term(sr, skew, kurtosis)
    z = _STANDARD_NORMAL.inv_cdf(confidence)
    return 1.0 + max(variance_term, 0.0) * (z / (sr - sr_benchmark)) ** 2


def min_backtest_length_years(n_trials: float, target_annual_sharpe: float) -> float:
    """Return the minimum backtest length (years) so N trials do not reach an annual SR by luck.

    ``MinBTL = (E[max of N standard normals] / SR_a)²`` with unit annual SR variance (Bailey et
    al. 2014; STATISTICS.md §1.2): 45 trials and a target of 1.0 need 5.0 years.
    """
    if not math.isfinite(target_annual_sharpe) or target_annual_sharpe <= 0.0:
        raise ValueError(
            f"target_annual_sharpe: expected a finite number > 0, found {target_annual_sharpe}"
        )
    return (_expected_max_standard(n_trials) / target_annual_sharpe) ** 2


def _adjusted_p_value(
    p_value: float, n_tests: int, method: str, other_p_values: npt.NDArray[np.float64] | None
) -> float:
    if method == "bonferroni":
        return min(1.0, n_tests * p_value)
    # the family: our p first (index 0), then the others (all insignificant when unknown)
    family = np.ones(n_tests)
    family[0] = p_value
    if other_p_values is not None:
        family[1:] = other_p_values
    order = np.argsort(family, kind="stable")
    ranked = family[order]
    position = int(np.flatnonzero(order == 0)[0])  # ties: ours ranks first among equals
    ranks = np.arange(1, n_tests + 1, dtype=np.float64)
    if method == "holm":
        # step-down: adjusted p_(i) = max_{j <= i} min(1, (M - j + 1)·p_(j))
        steps = np.minimum(1.0, (n_tests - ranks + 1.0) * ranked)
        return float(np.max(steps[: position + 1]))
    # BHY step-up (arbitrary dependence): adjusted p_(i) = min_{j >= i} min(1, M·c(M)/j · p_(j))
    harmonic = float(np.sum(1.0 / ranks))
    steps = np.minimum(1.0, n_tests * harmonic / ranks * ranked)
    return float(np.min(steps[position:]))


def haircut_sharpe(
    annual_sharpe: float,
    n_years: float,
    n_tests: int,
    method: HaircutMethod = "bhy",
    *,
    other_p_values: npt.ArrayLike | None = None,
) -> HaircutResult:
    """Return the Harvey–Liu (2015) multiple-testing haircut of an annualised Sharpe ratio.

    Steps (STATISTICS.md §5): ``t = SR_a·sqrt(n_years)``; two-sided normal p-value
    ``p = 2·(1 - Φ(|t|))``; adjust p for ``n_tests`` tests; ``t_adj = Z⁻¹(1 - p_adj/2)``;
    ``SR_adj = sign(SR_a)·t_adj / sqrt(n_years)``. Example: SR_a = 1, 10 years, 100 tests,
    Bonferroni → SR_adj ≈ 0.448.

    Holm and BHY need the p-values of the other tests. When ``other_p_values`` is None the other
    ``n_tests - 1`` tests are taken as insignificant (p = 1), i.e. this strategy ranks first:
    Holm then equals Bonferroni, and BHY is stricter than both by the factor
    ``c(M) = Σ_{i<=M} 1/i`` (Benjamini–Yekutieli under arbitrary dependence). This is the
    conservative reading, not Harvey–Liu's calibrated simulation of the other tests.

    Parameters
    ----------
    annual_sharpe : float
        Annualised Sharpe ratio of the strategy.
    n_years : float
        Length of the backtest in years (> 0).
    n_tests : int
        Number of strategies tried (>= 1), including this one.
    method : {"bhy", "holm", "bonferroni"}
        Multiple-testing adjustment.
    other_p_values : array_like of float, shape (n_tests - 1,), optional
        Two-sided p-values of the other tests, each in [0, 1].
    """
    if method not in ("bhy", "holm", "bonferroni"):
        raise ValueError(f"method: expected 'bhy', 'holm' or 'bonferroni', found {method!r}")
    if not math.isfinite(n_years) or n_years <= 0.0:
        raise ValueError(f"n_years: expected a finite number > 0, found {n_years}")
    if n_tests < 1:
        raise ValueError(f"n_tests: expected at least 1, found {n_tests}")
    if not math.isfinite(annual_sharpe):
        raise ValueError(f"annual_sharpe: expected a finite number, found {annual_sharpe}")
    others = None
    if other_p_values is not None:
        others = np.asarray(other_p_values, dtype=np.float64).ravel()
        if others.size != n_tests - 1 or np.any(~((others >= 0.0) & (others <= 1.0))):
            raise ValueError(
                f"other_p_values: expected n_tests - 1 = {n_tests - 1} p-values in [0, 1], "
                f"found {others.size} values (min {others.min(initial=0.0)}, "
                f"max {others.max(initial=0.0)})"
            )
    t_statistic = annual_sharpe * math.sqrt(n_years)
    # erfc keeps the tail accurate far beyond 1 - Φ(t) in double precision
    p_value = math.erfc(abs(t_statistic) / math.sqrt(2.0))
    adjusted = _adjusted_p_value(p_value, n_tests, method, others)
    if adjusted <= 0.0:
        t_adjusted = abs(t_statistic)  # underflow: the haircut is negligible
    elif adjusted >= 1.0:
        t_adjusted = 0.0
    else:
        t_adjusted = -_STANDARD_NORMAL.inv_cdf(adjusted / 2.0)
    adjusted_sharpe = math.copysign(t_adjusted / math.sqrt(n_years), annual_sharpe)
    haircut = 1.0 - adjusted_sharpe / annual_sharpe if annual_sharpe != 0.0 else 0.0
    return HaircutResult(
        method=method,
        t_statistic=t_statistic,
        p_value=p_value,
        adjusted_p_value=adjusted,
        adjusted_annual_sharpe=adjusted_sharpe,
        haircut=haircut,
    )
