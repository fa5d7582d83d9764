"""One hall-of-fame candidate through the gauntlet: its holdout evaluation, replays and gates.

:func:`analyse_candidate` runs everything that depends on the candidate alone (the evaluator on
every segment including the holdout, the holdout and whole-timeline replays); the run-level
numbers (N_eff, V[SR_n], PBO, SPA, the null model) arrive in a :class:`SearchContext`, and
:func:`candidate_gates` turns both into the gate records and the candidate's evidence entry.
The correlation gate is added by the caller, which knows what was promoted before.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import primitives
from evolve.config.promotion_config import PromotionConfig
from evolve.numbers import finite_or_none
from evolve.promotion import gauntlet, replays
from fitness import Evaluation, FitnessConfig, Market, evaluate, perturbation_probe
from fitness.stats.sharpe import SampleMoments, deflated_sharpe_ratio, expected_max_sharpe
from populations import LineageLookupError, StrategySpec, ancestry
from primitives.arrays import Float64Array

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class SearchContext:
    """Run-level inputs of every candidate's gates."""

    market: Market
    fitness: FitnessConfig
    config: PromotionConfig
    n_effective: float
    sharpe_variance: float
    pbo: float | None
    pbo_detail: str
    spa_search: Mapping[str, float | None] = field(default_factory=dict)
    spa_candidates: Mapping[str, Sequence[float | None]] = field(default_factory=dict)
    null_draws: Sequence[float] | None = None
    score_index: int = 0
    sharpe_variance_trials: float = math.nan


@dataclass(frozen=True, slots=True, eq=False)
class CandidateAnalysis:
    """A candidate's evaluation (holdout included) and replays.

    Attributes
    ----------
    stream : ndarray of float64
        Validation then holdout daily returns: what correlations are measured on.
    """

    spec: StrategySpec
    rank: int
    evaluation: Evaluation
    targets: list[Float64Array]
    holdout: replays.Replay
    timeline: replays.Replay
    moments: SampleMoments | None
    stream: Float64Array


def holdout_span(market: Market) -> tuple[int, int]:
    """Return the holdout's calendar span ``(start_ms, stop_ms)``."""
    holdout = [c for c in market.timeline.calendar if c.kind == "holdout"]
    if not holdout:
        raise ValueError("market: the fold config has no holdout (holdout_fraction = 0)")
    return holdout[0].start_ms, holdout[0].stop_ms


def timeline_span(market: Market) -> tuple[int, int]:
    """Return the whole timeline: first discovery day to the end of the holdout."""
    calendar = market.timeline.calendar
    return calendar[0].start_ms, calendar[-1].stop_ms


def analyse_candidate(
    spec: StrategySpec,
    rank: int,
    market: Market,
    fitness: FitnessConfig,
    memo: primitives.Memo | None = None,
) -> CandidateAnalysis:
    """Evaluate a candidate on every segment (holdout included) and replay it."""
    evaluation = evaluate(spec.expression, market, fitness, include_holdout=True, memo=memo)
    targets = replays.strategy_targets(spec.expression, market, memo)
    holdout = replays.replay(targets, market, fitness.costs, *holdout_span(market))
    timeline = replays.replay(targets, market, fitness.costs, *timeline_span(market))
    holdout_returns = np.asarray(evaluation.holdout_returns, dtype=np.float64)
    stream = np.concatenate(
        [np.asarray(evaluation.validation_returns, dtype=np.float64), holdout_returns]
    )
    moments = gauntlet.return_moments(holdout_returns)
    return CandidateAnalysis(spec, rank, evaluation, targets, holdout, timeline, moments, stream)


