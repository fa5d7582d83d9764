"""The promotion gates: pure functions over return arrays and small records -> :class:`Gate`.

Every gate is one frozen :class:`Gate` built once by :func:`judge` (the one deny path, like
NautilusTrader's ``_deny_order(order, reason)``): name, value, threshold, comparison, detail,
``passed`` and, when it fails, a ``reason``. A gate whose value cannot be computed (no trades,
too few days, a non-finite statistic) fails with ``value = None`` and a reason saying why: NaN
never passes a gate. Every Sharpe ratio here is per period (per day on the run's daily grid)
and kurtosis is non-excess (STATISTICS.md §0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
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


class Comparison(StrEnum):
    """How a gate's value must compare with its threshold to pass."""

    AT_LEAST = ">="
    AT_MOST = "<="
    BELOW = "<"
    ABOVE = ">"

    def holds(self, value: float, threshold: float) -> bool:
        """Return whether ``value`` meets ``threshold`` under this comparison."""
        if self is Comparison.AT_LEAST:
            return value >= threshold
        if self is Comparison.AT_MOST:
            return value <= threshold
        if self is Comparison.BELOW:
            return value < threshold
        return value > threshold


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate's verdict on one candidate (immutable; build it with :func:`judge`).

    Attributes
    ----------
    name : str
        The gate (one of :data:`GATE_ORDER`).
    value, threshold : float or None
        Finite floats, or None when not computable (the gate then fails).
    comparison : Comparison
        How ``value`` must compare with ``threshold`` to pass.
    detail : str
        How the value was measured (for the report).
    passed : bool
    reason : str or None
        Why the gate failed; None when it passed.
    """

    name: str
    value: float | None
    threshold: float | None
    comparison: Comparison
    detail: str
    passed: bool
    reason: str | None

    def decision(self) -> dict[str, Any]:
        """Return the DESIGN §4 ``decisions[].gates[]`` entry: name, value, threshold, passed."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
        }

    def evidence(self) -> dict[str, Any]:
        """Return the evidence entry (``candidates[].gates[]`` of promotion.json)."""
        return {
            **self.decision(),
            "comparison": str(self.comparison),
            "detail": self.detail,
            "reason": self.reason,
        }


def judge(
    name: str,
    value: object,
    threshold: object,
    comparison: Comparison | str,
    detail: str,
    *,
    veto: str | None = None,
) -> Gate:
    """Return a gate; it passes only when ``value`` is finite, meets the threshold and no veto.

    The one place a gate is allowed or denied, always with a reason on denial.

    Parameters
    ----------
    comparison : Comparison or {">=", "<=", "<", ">"}
        How ``value`` must compare with ``threshold`` to pass.
    veto : str, optional
        A further condition that failed: the gate fails and the veto joins the reason.

    Raises
    ------
    ValueError
        If ``comparison`` is not one of the four.
    """
    try:
        how = Comparison(comparison)
    except ValueError:
        raise ValueError(
            f"gate {name}: comparison: expected one of >=, <=, <, >, found {comparison!r}"
        ) from None
    number, bound = finite_or_none(value), finite_or_none(threshold)
    if number is None:
        why = detail.removeprefix("not computable: ")
        reason: str | None = f"{name} not computable: {why}" if why else f"{name} not computable"
    elif bound is None:
        reason = (
            f"{name} has no finite threshold: {detail}" if detail else f"{name} has no threshold"
        )
    elif not how.holds(number, bound):
        reason = f"{name} {number:.6g} fails {how} {bound:.6g}"
    else:
        reason = None
    if veto is not None:
        reason = f"{name}: {veto}" if reason is None else f"{reason}; {veto}"
    return Gate(name, number, bound, how, detail, reason is None, reason)


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
    moments: SampleMoments | None,
    n_effective: float,
    sharpe_variance: float,
    minimum: float,
    sample: str = "validation",
) -> Gate:
    """Return the selection-stage gate: ``DSR = PSR(SR0)`` with SR0 from (N_eff, V[SR_n]).

    SR̂, T, γ3, γ4, N_eff and V[SR_n] must all belong to the sample the selection was made on
    (STATISTICS.md §9): ``sample`` names it in the detail.

    Parameters
    ----------
    moments : SampleMoments or None
        Of the candidate's daily returns on ``sample`` (None: fewer than 2 days or constant).
    n_effective : float
        Effective number of trials of the search on the same sample (>= 1).
    sharpe_variance : float
        V[SR_n], per day squared, on the same sample.
    minimum : float
        Pass at ``DSR >= minimum``.
    sample : str
        The sample's name (e.g. "validation").
    """
    if moments is None or not (n_effective >= 1.0 and math.isfinite(sharpe_variance)):
        why = (
            f"fewer than 2 {sample} days or constant {sample} returns (no trades there)"
            if moments is None
            else "no trial record"
        )
        return judge("dsr", None, minimum, ">=", f"not computable: {why}")
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
        f"{sample} {_moments_detail(moments)} vs SR0 {sr_zero:.3f}/day "
        f"(N_eff {n_effective:,.0f}, V[SR] {sharpe_variance:.4g} of the {sample} trials)"
    )
    return judge("dsr", value, minimum, ">=", detail)


