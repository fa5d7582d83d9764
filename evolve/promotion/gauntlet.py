"""The promotion gates: pure functions over return arrays and small records -> gate records.

A gate record is ``{"name", "value", "threshold", "passed", "comparison", "detail"}`` (the
evidence contract of ``promotion.json``). A gate whose value cannot be computed (no trades, too
few days, a non-finite statistic) fails with ``value = None`` and a detail saying why: NaN never
passes a gate. Every Sharpe ratio here is per period (per day on the run's daily grid) and
kurtosis is non-excess (STATISTICS.md §0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evolve.numbers import finite_or_none
from fitness.errors import DataError
from fitness.stats.sharpe import (
    SampleMoments,
    bootstrap_drawdown_quantile,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    sample_moments,
)

GATE_ORDER = (
    "dsr",
    "psr",
    "pbo",
    "spa_flat",
    "spa_buy_and_hold",
    "cost_stress",
    "stability",
    "min_trades",
    "drawdown",
    "concentration",
    "correlation",
    "null_model",
)
MIN_DAYS_PER_BLOCK = 10


def make_gate(
    name: str, value: object, threshold: object, comparison: str, detail: str
) -> dict[str, Any]:
    """Return a gate record; it passes only when ``value`` is finite and meets the threshold.

    Parameters
    ----------
    comparison : {">=", "<=", "<", ">"}
        How ``value`` must compare with ``threshold`` to pass.
    """
    number, bound = finite_or_none(value), finite_or_none(threshold)
    if number is None or bound is None:
        passed = False
    elif comparison == ">=":
        passed = number >= bound
    elif comparison == "<=":
        passed = number <= bound
    elif comparison == "<":
        passed = number < bound
    elif comparison == ">":
        passed = number > bound
    else:
        raise ValueError(f"comparison: expected one of >=, <=, <, >, found {comparison!r}")
    return {
        "name": name,
        "value": number,
        "threshold": bound,
        "passed": bool(passed),
        "comparison": comparison,
        "detail": detail,
    }


def return_moments(returns: npt.ArrayLike) -> SampleMoments | None:
    """Return per-period Sharpe, skewness, non-excess kurtosis and count, or None (< 2 values)."""
    values = np.asarray(returns, dtype=np.float64)
    try:
        return sample_moments(values)
    except DataError:
        return None


def _moments_detail(moments: SampleMoments) -> str:
    return (
        f"SR {moments.sharpe:.3f}/day, skew {moments.skew:.2f}, kurtosis {moments.kurtosis:.2f}, "
        f"T={moments.n_obs} days"
    )


def dsr_gate(
    moments: SampleMoments | None, n_effective: float, sharpe_variance: float, minimum: float
) -> dict[str, Any]:
    """Return the deflated-Sharpe gate: ``DSR = PSR(SR0)`` with SR0 from (N_eff, V[SR_n]).

    Parameters
    ----------
    moments : SampleMoments or None
        Of the candidate's holdout daily returns (None: fewer than 2 days).
    n_effective : float
        Effective number of trials of the search (>= 1).
    sharpe_variance : float
        V[SR_n], per day squared.
    minimum : float
        Pass at ``DSR >= minimum``.
    """
    if moments is None or not (n_effective >= 1.0 and math.isfinite(sharpe_variance)):
        why = "fewer than 2 holdout days" if moments is None else "no trial record"
        return make_gate("dsr", None, minimum, ">=", f"not computable: {why}")
    sr_zero = expected_max_sharpe(n_effective, max(sharpe_variance, 0.0))
    value = deflated_sharpe_ratio(
        moments.sharpe,
        moments.n_obs,
        moments.skew,
        moments.kurtosis,
        n_effective,
        max(sharpe_variance, 0.0),
    )
    detail = (
        f"holdout {_moments_detail(moments)} vs SR0 {sr_zero:.3f}/day "
        f"(N_eff {n_effective:,.0f}, V[SR] {sharpe_variance:.4g})"
    )
    return make_gate("dsr", value, minimum, ">=", detail)


def psr_gate(moments: SampleMoments | None, minimum: float, name: str = "psr") -> dict[str, Any]:
    """Return the PSR(0) gate on daily returns: the probability the true Sharpe exceeds 0."""
    if moments is None:
        return make_gate(name, None, minimum, ">=", "not computable: fewer than 2 holdout days")
    value = probabilistic_sharpe_ratio(
        moments.sharpe, moments.n_obs, moments.skew, moments.kurtosis
    )
    return make_gate(name, value, minimum, ">=", f"holdout {_moments_detail(moments)} vs 0")


def pbo_gate(pbo: float | None, maximum: float, detail: str) -> dict[str, Any]:
    """Return the PBO gate (the run's one value applies to every candidate)."""
    return make_gate("pbo", pbo, maximum, "<=", detail)


def cost_stress_gate(
    psr: float | None, total_return: float | None, multiplier: float, minimum: float
) -> dict[str, Any]:
    """Return the cost-stress gate: at ``multiplier``× costs PSR >= minimum and return > 0.

    The value is the stressed holdout PSR; a non-positive stressed return fails the gate
    whatever the PSR.
    """
    gate = make_gate(
        "cost_stress",
        psr,
        minimum,
        ">=",
        f"holdout PSR(0) at {multiplier:g}× fees and slippage; holdout return "
        + ("not computed" if total_return is None else f"{total_return:+.2%}"),
    )
    if total_return is None or total_return <= 0.0:
        gate["passed"] = False
        gate["detail"] += " (must be > 0)"
    return gate


def stability_gate(stability: float | None, minimum: float, source: str) -> dict[str, Any]:
    """Return the perturbation-stability gate (median jittered score / own score)."""
    return make_gate("stability", stability, minimum, ">=", source)


def min_trades_gate(trade_returns: npt.ArrayLike, confidence: float) -> tuple[dict, dict]:
    """Return the minimum-trades gate and the per-trade statistics behind it.

    MinTRL (STATISTICS.md §1.1) on the pooled per-trade returns (return on equity at entry):
    the gate passes when the number of holdout trades reaches it. A per-trade Sharpe <= 0 makes
    MinTRL infinite (the gate fails with threshold None).

    Returns
    -------
    (gate, statistics)
        ``statistics``: ``n_trades``, ``sharpe_per_trade``, ``skew``, ``kurtosis``,
        ``min_trl_trades`` (None when not finite).
    """
    values = np.asarray(trade_returns, dtype=np.float64)
    values = values[np.isfinite(values)]
    n_trades = int(values.size)
    stats: dict[str, Any] = {"n_trades": n_trades, "sharpe_per_trade": None, "skew": None}
    stats.update({"kurtosis": None, "min_trl_trades": None})
    moments = return_moments(values)
    if moments is None or float(values.std()) == 0.0:
        why = f"{n_trades} holdout trade(s) with a per-trade spread of 0 or fewer than 2 trades"
        return make_gate("min_trades", n_trades, None, ">=", f"not computable: {why}"), stats
    min_trl = min_track_record_length(
        moments.sharpe, moments.skew, moments.kurtosis, confidence=confidence
    )
    stats.update(
        sharpe_per_trade=moments.sharpe,
        skew=moments.skew,
        kurtosis=moments.kurtosis,
        min_trl_trades=finite_or_none(min_trl),
    )
    detail = (
        f"{n_trades} holdout trades vs MinTRL at {confidence:.0%} on per-trade returns "
        f"(per-trade SR {moments.sharpe:.3f}, skew {moments.skew:.2f}, "
        f"kurtosis {moments.kurtosis:.2f})"
    )
    if not math.isfinite(min_trl):
        detail += "; per-trade SR <= 0: no number of trades is enough"
    return make_gate("min_trades", n_trades, finite_or_none(min_trl), ">=", detail), stats


def drawdown_gate(
    daily_returns: npt.ArrayLike,
    budget: float,
    rng: np.random.Generator,
    n_bootstrap: int,
    quantile: float = 0.95,
) -> tuple[dict[str, Any], float | None]:
    """Return the bootstrap-drawdown gate and the drawdown quantile.

    The ``quantile`` of the maximum drawdown over stationary-bootstrap resamples of the daily
    returns (block length of Politis & White) must be within ``budget``.
    """
    values = np.asarray(daily_returns, dtype=np.float64)
    try:
        value = bootstrap_drawdown_quantile(values, quantile, n_bootstrap, rng=rng)
    except DataError as e:
        return make_gate("drawdown", None, budget, "<=", f"not computable: {e}"), None
    detail = (
        f"{quantile:.0%} quantile of the max drawdown of {n_bootstrap:,} stationary-bootstrap "
        f"resamples of {values.size} holdout days"
    )
    return make_gate("drawdown", value, budget, "<=", detail), value


def concentration_gate(
    monthly: Sequence[tuple[str, float]], regimes: Sequence[tuple[str, float]], maximum: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the concentration gate and the shares behind it.

    The value is ``max(largest positive month P&L, largest regime P&L) / total P&L`` (P&L in
    fractions of equity, summed over the holdout). A total P&L <= 0 fails: there is no profit
    to be concentrated, and no profit to promote.

    Returns
    -------
    (gate, shares)
        ``shares``: ``largest_month``, ``largest_month_share``, ``largest_regime``,
        ``largest_regime_share``, ``total_pnl``.
    """
    total = float(sum(pnl for _, pnl in monthly))
    shares: dict[str, Any] = {"total_pnl": total, "largest_month": None}
    shares.update(largest_month_share=None, largest_regime=None, largest_regime_share=None)
    if not monthly or not math.isfinite(total) or total <= 0.0:
        detail = f"total holdout P&L {total:+.2%} <= 0: nothing to promote" if monthly else ""
        return make_gate("concentration", None, maximum, "<=", detail or "no holdout P&L"), shares
    month, month_pnl = max(monthly, key=lambda item: (item[1], item[0]))
    shares.update(largest_month=month, largest_month_share=max(month_pnl, 0.0) / total)
    value = shares["largest_month_share"]
    detail = f"largest month {month} holds {value:.0%} of the holdout P&L"
    if regimes:
        regime, regime_pnl = max(regimes, key=lambda item: (item[1], item[0]))
        shares.update(largest_regime=regime, largest_regime_share=max(regime_pnl, 0.0) / total)
        detail += f"; largest regime {regime} {shares['largest_regime_share']:.0%}"
        value = max(value, shares["largest_regime_share"])
    return make_gate("concentration", value, maximum, "<=", detail), shares


def correlation(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Return the Pearson correlation of two equal-length series (0 when either is constant)."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"correlation: series lengths differ ({a.shape} vs {b.shape})")
    a, b = a - a.mean(), b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / norm if norm > 0.0 else 0.0


def correlation_gate(
    returns: npt.ArrayLike, promoted: Mapping[str, npt.ArrayLike], maximum: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the correlation gate against strategies already promoted (fails at >= maximum).

    Parameters
    ----------
    returns : array_like of float, shape (n_days,)
        The candidate's daily returns (validation + holdout).
    promoted : mapping of id to array_like, shape (n_days,)
        Daily returns of the strategies promoted so far, same days.
    """
    if not promoted:
        gate = make_gate("correlation", 0.0, maximum, "<", "no strategy promoted before it")
        return gate, {"max_with_promoted": 0.0, "with": None}
    values = {key: correlation(returns, other) for key, other in promoted.items()}
    other_id = max(values, key=lambda key: (values[key], key))
    detail = f"highest with {other_id} over {np.asarray(returns).size} days"
    gate = make_gate("correlation", values[other_id], maximum, "<", detail)
    return gate, {"max_with_promoted": values[other_id], "with": other_id}


def spa_gate(
    name: str, search_p: float | None, candidate_p: float | None, maximum: float
) -> dict[str, Any]:
    """Return an SPA gate: the larger of the search-level and the candidate's own p-value."""
    values = [
        value
        for value in (finite_or_none(search_p), finite_or_none(candidate_p))
        if value is not None
    ]
    value = max(values) if len(values) == 2 else None
    detail = f"Hansen SPA consistent p: search {_p(search_p)}, this candidate {_p(candidate_p)}"
    return make_gate(name, value, maximum, "<=", detail)


def _p(value: float | None) -> str:
    number = finite_or_none(value)
    return "not computed" if number is None else f"{number:.3f}"


def null_percentile(value: float | None, draws: Sequence[float]) -> float | None:
    """Return where ``value`` falls among the null draws: share below it, ties counting half."""
    number = finite_or_none(value)
    finite_draws = np.asarray([d for d in (finite_or_none(x) for x in draws) if d is not None])
    if number is None or finite_draws.size == 0:
        return None
    below = float(np.count_nonzero(finite_draws < number))
    ties = float(np.count_nonzero(finite_draws == number))
    return (below + 0.5 * ties) / finite_draws.size


def null_gate(percentile: float | None, minimum: float, n_runs: int) -> dict[str, Any]:
    """Return the null-model gate: the candidate's percentile among the null searches' best."""
    detail = f"holdout daily Sharpe vs the best of each of {n_runs} searches on surrogate data"
    return make_gate("null_model", percentile, minimum, ">=", detail)


def pbo_block_count(n_days: int, max_blocks: int, min_days: int = MIN_DAYS_PER_BLOCK) -> int:
    """Return the largest even S <= ``max_blocks`` with at least ``min_days`` days per block.

    Returns 0 when even S = 2 leaves fewer than ``min_days`` days per block.
    """
    blocks = max_blocks - max_blocks % 2
    while blocks >= 2 and n_days // blocks < min_days:
        blocks -= 2
    return max(blocks, 0)


def estimation_variance(returns: npt.ArrayLike) -> float:
    """Return the mean estimation variance of the columns' per-period Sharpe ratios.

    ``σ²(SR̂) = (1 - γ3·SR + (γ4 - 1)/4·SR²) / (T - 1)`` (STATISTICS.md §1.1) per column,
    averaged: the dispersion of Sharpe estimates that trials of equal true Sharpe would show.

    Parameters
    ----------
    returns : array_like of float, shape (n_days, n_columns)
    """
    matrix = np.asarray(returns, dtype=np.float64)
    variances = []
    for column in matrix.T:
        moments = return_moments(column)
        if moments is None:
            continue
        term = 1.0 - moments.skew * moments.sharpe
        term += (moments.kurtosis - 1.0) / 4.0 * moments.sharpe**2
        variances.append(max(term, 0.0) / (moments.n_obs - 1))
    return float(np.mean(variances)) if variances else math.nan


def failed_names(gates: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the names of the failed gates, in gate order."""
    return [str(gate["name"]) for gate in gates if not gate["passed"]]


def order_gates(gates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the gates in :data:`GATE_ORDER` (unknown names last, stable)."""
    rank = {name: index for index, name in enumerate(GATE_ORDER)}
    return sorted(gates, key=lambda gate: rank.get(str(gate["name"]), len(rank)))
