"""``evolve promote``: take a run's hall of fame through the gauntlet, once, on the holdout.

Order: open the run (finished, with a hall of fame) -> reload its datasets from config.toml and
refuse when a content hash differs from run.json -> the run's trials (N_eff, V[SR_n]) -> each
candidate evaluated on every segment including the holdout and replayed -> PBO over the whole
timeline, SPA on the holdout -> optionally the null model -> every candidate's gates, then the
correlation gate greedily, simplest first (fewest nodes, then rank; against strategies promoted
earlier in this pass and any other spec already in ``promoted/``) -> outputs, each written
atomically and in this order: ``promotion.json`` (the evidence document plus the DESIGN §4
``decisions``), then
``promoted/<id>.json`` (state "promoted", holdout metrics added; a spec of this run that is now
rejected is removed), then ``report.html`` and ``promotion.md``. Events ``promotion_started``
and ``promotion_finished`` (or ``promotion_failed``) go to the run's events.jsonl. Seeds come
from ``PromotionConfig.seed``: re-running gives the same bytes but ``generated_at``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import primitives
from evolve.config.promotion_config import PromotionConfig
from evolve.engine.loop import score_index_of
from evolve.promotion import gauntlet, replays
from evolve.promotion.analysis import (
    CandidateAnalysis,
    SearchContext,
    analyse_candidate,
    promotion_stream,
)
from evolve.promotion.candidates import candidate_gates, dsr_sample, lineage_sketch
from evolve.promotion.confirmation import cluster_candidates, confirmation_levels
from evolve.promotion.evidence import (
    EVIDENCE_FILE,
    CandidateDecision,
    build_evidence,
    json_ready,
)
from evolve.promotion.replays import holdout_span, timeline_span
from evolve.promotion.run_inputs import RunInputs, open_run
from evolve.promotion.search import (
    distinct_columns,
    extra_pbo_trials,
    pbo_block,
    spa_block,
    trial_statistics,
)
from evolve.promotion.selection import stitched_trials
from fitness import evaluate
from fitness.data.atomic import write_text_atomic
from populations import (
    EventLog,
    RunDir,
    SpecError,
    StrategySpec,
    load_spec,
    save_spec,
)

logger = logging.getLogger(__name__)
PBO_EXTRA_FACTOR = 4  # lineage trials looked at per missing PBO column (near-copies skipped)


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What ``promote_run`` decided and wrote."""

    run_dir: RunDir
    n_candidates: int
    promoted: tuple[str, ...]
    evidence_path: Path
    elapsed_seconds: float
    evidence: dict[str, Any]


def _pbo(
    run: RunInputs,
    analyses: list[CandidateAnalysis],
    config: PromotionConfig,
    memo: primitives.Memo,
) -> dict[str, Any]:
    # one column per distinct strategy: candidates in rank order, then the best further lineage
    # trials, near-duplicates (pre-holdout correlation >= cluster_correlation_min) dropped
    market = run.inputs.market
    start, _ = timeline_span(market)
    n_days = (holdout_span(market)[0] - start) // replays.day_bucket_ms(market)
    threshold = config.cluster_correlation_min
    columns = [analysis.timeline.daily_returns for analysis in analyses]
    kept = distinct_columns(columns, n_days, threshold)
    columns = [columns[k] for k in kept]
    n_candidates = len(columns)
    missing = config.pbo_min_strategies - n_candidates
    extras = extra_pbo_trials(
        run.lineage,
        {a.spec.id for a in analyses},
        {a.evaluation.semantic_hash for a in analyses},
        PBO_EXTRA_FACTOR * missing,
        score_index_of(run.config),
    )
    n_lineage = 0
    for _, expression in extras:
        if n_lineage >= missing:
            break
        targets = replays.strategy_targets(expression, market, memo)
        column = replays.replay(targets, market, run.config.costs, *timeline_span(market))
        if len(distinct_columns([*columns, column.daily_returns], n_days, threshold)) > len(
            columns
        ):
            columns.append(column.daily_returns)
            n_lineage += 1
    block = pbo_block(np.column_stack(columns), config, n_candidates)
    block["n_lineage_trials"] = n_lineage
    block["n_near_duplicates_dropped"] = len(analyses) - n_candidates
    block["distinct_correlation"] = threshold
    return block


def _pbo_detail(block: dict[str, Any]) -> str:
    if block["value"] is None:
        return f"not computable: {block.get('reason', '')}"
    return (
        f"CSCV, S={block['n_blocks']} blocks of {block['n_days'] // block['n_blocks']} days, "
        f"{block['n_strategies']} distinct strategies ({block['n_candidates']} candidates + "
        f"{block['n_lineage_trials']} lineage trials; near-duplicates at pre-holdout "
        f"correlation >= {block['distinct_correlation']:g} count once), daily returns over the "
        "whole timeline"
    )


