"""A portfolio of promoted strategies from their holdout daily returns.

Ranked by holdout daily Sharpe, a strategy joins when its holdout correlation with every one
already in stays at or under ``max_correlation``. Weights are equal risk contribution (with the
holdout covariance) or inverse volatility, then capped per strategy (``max_weight``) and per
symbol (``max_symbol_exposure``: a strategy's weight is split evenly over its symbols) by water
filling: capped weight is handed to the uncapped strategies in proportion to their weights,
until no cap binds. A cap no allocation can meet (every strategy on one symbol, say) is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolve.errors import UsageError
from evolve.promotion.holdout import HoldoutReturns
from fitness.stats.ratio import DAYS_PER_YEAR, sharpe_annual
from primitives.arrays import Float64Array

METHODS = ("equal_risk", "inverse_vol")


@dataclass(frozen=True, slots=True)
class PortfolioLimits:
    """The allocation's method and limits (fractions of the account's capital)."""

    method: str = "equal_risk"
    max_correlation: float = 0.7
    max_weight: float = 0.5
    max_symbol_exposure: float = 1.0


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The chosen strategies, their weights and the holdout record of the mix.

    Attributes
    ----------
    ids : tuple of str
        Chosen strategies, in rank order.
    weights : tuple of float
        Capital weights, summing to 1.
    excluded : tuple of (str, str)
        ``(id, reason)`` of every strategy left out.
    day_ms : ndarray of int64
        Start of each common holdout day.
    daily_returns : ndarray of float64
        The mix's daily returns (rebalanced daily to the weights).
    correlation : ndarray of float64, shape (n, n)
        Holdout correlation of the chosen strategies' daily returns.
    """

    ids: tuple[str, ...]
    weights: tuple[float, ...]
    excluded: tuple[tuple[str, str], ...]
    day_ms: np.ndarray
    daily_returns: Float64Array
    correlation: Float64Array

    @property
    def equity(self) -> Float64Array:
        """Return the mix's equity from 1.0 at the start, one value per day end."""
        return np.asarray(np.cumprod(1.0 + self.daily_returns), dtype=np.float64)

    @property
    def max_drawdown(self) -> float:
        """Return the mix's holdout max drawdown (a fraction of the peak, start included)."""
        equity = np.concatenate(([1.0], self.equity))
        return float(np.max(1.0 - equity / np.maximum.accumulate(equity)))

    @property
    def sharpe_annual(self) -> float:
        """Return the mix's annualised holdout Sharpe."""
        return sharpe_annual(self.daily_returns, DAYS_PER_YEAR)


def _aligned(returns: Sequence[HoldoutReturns]) -> tuple[np.ndarray, Float64Array]:
    keyed = [
        dict(zip((r.start_ms + r.bucket_ms * np.arange(r.daily_returns.size)).tolist(),
                 r.daily_returns.tolist(), strict=True))
        for r in returns
    ]  # fmt: skip
    common = sorted(set.intersection(*(set(k) for k in keyed)))
    if len(common) < 10:
        raise UsageError(
            f"portfolio: the holdouts share {len(common)} days (expected at least 10 common "
            "days to estimate correlations); combine runs whose holdouts overlap in time"
        )
    matrix = np.array([[k[day] for day in common] for k in keyed], dtype=np.float64)
    return np.asarray(common, dtype=np.int64), matrix


def _correlation(matrix: Float64Array) -> Float64Array:
    std = matrix.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(matrix) if matrix.shape[0] > 1 else np.ones((1, 1))
    correlation = np.atleast_2d(correlation)
    flat = std == 0.0
    correlation[flat, :] = 0.0
    correlation[:, flat] = 0.0
    np.fill_diagonal(correlation, 1.0)
    return np.asarray(correlation, dtype=np.float64)


def equal_risk_weights(covariance: Float64Array, n_iterations: int = 500) -> Float64Array:
    """Return long-only weights with equal risk contributions ``w_i (Σw)_i`` (sum 1).

    Fixed-point iteration ``w ← w · sqrt(mean RC / RC)``; with zero correlations it is inverse
    volatility.
    """
    n = covariance.shape[0]
    weights = np.full(n, 1.0 / n)
    for _ in range(n_iterations):
        contribution = weights * (covariance @ weights)
        if np.any(contribution <= 0.0):
            break
        weights = weights * np.sqrt(contribution.mean() / contribution)
        weights /= weights.sum()
    return weights