def psr_gate(
    moments: SampleMoments | None,
    minimum: float,
    name: str = "psr",
    correction: str = "",
    veto: str | None = None,
) -> Gate:
    """Return the PSR(0) gate on daily returns: the probability the true Sharpe exceeds 0.

    Parameters
    ----------
    minimum : float
        Pass at ``PSR >= minimum`` (the confirmation stage passes ``1 - corrected_alpha``).
    correction : str
        How ``minimum`` was corrected for the family of candidates (for the detail).
    veto : str, optional
        Why the gate fails whatever the value (a candidate not taken to the holdout).
    """
    if moments is None:
        return judge(name, None, minimum, ">=", "not computable: fewer than 2 holdout days")
    value = probabilistic_sharpe_ratio(
        moments.sharpe, moments.n_obs, moments.skew, moments.kurtosis
    )
    detail = f"holdout {_moments_detail(moments)} vs 0"
    if correction:
        detail += f"; {correction}"
    return judge(name, value, minimum, ">=", detail, veto=veto)


def pbo_gate(pbo: float | None, maximum: float, detail: str) -> Gate:
    """Return the PBO gate (the run's one value applies to every candidate)."""
    return judge("pbo", pbo, maximum, "<=", detail)


def cost_stress_gate(
    psr: float | None, total_return: float | None, multiplier: float, minimum: float
) -> Gate:
    """Return the cost-stress gate: at ``multiplier``× costs PSR >= minimum and return > 0.

    The value is the stressed holdout PSR; a non-positive stressed return fails the gate
    whatever the PSR.
    """
    detail = f"holdout PSR(0) at {multiplier:g}× fees and slippage; holdout return " + (
        "not computed" if total_return is None else f"{total_return:+.2%}"
    )
    veto = None
    if total_return is None or total_return <= 0.0:
        detail += " (must be > 0)"
        veto = "the stressed holdout return must be > 0"
    return judge("cost_stress", psr, minimum, ">=", detail, veto=veto)


def stability_gate(stability: float | None, minimum: float, source: str) -> Gate:
    """Return the perturbation-stability gate (median jittered score / own score)."""
    return judge("stability", stability, minimum, ">=", source)


@dataclass(frozen=True, slots=True)
class PerTradeStatistics:
    """The per-trade statistics behind the minimum-trades gate (None: not computable)."""

    n_trades: int
    sharpe_per_trade: float | None = None
    skew: float | None = None
    kurtosis: float | None = None
    min_trl_trades: float | None = None


def min_trades_gate(
    trade_returns: npt.ArrayLike, confidence: float
) -> tuple[Gate, PerTradeStatistics]:
    """Return the minimum-trades gate and the per-trade statistics behind it.

    MinTRL (STATISTICS.md §1.1) on the pooled per-trade returns (return on equity at entry):
    the gate passes when the number of holdout trades reaches it. A per-trade Sharpe <= 0 makes
    MinTRL infinite (the gate fails with threshold None).
    """
    values = np.asarray(trade_returns, dtype=np.float64)
    values = values[np.isfinite(values)]
    n_trades = int(values.size)
    moments = return_moments(values)
    if moments is None or float(values.std()) == 0.0:
        why = f"{n_trades} holdout trade(s) with a per-trade spread of 0 or fewer than 2 trades"
        gate = judge("min_trades", n_trades, None, ">=", f"not computable: {why}")
        return gate, PerTradeStatistics(n_trades)
    min_trl = min_track_record_length(
        moments.sharpe, moments.skew, moments.kurtosis, confidence=confidence
    )
    stats = PerTradeStatistics(
        n_trades, moments.sharpe, moments.skew, moments.kurtosis, finite_or_none(min_trl)
    )
    detail = (
        f"{n_trades} holdout trades vs MinTRL at {confidence:.0%} on per-trade returns "
        f"(per-trade SR {moments.sharpe:.3f}, skew {moments.skew:.2f}, "
        f"kurtosis {moments.kurtosis:.2f})"
    )
    if not math.isfinite(min_trl):
        detail += "; per-trade SR <= 0: no number of trades is enough"
    return judge("min_trades", n_trades, finite_or_none(min_trl), ">=", detail), stats