def _promoted_elsewhere(
    run: RunInputs, candidate_ids: set[str], memo: primitives.Memo
) -> dict[str, np.ndarray]:
    # specs already in promoted/ that this run's candidates are not (re-runs decide their own);
    # their streams take the candidates' path: evaluator validation + holdout replay
    streams: dict[str, np.ndarray] = {}
    directory = run.run_dir.promoted_dir
    if not directory.is_dir():
        return streams
    market, fitness = run.inputs.market, run.config.fitness()
    for path in sorted(directory.glob("*.json")):
        spec = load_spec(path)
        if spec.id in candidate_ids:
            continue
        try:
            evaluation = evaluate(spec.expression, market, fitness, memo=memo)
            targets = replays.strategy_targets(spec.expression, market, memo)
        except primitives.ExpressionError as e:
            raise SpecError(
                f"{path}: cannot evaluate its expression on this run's data: {e}"
            ) from e
        holdout = replays.replay(targets, market, fitness.costs, *holdout_span(market))
        streams[spec.id] = promotion_stream(evaluation.validation_returns, holdout)
    return streams


def _decide(
    analyses: list[CandidateAnalysis],
    context: SearchContext,
    run: RunInputs,
    memo: primitives.Memo,
) -> list[CandidateDecision]:
    promoted = _promoted_elsewhere(run, {a.spec.id for a in analyses}, memo)
    decisions: dict[int, CandidateDecision] = {}
    # the correlation gate is greedy: the simplest strategy (fewest nodes, then rank) claims
    # its place first, so of two correlated survivors the simpler one is promoted (parsimony;
    # node counts are holdout-free). Decisions are still listed in rank order.
    for index in correlation_order(analyses):
        analysis = analyses[index]
        gates, evidence = candidate_gates(analysis, context)
        correlation_gate, correlation = gauntlet.correlation_gate(
            analysis.stream, promoted, context.config.correlation_max
        )
        sketch = lineage_sketch(
            run.lineage, analysis.spec.id, context.config.max_lineage_depth, context.score_index
        )
        decision = CandidateDecision(
            analysis,
            tuple(gauntlet.order_gates([*gates, correlation_gate])),
            evidence,
            correlation,
            tuple(sketch),
        )
        if decision.promoted:
            promoted[analysis.spec.id] = analysis.stream
        decisions[index] = decision
    return [decisions[index] for index in range(len(analyses))]


def correlation_order(analyses: Sequence[CandidateAnalysis]) -> list[int]:
    """Return the indices of ``analyses`` in the correlation gate's order: fewest nodes, rank."""
    return sorted(
        range(len(analyses)),
        key=lambda i: (analyses[i].evaluation.n_nodes, analyses[i].rank),
    )


def _write_promoted(run_dir: RunDir, decisions: list[CandidateDecision]) -> None:
    run_dir.promoted_dir.mkdir(exist_ok=True)
    for decision in decisions:
        analysis = decision.analysis
        path = run_dir.promoted_dir / f"{analysis.spec.id}.json"
        if not decision.promoted:
            if path.is_file() and load_spec(path).run_id == analysis.spec.run_id:
                path.unlink()  # rejected now: the executor must not find it
                logger.info("removed %s: rejected on this promotion pass", path)
            continue
        values = analysis.spec.to_dict()
        holdout = {k: float(v) for k, v in (analysis.evaluation.holdout or {}).items()}
        values["metrics"] = {**values["metrics"], "holdout": holdout}
        save_spec(StrategySpec.model_validate(values).with_state("promoted"), path)


def promote_run(
    run_dir: Path | RunDir,
    config: PromotionConfig | None = None,
    *,
    null_runs: int | None = None,
    workers: int = 1,
    now: datetime | None = None,
) -> PromotionResult:
    """Run the promotion gauntlet on a finished run and write its decisions and promoted specs.

    The review report is rendered from the returned evidence by ``evolve.reports``.

    Parameters
    ----------
    run_dir : Path or RunDir
        The run directory (holding run.json).
    config : PromotionConfig, optional
        Thresholds and budgets (default: the defaults).
    null_runs : int, optional
        Surrogate searches of the null model; overrides ``config.null_runs``.
    workers : int
        Evaluation workers of the null-model searches (1 = in-process).
    now : datetime, optional
        The ``generated_at`` time (default: now, UTC).

    Raises
    ------
    RunDirError, DataError, SpecError, ConfigError
        Input problems (exit code 2), each naming the file or dataset.
    """
    started = time.perf_counter()
    config = config or PromotionConfig()
    if null_runs is not None:
        config = PromotionConfig.model_validate({**config.model_dump(), "null_runs": null_runs})
    run = open_run(run_dir)
    events = EventLog(run.run_dir.events_path)
    events.write("promotion_started", n_candidates=len(run.candidates), null_runs=config.null_runs)
    try:
        evidence, decisions = _gauntlet(run, config, workers, now or datetime.now(UTC))
        evidence_path = _write_outputs(run, evidence, decisions)
    except BaseException as e:
        events.write("promotion_failed", error=repr(e))
        raise
    promoted = tuple(evidence["summary"]["promoted"])
    elapsed = time.perf_counter() - started
    events.write(
        "promotion_finished",
        n_candidates=len(evidence["candidates"]),
        n_promoted=len(promoted),
        promoted=list(promoted),
        evidence=str(evidence_path),
        elapsed_seconds=round(elapsed, 3),
    )
    return PromotionResult(
        run.run_dir, len(evidence["candidates"]), promoted, evidence_path, elapsed, evidence
    )