def _water_fill(weights: Float64Array, exposure: Float64Array, caps: Float64Array) -> Float64Array:
    """Cap ``exposure @ weights`` at ``caps`` (rows: constraints), keeping the sum at 1."""
    w = weights.copy()
    fixed = np.zeros(w.size, dtype=bool)
    for _ in range(4 * w.size + 4):
        load = exposure @ w
        over = load > caps * (1.0 + 1e-12)
        if not over.any():
            return w
        for row in np.flatnonzero(over):
            members = exposure[row] > 0.0
            w[members] *= caps[row] / load[row]
            fixed |= members
        free = ~fixed & (w > 0.0)
        if not free.any():
            break
        w[free] += (1.0 - w.sum()) * w[free] / w[free].sum()
    raise UsageError(
        "portfolio: the weight and symbol caps cannot all hold with weights summing to 1 "
        f"(loads {np.round(exposure @ w, 4).tolist()} vs caps {caps.tolist()}); raise "
        "--max-weight or --max-symbol-exposure, or add strategies on other symbols"
    )


def build_portfolio(returns: Sequence[HoldoutReturns], limits: PortfolioLimits) -> Portfolio:
    """Choose and weight strategies from their holdout daily returns (see the module docstring).

    Raises
    ------
    UsageError
        Too few common days, an unknown method, or caps no allocation can meet.
    """
    if limits.method not in METHODS:
        raise UsageError(f"--method {limits.method!r}: expected one of {', '.join(METHODS)}")
    if not returns:
        raise UsageError("portfolio: no promoted strategies in the given runs")
    day_ms, matrix = _aligned(returns)
    correlation = _correlation(matrix)
    sharpes = [sharpe_annual(row, DAYS_PER_YEAR) for row in matrix]
    order = sorted(range(len(returns)), key=lambda i: (-sharpes[i], returns[i].spec_id))
    chosen: list[int] = []
    excluded: list[tuple[str, str]] = []
    for i in order:
        if matrix[i].std(ddof=1) == 0.0:
            excluded.append((returns[i].spec_id, "no holdout variation (never traded)"))
            continue
        clash = [j for j in chosen if correlation[i, j] > limits.max_correlation]
        if clash:
            j = clash[0]
            excluded.append(
                (returns[i].spec_id, f"correlation {correlation[i, j]:.3f} with "
                 f"{returns[j].spec_id} > {limits.max_correlation}")
            )  # fmt: skip
            continue
        chosen.append(i)
    if not chosen:
        raise UsageError("portfolio: every strategy was excluded: " + "; ".join(
            f"{s}: {r}" for s, r in excluded))  # fmt: skip
    sub = matrix[chosen]
    covariance = np.atleast_2d(np.cov(sub, ddof=1))
    if limits.method == "equal_risk":
        weights = equal_risk_weights(covariance)
    else:
        inverse = 1.0 / np.sqrt(np.diag(covariance))
        weights = inverse / inverse.sum()
    symbols = sorted({s for i in chosen for s in returns[i].symbols})
    rows = [np.eye(len(chosen))]
    # fewer than 1 / max_weight strategies cannot be fully invested under the cap: it yields
    caps = [np.full(len(chosen), max(limits.max_weight, 1.0 / len(chosen)))]
    if symbols:
        share = np.array([[(1.0 / len(returns[i].symbols)) if s in returns[i].symbols else 0.0
                           for i in chosen] for s in symbols])  # fmt: skip
        rows.append(share)
        caps.append(np.full(len(symbols), limits.max_symbol_exposure))
    weights = _water_fill(weights, np.vstack(rows), np.concatenate(caps))
    mix = weights @ sub
    return Portfolio(
        ids=tuple(returns[i].spec_id for i in chosen),
        weights=tuple(float(w) for w in weights),
        excluded=tuple(excluded),
        day_ms=day_ms,
        daily_returns=np.asarray(mix, dtype=np.float64),
        correlation=correlation[np.ix_(chosen, chosen)],
    )
