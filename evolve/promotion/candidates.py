"""One hall-of-fame candidate through the gauntlet: its holdout replay, evidence and gates.

:func:`~evolve.promotion.analysis.analyse_candidate` runs everything that depends on the candidate
alone (the holdout and whole-timeline replays, the evaluator on every segment);
:mod:`evolve.promotion.robustness` adds cost stress, perturbation and concentration. **One holdout
path feeds every gate**: the holdout :class:`~evolve.promotion.replays.Replay` (float64 daily
returns on the evaluator's day grid, its trades and bar P&L) is what DSR, PSR, drawdown, SPA, the
null percentile, cost stress, minimum trades, concentration and the correlation stream read. The
evaluator's holdout row (``evaluate(include_holdout=True)``) is only reported (metrics table, fold
table, the promoted spec's ``metrics.holdout``), never gated. The run-level numbers (N_eff, V[SR_n],
PBO, SPA, the null model) arrive in a ``SearchContext``, and :func:`candidate_gates` turns both into
frozen :class:`~evolve.promotion.gauntlet.Gate` records and a :class:`CandidateEvidence`. The
correlation gate is added by the caller, which knows what was promoted before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

import primitives
from evolve.numbers import finite_or_none
from evolve.promotion import gauntlet, replays, selection
from evolve.promotion.analysis import CandidateAnalysis, SearchContext
from evolve.promotion.confirmation import ConfirmationLevel
from evolve.promotion.gauntlet import Gate, PerTradeStatistics
from evolve.promotion.robustness import (
    ConcentrationEvidence,
    CostStressPoint,
    FundingFlip,
    PerturbationEvidence,
    concentration,
    cost_stress,
    funding_flip,
    perturbation,
)
from evolve.promotion.seeds import SeedPurpose, stable_seed
from fitness.stats.sharpe import SampleMoments, deflated_sharpe_ratio, expected_max_sharpe
from populations import LineageLookupError, ancestry

if TYPE_CHECKING:
    import pyarrow as pa


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
        *(
            [gauntlet.pbo_gate(context.pbo, config.pbo_max, context.pbo_detail)]
            if config.pbo_max is not None
            else []
        ),
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
