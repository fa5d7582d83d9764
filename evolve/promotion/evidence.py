"""Assemble the promotion evidence document (``promotion.json``) from the gauntlet's results.

The document is the contract the review report renders (``evolve.reports.html_page``) plus the
DESIGN §4 ``decisions`` list external code reads. :func:`json_ready` makes it plain JSON:
numpy scalars become Python numbers, tuples lists, and non-finite floats ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from evolve.config.promotion_config import PromotionConfig
from evolve.numbers import finite_or_none
from evolve.promotion import replays
from evolve.promotion.analysis import CandidateAnalysis, SearchContext
from evolve.promotion.candidates import CandidateEvidence
from evolve.promotion.gauntlet import CorrelationResult, Gate, failed_names
from evolve.promotion.replays import holdout_span, timeline_span

if TYPE_CHECKING:
    from evolve.promotion.run_inputs import RunInputs

SCHEMA_VERSION = 3

EVIDENCE_FILE = "promotion.json"


def json_ready(value: Any) -> Any:
    """Return ``value`` as plain JSON data; NaN and ±inf become None."""
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [json_ready(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(value)
    return value


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fold_table(analysis: CandidateAnalysis) -> list[dict[str, Any]]:
    return [
        {"segment": row.segment, "kind": row.kind, "symbol": row.symbol, **row.metrics}
        for row in analysis.evaluation.table
    ]


@dataclass(frozen=True, slots=True, eq=False)
class CandidateDecision:
    """A candidate's verdict: its ordered gates (correlation included) and its evidence.

    ``promoted`` and ``failed`` are derived from the gates, never stored beside them.
    """

    analysis: CandidateAnalysis
    gates: tuple[Gate, ...]
    evidence: CandidateEvidence
    correlation: CorrelationResult
    lineage: tuple[Mapping[str, Any], ...]

    @property
    def failed(self) -> list[str]:
        """Return the names of the failed gates, in gate order."""
        return failed_names(self.gates)

    @property
    def promoted(self) -> bool:
        """Return whether every gate passed."""
        return not self.failed

    def decision(self) -> dict[str, Any]:
        """Return the DESIGN §4 ``decisions[]`` entry: id, promoted, gates (4 keys each)."""
        return {
            "id": self.analysis.spec.id,
            "promoted": self.promoted,
            "gates": [gate.decision() for gate in self.gates],
        }


def candidate_entry(decision: CandidateDecision, context: SearchContext) -> dict[str, Any]:
    """Return a candidate's evidence entry (the report's per-candidate section)."""
    analysis, failed = decision.analysis, decision.failed
    spec = analysis.spec
    start_ms, _ = timeline_span(context.market)
    bucket_ms = replays.day_bucket_ms(context.market)
    holdout_metrics = dict(analysis.evaluation.holdout or {})
    return {
        "id": spec.id,
        "expression": spec.expression,
        "pretty": spec.pretty,
        "promoted": not failed,
        "rank": analysis.rank,
        "generation": spec.generation,
        "lookback_bars": spec.lookback_bars,
        "objectives": dict(zip(spec.objective_names, spec.objectives, strict=True)),
        "gates": [gate.evidence() for gate in decision.gates],
        "failed": failed,
        "metrics": {
            "train": dict(spec.metrics.get("train", {})),
            "validation": dict(spec.metrics.get("validation", {})),
            "holdout": holdout_metrics,
        },
        "fold_table": _fold_table(analysis),
        "curve": replays.curve(analysis.timeline.daily_returns, start_ms, bucket_ms),
        "buy_and_hold": replays.curve(
            replays.buy_and_hold_daily(context.market, *timeline_span(context.market)),
            start_ms,
            bucket_ms,
        ),
        **decision.evidence.evidence(),
        "correlation": decision.correlation.evidence(),
        "lineage": [dict(step) for step in decision.lineage],
        "spec_path": f"promoted/{spec.id}.json" if not failed else None,
    }


def _datasets(run: RunInputs) -> list[dict[str, Any]]:
    return [
        {
            "name": record["name"],
            "symbol": record["symbol"],
            "timeframe": record["timeframe"],
            "content_hash": record["content_hash"],
            "first": _iso(int(series.timestamp[0])),
            "last": _iso(int(series.timestamp[-1])),
            "n_bars": len(series),
        }
        for record, series in zip(run.inputs.datasets, run.inputs.market.series, strict=True)
    ]


def _segments(run: RunInputs) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "kind": c.kind, "start_ms": c.start_ms, "stop_ms": c.stop_ms}
        for c in run.inputs.market.timeline.calendar
    ]


def _summary(decisions: Sequence[CandidateDecision]) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    for decision in decisions:
        for name in decision.failed:
            reasons[name] = reasons.get(name, 0) + 1
    return {
        "n_candidates": len(decisions),
        "n_promoted": sum(1 for decision in decisions if decision.promoted),
        "promoted": [d.analysis.spec.id for d in decisions if d.promoted],
        "reasons": dict(sorted(reasons.items())),
    }


def _baselines(context: SearchContext) -> dict[str, Any]:
    # issue 10: the verdict is read beside what the market paid anyone on the same holdout
    span = holdout_span(context.market)
    return {
        "buy_and_hold": replays.baseline_block(
            replays.buy_and_hold_daily(context.market, *span),
            "equal-weight long of every symbol, no costs",
        ),
        "funding_carry": replays.baseline_block(
            replays.funding_carry_daily(context.market, *span),
            "delta-neutral short perpetual earning each settled funding rate; no fees or basis",
        ),
    }


def build_evidence(
    run: RunInputs,
    config: PromotionConfig,
    search: Mapping[str, Any],
    context: SearchContext,
    decisions: Sequence[CandidateDecision],
    now: datetime,
) -> dict[str, Any]:
    """Return the whole evidence document (not yet :func:`json_ready`)."""
    manifest = run.manifest
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": manifest.run_id,
        "seed": manifest.seed,
        "promotion_seed": config.seed,
        "config_hash": manifest.config_hash,
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "package_versions": dict(manifest.package_versions),
        "data": _datasets(run),
        "segments": _segments(run),
        "thresholds": config.thresholds(),
        "promotion_config": config.model_dump(mode="json"),
        "search": dict(search),
        "baselines": _baselines(context),
        "clusters": [cluster.evidence() for cluster in context.clusters],
        "candidates": [candidate_entry(decision, context) for decision in decisions],
        "summary": _summary(decisions),
        # DESIGN §4: external code reads exactly these keys
        "decisions": [decision.decision() for decision in decisions],
    }