def stable_seed(config: PromotionConfig, purpose: int, id_: str) -> np.random.Generator:
    """Return a generator seeded from the config seed, a purpose code and a strategy id."""
    digest = int.from_bytes(hashlib.sha256(id_.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([config.seed, purpose, digest]))


def cost_stress(analysis: CandidateAnalysis, context: SearchContext) -> list[dict[str, Any]]:
    """Return the holdout at 1×–3× fees and slippage (and the gate's multiplier)."""
    multipliers = sorted({*replays.COST_MULTIPLIERS, context.config.cost_stress_multiplier})
    holdout_start, holdout_stop = holdout_span(context.market)
    points = []
    for multiplier in multipliers:
        costs = replays.scaled_costs(context.fitness.costs, multiplier)
        stressed = replays.replay(
            analysis.targets, context.market, costs, holdout_start, holdout_stop
        )
        psr = gauntlet.psr_gate(gauntlet.return_moments(stressed.daily_returns), 0.0)["value"]
        points.append(
            {
                "multiplier": multiplier,
                "holdout_sharpe": replays.annual_sharpe(stressed.daily_returns),
                "holdout_return": stressed.total_return,
                "holdout_psr": psr,
            }
        )
    return points


def funding_flip(analysis: CandidateAnalysis, context: SearchContext) -> dict[str, Any]:
    """Return the holdout with every funding rate negated (reported, not gated)."""
    flipped = replays.replay(
        analysis.targets,
        context.market,
        context.fitness.costs,
        *holdout_span(context.market),
        funding_sign=-1.0,
    )
    return {
        "holdout_sharpe": replays.annual_sharpe(flipped.daily_returns),
        "holdout_return": flipped.total_return,
    }


def perturbation(analysis: CandidateAnalysis, context: SearchContext) -> dict[str, Any]:
    """Return the stability and the scores of a seeded perturbation probe (the histogram).

    The gated ``stability`` is the hall of fame's (the run's own probe) when the spec has one,
    else this probe's; ``probe_stability`` is always this probe's.
    """
    spec = analysis.spec
    result = perturbation_probe(
        spec.expression,
        context.market,
        context.fitness,
        stable_seed(context.config, 201, spec.id),
        n_copies=context.config.probe_copies,
    )
    copies = f"{len(result.scores)} jittered copies at promotion"
    if spec.stability is not None:
        stability = finite_or_none(spec.stability)
        source = (
            f"the run's perturbation probe (hall of fame); histogram: {copies}, stability "
            f"{result.stability:.3g}"
        )
    else:
        stability, source = finite_or_none(result.stability), f"perturbation probe: {copies}"
    return {
        "own_score": finite_or_none(result.own_score),
        "scores": [finite_or_none(score) for score in result.scores],
        "stability": stability,
        "probe_stability": finite_or_none(result.stability),
        "source": source,
    }


def concentration(analysis: CandidateAnalysis, context: SearchContext) -> tuple[dict, dict]:
    """Return the concentration gate and its evidence (monthly and regime P&L)."""
    monthly = replays.monthly_pnl(analysis.holdout)
    regimes = replays.regime_pnl(
        analysis.holdout, context.market, context.config.volatility_window_days
    )
    gate, shares = gauntlet.concentration_gate(
        monthly, [(name, pnl) for name, pnl, _ in regimes], context.config.concentration_max
    )
    total = shares["total_pnl"]
    evidence = {
        "largest_month": shares["largest_month"],
        "largest_month_share": shares["largest_month_share"],
        "largest_regime": shares["largest_regime"],
        "largest_regime_share": shares["largest_regime_share"],
        "total_pnl": total,
        "monthly_pnl": [{"month": month, "pnl": pnl} for month, pnl in monthly],
        "regimes": [
            {
                "regime": name,
                "pnl": pnl,
                "share": pnl / total if total > 0.0 else None,
                "n_bars": n_bars,
            }
            for name, pnl, n_bars in regimes
        ],
        "volatility_window_days": context.config.volatility_window_days,
    }
    return gate, evidence


def _dsr_statistics(analysis: CandidateAnalysis, context: SearchContext) -> dict[str, Any]:
    n_effective, variance = context.n_effective, context.sharpe_variance
    sr_zero = None
    if n_effective >= 1.0 and math.isfinite(variance):
        sr_zero = expected_max_sharpe(n_effective, max(variance, 0.0))
    validation = gauntlet.return_moments(analysis.evaluation.validation_returns)
    validation_dsr = None
    if validation is not None and sr_zero is not None:
        validation_dsr = deflated_sharpe_ratio(
            validation.sharpe,
            validation.n_obs,
            validation.skew,
            validation.kurtosis,
            n_effective,
            max(variance, 0.0),
        )
    moments = analysis.moments
    # the DSR with V[SR_n] = the trials' own dispersion (STATISTICS.md §1.3), for comparison
    trials_dsr = gauntlet.dsr_gate(moments, n_effective, context.sharpe_variance_trials, 0.0)[
        "value"
    ]
    return {
        "holdout_daily_sharpe": None if moments is None else moments.sharpe,
        "dsr_trials_variance": trials_dsr,
        "n_days": None if moments is None else moments.n_obs,
        "skew": None if moments is None else moments.skew,
        "kurtosis": None if moments is None else moments.kurtosis,
        "sr0": sr_zero,
        "validation_daily_sharpe": None if validation is None else validation.sharpe,
        "validation_dsr": validation_dsr,
        "holdout_return": analysis.holdout.total_return,
        "holdout_annual_sharpe": replays.annual_sharpe(analysis.holdout.daily_returns),
    }


def _spa_gates(analysis: CandidateAnalysis, context: SearchContext) -> list[dict[str, Any]]:
    maximum = context.config.spa_max_pvalue
    if maximum is None:
        return []
    index = analysis.rank - 1
    return [
        gauntlet.spa_gate(
            f"spa_{name}",
            context.spa_search.get(name),
            context.spa_candidates.get(name, [None] * (index + 1))[index],
            maximum,
        )
        for name in ("flat", "buy_and_hold")
    ]


def candidate_gates(
    analysis: CandidateAnalysis, context: SearchContext
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return every gate of a candidate but the correlation gate, and its evidence entry."""
    config = context.config
    statistics = _dsr_statistics(analysis, context)
    gates = [
        gauntlet.dsr_gate(analysis.moments, context.n_effective, context.sharpe_variance,
                          config.dsr_min),
        gauntlet.psr_gate(analysis.moments, config.psr_min),
        gauntlet.pbo_gate(context.pbo, config.pbo_max, context.pbo_detail),
        *_spa_gates(analysis, context),
    ]  # fmt: skip
    stress = cost_stress(analysis, context)
    at_gate = next(p for p in stress if p["multiplier"] == config.cost_stress_multiplier)
    gates.append(
        gauntlet.cost_stress_gate(
            at_gate["holdout_psr"],
            at_gate["holdout_return"],
            config.cost_stress_multiplier,
            config.cost_stress_psr_min,
        )
    )
    probe = perturbation(analysis, context)
    gates.append(gauntlet.stability_gate(probe["stability"], config.stability_min, probe["source"]))
    trades_gate, per_trade = gauntlet.min_trades_gate(
        replays.trade_returns(analysis.holdout), config.min_trl_confidence
    )
    drawdown, drawdown_p = gauntlet.drawdown_gate(
        analysis.evaluation.holdout_returns,
        config.drawdown_budget,
        stable_seed(config, 301, analysis.spec.id),
        config.bootstrap_samples,
        config.drawdown_quantile,
    )
    concentration_gate, concentration_evidence = concentration(analysis, context)
    gates += [trades_gate, drawdown, concentration_gate]
    if context.null_draws is not None:
        percentile = gauntlet.null_percentile(
            statistics["holdout_daily_sharpe"], context.null_draws
        )
        statistics["null_percentile"] = percentile
        if config.null_percentile_min is not None:
            gates.append(
                gauntlet.null_gate(percentile, config.null_percentile_min, len(context.null_draws))
            )
    statistics.update(
        psr=gates[1]["value"],
        dsr=gates[0]["value"],
        min_trl_trades=per_trade["min_trl_trades"],
        n_holdout_trades=per_trade["n_trades"],
        sharpe_per_trade=per_trade["sharpe_per_trade"],
        bootstrap_drawdown_p95=drawdown_p,
    )
    statistics.setdefault("null_percentile", None)
    evidence = {
        "statistics": statistics,
        "cost_stress": stress,
        "funding_flip": funding_flip(analysis, context),
        "perturbation": probe,
        "legs": replays.legs(analysis.holdout),
        "concentration": concentration_evidence,
    }
    return gates, evidence


def lineage_sketch(
    table: pa.Table | None, id_: str, max_depth: int, score_index: int
) -> list[dict[str, Any]]:
    """Return the candidate and its ancestors (depth, id, generation, operator, score, pretty)."""
    if table is None or table.num_rows == 0:
        return []
    try:
        entries = ancestry(table, id_, max_depth)
    except LineageLookupError:
        return []
    sketch = []
    for entry in entries:
        objectives = entry.get("objectives") or []
        score = objectives[score_index] if len(objectives) > score_index else None
        try:
            pretty = primitives.compile(str(entry["expression"])).pretty
        except primitives.ExpressionError:
            pretty = str(entry["expression"])
        sketch.append(
            {
                "depth": entry["depth"],
                "id": entry["id"],
                "generation": entry["generation"],
                "operator": entry["operator"],
                "score": finite_or_none(score),
                "pretty": pretty,
            }
        )
    return sketch