def drawdown_gate(
    daily_returns: npt.ArrayLike,
    budget: float,
    rng: np.random.Generator,
    n_bootstrap: int,
    quantile: float = 0.95,
) -> tuple[Gate, float | None]:
    """Return the bootstrap-drawdown gate and the drawdown quantile.

    The ``quantile`` of the maximum drawdown over stationary-bootstrap resamples of the daily
    returns (block length of Politis & White) must be within ``budget``.
    """
    values = np.asarray(daily_returns, dtype=np.float64)
    try:
        value = bootstrap_drawdown_quantile(values, quantile, n_bootstrap, rng=rng)
    except DataError as e:
        return judge("drawdown", None, budget, "<=", f"not computable: {e}"), None
    detail = (
        f"{quantile:.0%} quantile of the max drawdown of {n_bootstrap:,} stationary-bootstrap "
        f"resamples of {values.size} holdout days"
    )
    return judge("drawdown", value, budget, "<=", detail), value


@dataclass(frozen=True, slots=True)
class ConcentrationShares:
    """What the concentration gate measured (P&L as fractions of equity; None: not computed).

    ``psr_without_best_month`` and ``pnl_without_top_trades`` are gated; the largest month's
    and regime's shares of the holdout P&L are reported only.
    """

    total_pnl: float
    largest_month: str | None = None
    largest_month_share: float | None = None
    largest_regime: str | None = None
    largest_regime_share: float | None = None
    psr_without_best_month: float | None = None
    n_days_without_best_month: int = 0
    top_trades_removed: int = 0
    pnl_without_top_trades: float | None = None


def without_top_trades(trade_returns: npt.ArrayLike, top_share: float) -> tuple[int, float | None]:
    """Return how many of the best trades were removed and the summed rest.

    The best ``ceil(top_share * n)`` trades (at least one) by return on equity are dropped;
    None when there are no finite trades.
    """
    values = np.asarray(trade_returns, dtype=np.float64)
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        return 0, None
    removed = max(1, math.ceil(top_share * values.size - 1e-9))
    return removed, float(values[: values.size - removed].sum())


def concentration_gate(
    daily_returns: npt.ArrayLike,
    day_months: Sequence[str],
    monthly: Sequence[tuple[str, float]],
    regimes: Sequence[tuple[str, float]],
    trade_returns: npt.ArrayLike,
    psr_min: float,
    top_share: float,
) -> tuple[Gate, ConcentrationShares]:
    """Return the concentration gate and what it measured: does one lucky month or trade make it?

    The value is the holdout PSR(0) of the daily returns with every day of the best month
    (largest monthly P&L) removed; it must reach ``psr_min``. The P&L of the trades without the
    best ``top_share`` of them (summed returns on equity at entry) must stay > 0 (a veto). A
    total holdout P&L <= 0 fails: nothing to promote. A regime-dependent edge passes: the
    month and volatility-regime shares are reported, not gated.

    Parameters
    ----------
    daily_returns : array_like of float, shape (n_days,)
        The holdout daily returns.
    day_months : sequence of str, length n_days
        The calendar month (``YYYY-MM``) of each day.
    monthly : sequence of (month, P&L)
        The holdout P&L per calendar month.
    regimes : sequence of (regime, P&L)
        The holdout P&L per volatility regime (reported).
    trade_returns : array_like of float
        Every holdout trade's return on equity at entry.
    """
    values = np.asarray(daily_returns, dtype=np.float64)
    if values.shape[0] != len(day_months):
        raise ValueError(
            f"concentration_gate: day_months: expected one month per day ({values.shape[0]}), "
            f"found {len(day_months)}"
        )
    total = float(sum(pnl for _, pnl in monthly))
    if not monthly or not math.isfinite(total) or total <= 0.0:
        detail = f"total holdout P&L {total:+.2%} <= 0: nothing to promote" if monthly else ""
        gate = judge("concentration", None, psr_min, ">=", detail or "no holdout P&L")
        return gate, ConcentrationShares(total)
    month, month_pnl = max(monthly, key=lambda item: (item[1], item[0]))
    month_share = max(month_pnl, 0.0) / total
    regime, regime_share = None, None
    if regimes:
        regime, regime_pnl = max(regimes, key=lambda item: (item[1], item[0]))
        regime_share = max(regime_pnl, 0.0) / total
    rest = values[np.asarray(day_months) != month]
    psr_rest = psr_gate(return_moments(rest), psr_min).value
    removed, pnl_rest = without_top_trades(trade_returns, top_share)
    detail = (
        f"holdout PSR(0) without the best month {month} ({month_share:.0%} of the P&L, "
        f"{rest.size} days left); P&L without the best {removed} trade(s) "
        + ("not computed" if pnl_rest is None else f"{pnl_rest:+.2%}")
        + " (must be > 0)"
    )
    if regime is not None:
        detail += f"; largest regime {regime} {regime_share:.0%} (reported, not gated)"
    veto = None
    if pnl_rest is None or pnl_rest <= 0.0:
        veto = f"the P&L without the best {top_share:.0%} of trades must be > 0"
    shares = ConcentrationShares(
        total,
        month,
        month_share,
        regime,
        regime_share,
        psr_rest,
        int(rest.size),
        removed,
        pnl_rest,
    )
    return judge("concentration", psr_rest, psr_min, ">=", detail, veto=veto), shares


