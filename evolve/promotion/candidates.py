"""One hall-of-fame candidate through the gauntlet: its holdout replay, evidence and gates.

:func:`analyse_candidate` runs everything that depends on the candidate alone: the holdout and
whole-timeline replays and the evaluator on every segment. **One holdout path feeds every
gate**: the holdout :class:`~evolve.promotion.replays.Replay` (float64 daily returns on the
evaluator's day grid, its trades and bar P&L) is what DSR, PSR, drawdown, SPA, the null
percentile, cost stress, minimum trades, concentration and the correlation stream read. The
evaluator's holdout row (``evaluate(include_holdout=True)``) is only reported (metrics table,
fold table, the promoted spec's ``metrics.holdout``), never gated. The run-level numbers (N_eff,
V[SR_n], PBO, SPA, the null model) arrive in a :class:`SearchContext`, and
:func:`candidate_gates` turns both into frozen :class:`~evolve.promotion.gauntlet.Gate` records
and a :class:`CandidateEvidence`. The correlation gate is added by the caller, which knows what
was promoted before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

import primitives
from evolve.config.promotion_config import PromotionConfig
from evolve.errors import NoHoldoutError
from evolve.numbers import finite_or_none
from evolve.promotion import gauntlet, replays, selection
from evolve.promotion.confirmation import Cluster, ConfirmationLevel
from evolve.promotion.gauntlet import ConcentrationShares, Gate, PerTradeStatistics
from evolve.promotion.seeds import SeedPurpose, stable_seed
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


def holdout_span(market: Market) -> tuple[int, int]:
    """Return the holdout's calendar span ``(start_ms, stop_ms)``.

    Raises
    ------
    NoHoldoutError
        If the run's fold config has no holdout (``holdout_fraction = 0``).
    """
    holdout = [c for c in market.timeline.calendar if c.kind == "holdout"]
    if not holdout:
        raise NoHoldoutError(
            "folds.holdout_fraction: the run has no holdout (holdout_fraction = 0), so nothing "
            "was kept out of evolution to test it on; promotion needs a holdout, found none: "
            "start a new run with holdout_fraction > 0 (e.g. 0.2)"
        )
    return holdout[0].start_ms, holdout[0].stop_ms


def promotion_stream(
    validation_returns: Sequence[float] | Float64Array, holdout: replays.Replay
) -> Float64Array:
    """Return validation then holdout daily returns (float64): a strategy's correlation stream."""
    return np.concatenate([np.asarray(validation_returns, dtype=np.float64), holdout.daily_returns])


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


@dataclass(frozen=True, slots=True)
class HoldoutStatistics:
    """A candidate's statistics (the ``statistics`` block of its evidence); per day unless named.

    Every holdout number here is of the one holdout replay; ``validation_*`` of the evaluator's
    validation record (the trial record N_eff and V[SR_n] come from); ``stitched_*`` of the
    replay from the first discovery bar to the end of validation (both selection samples are
    reported, the configured one is gated).
    """

    holdout_daily_sharpe: float | None
    dsr_trials_variance: float | None
    n_days: int | None
    skew: float | None
    kurtosis: float | None
    sr0: float | None
    validation_daily_sharpe: float | None
    validation_dsr: float | None
    stitched_daily_sharpe: float | None
    stitched_dsr: float | None
    holdout_return: float
    holdout_annual_sharpe: float | None
    null_percentile: float | None
    psr: float | None
    dsr: float | None
    min_trl_trades: float | None
    n_holdout_trades: int
    sharpe_per_trade: float | None
    bootstrap_drawdown_p95: float | None


@dataclass(frozen=True, slots=True)
class SelectionStage:
    """The selection stage: the DSR on the sample the hall of fame was selected on (per day)."""

    sample: str
    dsr: float | None
    sharpe_daily: float | None
    n_days: int
    sr0_daily: float | None


@dataclass(frozen=True, slots=True)
class ConfirmationStage:
    """The confirmation stage: holdout PSR(0) at the family-wise corrected level."""

    sample: str
    psr: float | None
    alpha: float
    corrected_alpha: float
    n_clusters: int
    method: str


