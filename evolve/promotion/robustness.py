"""The robustness evidence of one candidate: cost stress, funding flip, perturbation, concentration.

Each reads the candidate's one holdout path and the run's context (``analysis``'s
:class:`~evolve.promotion.analysis.CandidateAnalysis` and
:class:`~evolve.promotion.analysis.SearchContext`); :func:`concentration` also returns its
gate, and ``candidates.candidate_gates`` turns the rest into gates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evolve.numbers import finite_or_none
from evolve.promotion import gauntlet, replays
from evolve.promotion.analysis import CandidateAnalysis, SearchContext
from evolve.promotion.gauntlet import ConcentrationShares, Gate
from evolve.promotion.replays import holdout_span
from evolve.promotion.seeds import SeedPurpose, stable_seed
from fitness import perturbation_probe


@dataclass(frozen=True, slots=True)
class CostStressPoint:
    """The holdout replayed at ``multiplier``× fees and slippage."""

    multiplier: float
    holdout_sharpe: float | None
    holdout_return: float
    holdout_psr: float | None


@dataclass(frozen=True, slots=True)
class FundingFlip:
    """The holdout replayed with every funding rate negated (reported, not gated)."""

    holdout_sharpe: float | None
    holdout_return: float


@dataclass(frozen=True, slots=True)
class PerturbationEvidence:
    """The gated stability, where it came from, and the probe's scores (the histogram)."""

    own_score: float | None
    scores: tuple[float | None, ...]
    stability: float | None
    probe_stability: float | None
    source: str


def cost_stress(analysis: CandidateAnalysis, context: SearchContext) -> tuple[CostStressPoint, ...]:
    """Return the holdout at 1×–3× fees and slippage (and the gate's multiplier)."""
    multipliers = sorted({*replays.COST_MULTIPLIERS, context.config.cost_stress_multiplier})
    holdout_start, holdout_stop = holdout_span(context.market)
    points = []
    for multiplier in multipliers:
        costs = replays.scaled_costs(context.fitness.costs, multiplier)
        stressed = replays.replay(
            analysis.targets, context.market, costs, holdout_start, holdout_stop
        )
        psr = gauntlet.psr_gate(gauntlet.return_moments(stressed.daily_returns), 0.0).value
        points.append(
            CostStressPoint(
                multiplier,
                replays.annual_sharpe(stressed.daily_returns),
                stressed.total_return,
                psr,
            )
        )
    return tuple(points)


def funding_flip(analysis: CandidateAnalysis, context: SearchContext) -> FundingFlip:
    """Return the holdout with every funding rate negated (reported, not gated)."""
    flipped = replays.replay(
        analysis.targets,
        context.market,
        context.fitness.costs,
        *holdout_span(context.market),
        funding_sign=-1.0,
    )
    return FundingFlip(replays.annual_sharpe(flipped.daily_returns), flipped.total_return)


def perturbation(analysis: CandidateAnalysis, context: SearchContext) -> PerturbationEvidence:
    """Return the stability and the scores of a seeded perturbation probe (the histogram).

    The gated ``stability`` is the hall of fame's (the run's own probe) when the spec has one,
    else this probe's; ``probe_stability`` is always this probe's.
    """
    spec = analysis.spec
    result = perturbation_probe(
        spec.expression,
        context.market,
        context.fitness,
        stable_seed(context.config.seed, SeedPurpose.PERTURBATION_PROBE, spec.id),
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
    return PerturbationEvidence(
        own_score=finite_or_none(result.own_score),
        scores=tuple(finite_or_none(score) for score in result.scores),
        stability=stability,
        probe_stability=finite_or_none(result.stability),
        source=source,
    )


@dataclass(frozen=True, slots=True)
class RegimePnl:
    """One volatility regime's share of the holdout P&L."""

    regime: str
    pnl: float
    share: float | None
    n_bars: int


@dataclass(frozen=True, slots=True)
class ConcentrationEvidence:
    """The shares behind the concentration gate, the monthly P&L and the regimes."""

    shares: ConcentrationShares
    monthly_pnl: tuple[tuple[str, float], ...]
    regimes: tuple[RegimePnl, ...]
    volatility_window_days: int

    def evidence(self) -> dict[str, Any]:
        """Return the evidence block ``concentration`` of promotion.json."""
        return {
            **asdict(self.shares),
            "monthly_pnl": [{"month": month, "pnl": pnl} for month, pnl in self.monthly_pnl],
            "regimes": [asdict(regime) for regime in self.regimes],
            "volatility_window_days": self.volatility_window_days,
        }


def concentration(
    analysis: CandidateAnalysis, context: SearchContext
) -> tuple[Gate, ConcentrationEvidence]:
    """Return the concentration gate and its evidence (monthly and regime P&L, reported)."""
    monthly = replays.monthly_pnl(analysis.holdout)
    regimes = replays.regime_pnl(
        analysis.holdout, context.market, context.config.volatility_window_days
    )
    holdout = analysis.holdout
    bucket_ms = replays.day_bucket_ms(context.market)
    day_starts = holdout.start_ms + np.arange(holdout.n_days, dtype=np.int64) * bucket_ms
    day_months = day_starts.astype("datetime64[ms]").astype("datetime64[M]").astype(str)
    gate, shares = gauntlet.concentration_gate(
        holdout.daily_returns,
        [str(month) for month in day_months],
        monthly,
        [(name, pnl) for name, pnl, _ in regimes],
        replays.trade_returns(holdout),
        context.config.concentration_psr_min,
        context.config.concentration_top_trades,
    )
    total = shares.total_pnl
    evidence = ConcentrationEvidence(
        shares=shares,
        monthly_pnl=tuple(monthly),
        regimes=tuple(
            RegimePnl(name, pnl, pnl / total if total > 0.0 else None, n_bars)
            for name, pnl, n_bars in regimes
        ),
        volatility_window_days=context.config.volatility_window_days,
    )
    return gate, evidence