def correlation(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Return the Pearson correlation of two equal-length series (0 when either is constant)."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"correlation: series lengths differ ({a.shape} vs {b.shape})")
    a, b = a - a.mean(), b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / norm if norm > 0.0 else 0.0


@dataclass(frozen=True, slots=True)
class CorrelationResult:
    """The highest correlation with a promoted strategy (``with_id`` None: none promoted)."""

    max_with_promoted: float
    with_id: str | None

    def evidence(self) -> dict[str, Any]:
        """Return the evidence block ``{"max_with_promoted", "with"}``."""
        return {"max_with_promoted": self.max_with_promoted, "with": self.with_id}


def correlation_gate(
    returns: npt.ArrayLike, promoted: Mapping[str, npt.ArrayLike], maximum: float
) -> tuple[Gate, CorrelationResult]:
    """Return the correlation gate against strategies already promoted (fails at >= maximum).

    Parameters
    ----------
    returns : array_like of float, shape (n_days,)
        The candidate's daily returns (validation + holdout).
    promoted : mapping of id to array_like, shape (n_days,)
        Daily returns of the strategies promoted so far, same days.
    """
    if not promoted:
        gate = judge(
            "correlation",
            0.0,
            maximum,
            "<",
            "no simpler strategy promoted before it (simplest first)",
        )
        return gate, CorrelationResult(0.0, None)
    values = {key: correlation(returns, other) for key, other in promoted.items()}
    other_id = max(values, key=lambda key: (values[key], key))
    detail = f"highest with {other_id} over {np.asarray(returns).size} days"
    gate = judge("correlation", values[other_id], maximum, "<", detail)
    return gate, CorrelationResult(values[other_id], other_id)


def spa_gate(name: str, search_p: float | None, candidate_p: float | None, maximum: float) -> Gate:
    """Return an SPA gate: the larger of the search-level and the candidate's own p-value."""
    values = [
        value
        for value in (finite_or_none(search_p), finite_or_none(candidate_p))
        if value is not None
    ]
    value = max(values) if len(values) == 2 else None
    detail = f"Hansen SPA consistent p: search {_p(search_p)}, this candidate {_p(candidate_p)}"
    return judge(name, value, maximum, "<=", detail)


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


def null_gate(percentile: float | None, minimum: float, n_runs: int) -> Gate:
    """Return the null-model gate: the candidate's percentile among the null searches' best."""
    detail = f"holdout daily Sharpe vs the best of each of {n_runs} searches on surrogate data"
    return judge("null_model", percentile, minimum, ">=", detail)


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


def failed_names(gates: Sequence[Gate]) -> list[str]:
    """Return the names of the failed gates, in the order given."""
    return [gate.name for gate in gates if not gate.passed]


def order_gates(gates: Sequence[Gate]) -> list[Gate]:
    """Return the gates in :data:`GATE_ORDER` (unknown names last, stable)."""
    rank = {name: index for index, name in enumerate(GATE_ORDER)}
    return sorted(gates, key=lambda gate: rank.get(gate.name, len(rank)))