@dataclass(frozen=True, slots=True)
class CandidateEvidence:
    """Everything measured on a candidate besides its gates (built once, never changed)."""

    statistics: HoldoutStatistics
    cost_stress: tuple[CostStressPoint, ...]
    funding_flip: FundingFlip
    perturbation: PerturbationEvidence
    legs: Mapping[str, Mapping[str, float | int | None]]
    concentration: ConcentrationEvidence
    cluster: int = 0
    selection: SelectionStage | None = None
    confirmation: ConfirmationStage | None = None

    def evidence(self) -> dict[str, Any]:
        """Return the candidate's evidence blocks as promotion.json holds them."""
        return {
            "statistics": asdict(self.statistics),
            "cost_stress": [asdict(point) for point in self.cost_stress],
            "funding_flip": asdict(self.funding_flip),
            "perturbation": {**asdict(self.perturbation), "scores": list(self.perturbation.scores)},
            "legs": {side: dict(leg) for side, leg in self.legs.items()},
            "concentration": self.concentration.evidence(),
            "cluster": self.cluster,
            "stage": {
                "selection": None if self.selection is None else asdict(self.selection),
                "confirmation": None if self.confirmation is None else asdict(self.confirmation),
            },
        }


def _sr_zero(n_effective: float, variance: float) -> float | None:
    if n_effective >= 1.0 and math.isfinite(variance):
        return expected_max_sharpe(n_effective, max(variance, 0.0))
    return None


def _sample_dsr(moments: SampleMoments | None, n_effective: float, variance: float) -> float | None:
    if moments is None or _sr_zero(n_effective, variance) is None:
        return None
    return deflated_sharpe_ratio(
        moments.sharpe,
        moments.n_obs,
        moments.skew,
        moments.kurtosis,
        n_effective,
        max(variance, 0.0),
    )


def _spa_gates(analysis: CandidateAnalysis, context: SearchContext) -> list[Gate]:
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


def dsr_sample(analysis: CandidateAnalysis, sample: str = "validation") -> SampleMoments | None:
    """Return the moments of the sample the selection-stage DSR judges.

    ``"validation"``: the evaluator's daily validation returns; ``"stitched"``: the replay
    from the first discovery bar to the end of validation (:mod:`evolve.promotion.selection`).
    The hall of fame was selected there, so the deflated Sharpe belongs there (STATISTICS.md
    §9); the holdout is judged by the confirmation stage. None when the returns are constant
    (no trades there): no selection evidence to deflate.
    """
    if sample == "validation":
        values = np.asarray(analysis.evaluation.validation_returns, dtype=np.float64)
    elif sample == "stitched":
        values = analysis.stitched
    else:
        raise ValueError(f"dsr_sample: sample: expected validation or stitched, found {sample!r}")
    return selection.moments_or_none(values)


def confirmation_level(analysis: CandidateAnalysis, context: SearchContext) -> ConfirmationLevel:
    """Return the candidate's confirmation level (uncorrected when it has none: one cluster)."""
    level = context.levels.get(analysis.spec.id)
    if level is not None:
        return level
    alpha = 1.0 - context.config.psr_min
    return ConfirmationLevel(0, alpha, alpha, 1, context.config.confirmation_method)


