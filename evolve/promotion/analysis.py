"""One candidate's analysis: its holdout and whole-timeline replays and the evaluator's run.

:func:`analyse_candidate` runs everything that depends on the candidate alone: the holdout and
whole-timeline replays, the stitched selection-sample replay and the evaluator on every
segment (the holdout row only reported). The run-level numbers (N_eff, V[SR_n], PBO, SPA, the
null model, the confirmation levels) arrive in a :class:`SearchContext`; both feed
:func:`evolve.promotion.candidates.candidate_gates`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

import primitives
from evolve.config.promotion_config import PromotionConfig
from evolve.promotion import gauntlet, replays, selection
from evolve.promotion.confirmation import Cluster, ConfirmationLevel
from evolve.promotion.replays import holdout_span, timeline_span
from fitness import Evaluation, FitnessConfig, Market, evaluate
from fitness.stats.sharpe import SampleMoments
from populations import StrategySpec
from primitives.arrays import Float64Array


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
    levels: Mapping[str, ConfirmationLevel] = field(default_factory=dict)
    clusters: tuple[Cluster, ...] = ()
    stitched_variance: float = math.nan

    def selection_variance(self, sample: str) -> float:
        """Return V[SR_n] of the selection ``sample`` ("validation" or "stitched")."""
        return self.sharpe_variance if sample == "validation" else self.stitched_variance


@dataclass(frozen=True, slots=True, eq=False)
class CandidateAnalysis:
    """A candidate's evaluation (holdout included, reported only) and replays.

    Attributes
    ----------
    holdout : Replay
        The one holdout backtest every gate reads.
    moments : SampleMoments or None
        Of ``holdout.daily_returns`` (None: fewer than 2 days).
    stream : ndarray of float64
        Validation (evaluator) then holdout (replay) daily returns: what correlations use.
    stitched : ndarray of float64
        Daily returns replayed from the first discovery bar to the end of validation (the
        stitched selection sample; empty without a validation segment).
    """

    spec: StrategySpec
    rank: int
    evaluation: Evaluation
    targets: list[Float64Array]
    holdout: replays.Replay
    timeline: replays.Replay
    moments: SampleMoments | None
    stream: Float64Array
    stitched: Float64Array

    @property
    def holdout_returns(self) -> Float64Array:
        """Return the holdout daily returns every gate reads (the replay's)."""
        return self.holdout.daily_returns


def promotion_stream(
    validation_returns: Sequence[float] | Float64Array, holdout: replays.Replay
) -> Float64Array:
    """Return validation then holdout daily returns (float64): a strategy's correlation stream."""
    return np.concatenate([np.asarray(validation_returns, dtype=np.float64), holdout.daily_returns])


def analyse_candidate(
    spec: StrategySpec,
    rank: int,
    market: Market,
    fitness: FitnessConfig,
    memo: primitives.Memo | None = None,
) -> CandidateAnalysis:
    """Replay a candidate on the holdout and the whole timeline, and evaluate every segment."""
    evaluation = evaluate(spec.expression, market, fitness, include_holdout=True, memo=memo)
    targets = replays.strategy_targets(spec.expression, market, memo)
    holdout = replays.replay(targets, market, fitness.costs, *holdout_span(market))
    timeline = replays.replay(targets, market, fitness.costs, *timeline_span(market))
    stream = promotion_stream(evaluation.validation_returns, holdout)
    moments = gauntlet.return_moments(holdout.daily_returns)
    stitched = (
        selection.stitched_returns(targets, market, fitness.costs)
        if selection.has_validation(market)
        else np.zeros(0)
    )
    return CandidateAnalysis(
        spec, rank, evaluation, targets, holdout, timeline, moments, stream, stitched
    )
