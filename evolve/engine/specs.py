"""The strategy specs (DESIGN §3) of the hall of fame, built from its strategy records.

Every field comes from the member's ``populations.Member`` record — the evaluation it was
given when it was made (expression, pretty form, look-back, train/validation metrics, fold
table), its penalised objectives and, once probed, its stability — so building a spec
evaluates and compiles nothing. Specs are rebuilt from the records every generation; the
records round-trip exactly through checkpoints, so a resumed run writes byte-identical
``hall_of_fame.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fitness import SegmentRow
from populations import Member, StrategySpec
from primitives import PSET_VERSION

if TYPE_CHECKING:
    from evolve.config import RunConfig
    from evolve.engine.inputs import MarketInputs
    from evolve.engine.state import EngineState


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]  # any object: float() raises, caught below
    except (TypeError, ValueError):
        return math.nan


def _metric_dict(values: Mapping[str, Any] | None) -> dict[str, float]:
    if not values:
        return {}
    return {str(key): _number(value) for key, value in values.items()}


def _fold_row(row: SegmentRow) -> dict[str, object]:
    cells: dict[str, object] = {
        "segment": str(row.segment),
        "kind": str(row.kind),
        "symbol": str(row.symbol),
    }
    cells.update(_metric_dict(row.metrics))
    return cells


def build_spec(
    member: Member,
    *,
    objective_names: Sequence[str],
    costs: Mapping[str, object],
    data: Mapping[str, object],
    run_id: str,
) -> StrategySpec:
    """Return the strategy spec of one hall-of-fame member (``state = "candidate"``)."""
    evaluation = member.evaluation
    return StrategySpec(
        id=member.id,
        expression=member.text,
        pretty=str(evaluation.pretty),
        primitive_set_version=PSET_VERSION,
        lookback_bars=int(evaluation.lookback_bars),
        objective_names=list(objective_names),
        objectives=list(member.penalized),
        metrics={
            "train": _metric_dict(evaluation.train),
            "validation": _metric_dict(evaluation.validation),
        },
        fold_table=[_fold_row(row) for row in evaluation.table],
        stability=member.stability,
        costs=dict(costs),
        data=dict(data),
        run_id=run_id,
        generation=member.generation,
        state="candidate",
    )


def hall_of_fame_specs(
    state: EngineState, config: RunConfig, inputs: MarketInputs, run_id: str
) -> list[StrategySpec]:
    """Return the specs of the hall of fame's members, best first (``hall_of_fame.json``)."""
    data = {
        "timeframe": inputs.timeframe,
        "symbols": inputs.symbols,
        "datasets": [
            {key: record[key] for key in ("name", "symbol", "content_hash")}
            for record in inputs.datasets
        ],
    }
    costs = config.costs.model_dump(mode="json")
    names = list(config.objectives.names)
    return [
        build_spec(member, objective_names=names, costs=costs, data=data, run_id=run_id)
        for member in state.hall.members()
    ]