def candidate_gates(
    analysis: CandidateAnalysis, context: SearchContext
) -> tuple[list[Gate], CandidateEvidence]:
    """Return every gate of a candidate but the correlation gate, and its evidence.

    Two stages, each on its own sample: ``dsr`` (selection) on the configured selection sample
    (``selection_sample``: the stitched discovery+validation record or validation) with the
    search's N_eff and that sample's V[SR_n]; ``psr`` (confirmation) on the holdout replay at the
    family-wise corrected level of the candidate's cluster. Every other gate reads the one
    holdout replay; adding or changing a gate is one line below plus its function in
    :mod:`evolve.promotion.gauntlet`.
    """
    config = context.config
    sample = config.selection_sample
    chosen = dsr_sample(analysis, sample)
    variance = context.selection_variance(sample)
    dsr = gauntlet.dsr_gate(
        chosen, context.n_effective, variance, config.dsr_min, selection.SAMPLE_NAMES[sample]
    )
    level = confirmation_level(analysis, context)
    correction = (
        f"{level.method.capitalize()} over {level.n_clusters} candidate cluster(s) taken to "
        f"the holdout: level {level.corrected_alpha:.4g} of family-wise {level.alpha:.4g}"
    )
    veto = None
    if not level.tested:
        correction = (
            f"the strictest level of the {level.n_clusters} cluster(s) taken to the holdout: "
            f"{level.corrected_alpha:.4g}"
        )
        veto = "not taken to the holdout: no member of its cluster passed the selection stage"
    elif not level.representative_confirmed:
        veto = (
            f"its cluster's test failed: representative {level.representative} (the "
            "best-ranked member taken to the holdout) is not confirmed at this level, and a "
            "cluster is one test"
        )
    psr = gauntlet.psr_gate(analysis.moments, level.psr_threshold, correction=correction, veto=veto)
    stress = cost_stress(analysis, context)
    at_gate = next(p for p in stress if p.multiplier == config.cost_stress_multiplier)
    probe = perturbation(analysis, context)
    trades, per_trade = gauntlet.min_trades_gate(
        replays.trade_returns(analysis.holdout), config.min_trl_confidence
    )
    drawdown, drawdown_p = gauntlet.drawdown_gate(
        analysis.holdout_returns,
        config.drawdown_budget,
        stable_seed(config.seed, SeedPurpose.BOOTSTRAP_DRAWDOWN, analysis.spec.id),
        config.bootstrap_samples,
        config.drawdown_quantile,
    )
    concentration_gate, concentration_evidence = concentration(analysis, context)
    percentile, null_gates = None, []
    if context.null_draws is not None:
        percentile = gauntlet.null_percentile(
            None if analysis.moments is None else analysis.moments.sharpe, context.null_draws
        )
        if config.null_percentile_min is not None:
            n_runs = len(context.null_draws)
            null_gates.append(gauntlet.null_gate(percentile, config.null_percentile_min, n_runs))
    gates = [
        dsr,
        psr,
        gauntlet.pbo_gate(context.pbo, config.pbo_max, context.pbo_detail),
        *_spa_gates(analysis, context),
        gauntlet.cost_stress_gate(
            at_gate.holdout_psr,
            at_gate.holdout_return,
            config.cost_stress_multiplier,
            config.cost_stress_psr_min,
        ),
        gauntlet.stability_gate(probe.stability, config.stability_min, probe.source),
        trades,
        drawdown,
        concentration_gate,
        *null_gates,
    ]
    statistics = _statistics(analysis, context, (dsr, psr), per_trade, drawdown_p, percentile)
    evidence = CandidateEvidence(
        statistics=statistics,
        cost_stress=stress,
        funding_flip=funding_flip(analysis, context),
        perturbation=probe,
        legs=replays.legs(analysis.holdout),
        concentration=concentration_evidence,
        cluster=level.cluster,
        selection=SelectionStage(
            selection.SAMPLE_NAMES[sample],
            dsr.value,
            None if chosen is None else chosen.sharpe,
            0 if chosen is None else chosen.n_obs,
            _sr_zero(context.n_effective, variance),
        ),
        confirmation=ConfirmationStage(
            "holdout", psr.value, level.alpha, level.corrected_alpha, level.n_clusters, level.method
        ),
    )
    return gates, evidence


def _statistics(
    analysis: CandidateAnalysis,
    context: SearchContext,
    dsr_psr: tuple[Gate, Gate],
    per_trade: PerTradeStatistics,
    drawdown_p: float | None,
    null_percentile: float | None,
) -> HoldoutStatistics:
    moments, sr_zero = analysis.moments, _sr_zero(context.n_effective, context.sharpe_variance)
    validation = gauntlet.return_moments(analysis.evaluation.validation_returns)
    stitched = dsr_sample(analysis, "stitched")
    # the selection-stage DSR with V[SR_n] = the trials' own dispersion (STATISTICS.md §1.3)
    trials_dsr = gauntlet.dsr_gate(
        validation, context.n_effective, context.sharpe_variance_trials, 0.0
    ).value
    return HoldoutStatistics(
        holdout_daily_sharpe=None if moments is None else moments.sharpe,
        dsr_trials_variance=trials_dsr,
        n_days=None if moments is None else moments.n_obs,
        skew=None if moments is None else moments.skew,
        kurtosis=None if moments is None else moments.kurtosis,
        sr0=sr_zero,
        validation_daily_sharpe=None if validation is None else validation.sharpe,
        validation_dsr=_sample_dsr(validation, context.n_effective, context.sharpe_variance),
        stitched_daily_sharpe=None if stitched is None else stitched.sharpe,
        stitched_dsr=_sample_dsr(stitched, context.n_effective, context.stitched_variance),
        holdout_return=analysis.holdout.total_return,
        holdout_annual_sharpe=replays.annual_sharpe(analysis.holdout_returns),
        null_percentile=null_percentile,
        psr=dsr_psr[1].value,
        dsr=dsr_psr[0].value,
        min_trl_trades=per_trade.min_trl_trades,
        n_holdout_trades=per_trade.n_trades,
        sharpe_per_trade=per_trade.sharpe_per_trade,
        bootstrap_drawdown_p95=drawdown_p,
    )


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
        objectives = cast("Sequence[float]", entry.get("objectives") or [])  # list<double> column
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