def _gauntlet(
    run: RunInputs, config: PromotionConfig, workers: int, now: datetime
) -> tuple[dict[str, Any], list[CandidateDecision]]:
    market, fitness = run.inputs.market, run.config.fitness()
    holdout_span(market)  # a run without a holdout cannot be promoted: fail before the work
    memo = primitives.Memo()
    analyses = [
        analyse_candidate(spec, rank, market, fitness, memo)
        for rank, spec in enumerate(run.candidates, start=1)
    ]
    trials = trial_statistics(run.lineage, config)
    stitched = stitched_trials(run.lineage, trials.leader_ids, market, run.config.costs, memo)
    pbo = _pbo(run, analyses, config, memo)
    holdout_matrix = np.column_stack([a.holdout_returns for a in analyses])
    buy_and_hold = replays.buy_and_hold_daily(market, *holdout_span(market))
    spa, spa_candidates = spa_block(holdout_matrix, buy_and_hold[: holdout_matrix.shape[0]], config)
    null_model = None
    if config.null_runs > 0:
        from evolve.promotion.null_model import run_null_model

        null_model = run_null_model(run.run_dir, run.config, config, workers=workers)
    clusters = cluster_candidates(
        [a.spec.id for a in analyses],
        [a.evaluation.validation_returns for a in analyses],
        config.cluster_correlation_min,
    )
    holdout_psr = {a.spec.id: gauntlet.psr_gate(a.moments, config.psr_min).value for a in analyses}
    stitched_variance = stitched.variance(config.sharpe_variance)
    taken = None
    if config.confirmation_family == "selected":
        variance = (
            trials.sharpe_variance if config.selection_sample == "validation" else stitched_variance
        )
        taken = _selected(analyses, config, trials.n_effective, variance)
    levels = confirmation_levels(
        clusters, holdout_psr, 1.0 - config.psr_min, config.confirmation_method, taken
    )
    context = SearchContext(
        market=market,
        fitness=fitness,
        config=config,
        n_effective=trials.n_effective,
        sharpe_variance=trials.sharpe_variance,
        pbo=pbo["value"],
        pbo_detail=_pbo_detail(pbo),
        spa_search={k: v.get("p_consistent") for k, v in spa["benchmark"].items()},
        spa_candidates=spa_candidates,
        null_draws=None if null_model is None else null_model["best_holdout_sharpes"],
        score_index=score_index_of(run.config),
        sharpe_variance_trials=trials.sharpe_variance_trials,
        levels=levels,
        clusters=clusters,
        stitched_variance=stitched_variance,
    )
    decisions = _decide(analyses, context, run, memo)
    search = {
        **trials.block,
        "stitched": stitched.block(trials.n_effective, config.sharpe_variance),
        "selection_sample": config.selection_sample,
        "pbo": pbo,
        "spa": spa,
        "null_model": null_model,
    }
    document = build_evidence(run, config, search, context, decisions, now)
    return json_ready(document), decisions


def _selected(
    analyses: Sequence[CandidateAnalysis],
    config: PromotionConfig,
    n_effective: float,
    variance: float,
) -> set[str]:
    """Return the ids of the candidates that pass the selection stage (taken to the holdout)."""
    sample = config.selection_sample
    return {
        a.spec.id
        for a in analyses
        if gauntlet.dsr_gate(dsr_sample(a, sample), n_effective, variance, config.dsr_min).passed
    }


def _write_outputs(
    run: RunInputs, evidence: dict[str, Any], decisions: list[CandidateDecision]
) -> Path:
    # the decision record first: a crash must never leave a promoted spec without its evidence
    evidence_path = run.run_dir.path / EVIDENCE_FILE
    write_text_atomic(evidence_path, json.dumps(evidence, indent=1, allow_nan=False) + "\n")
    _write_promoted(run.run_dir, decisions)
    return evidence_path


def summary_line(result: PromotionResult) -> str:
    """Return "promoted N of M candidates of run X" (for the command line)."""
    return (
        f"promoted {len(result.promoted)} of {result.n_candidates} candidate"
        f"{'s' if result.n_candidates != 1 else ''} of run {result.run_dir.run_id}"
    )
