"""Hall-of-fame member details (kept in checkpoints) and the strategy specs built from them.

A member's details are plain JSON data taken from its evaluation when it enters the hall of
fame: expression, pretty form, look-back, train/validation metrics, the fold table and, once
probed, the perturbation stability. Specs (DESIGN §3) are rebuilt from the details every
generation, so a resumed run writes byte-identical ``hall_of_fame.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fitness import Evaluation, SegmentRow
from populations import HallOfFameEntry, StrategySpec
from primitives import PSET_VERSION, compile

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


def member_details(evaluation: Evaluation, generation: int) -> dict[str, Any]:
    """Return the JSON details of a new hall-of-fame member from its ``fitness.Evaluation``."""
    strategy = compile(evaluation.text)
    return {
        "id": str(evaluation.id),
        "expression": str(evaluation.text),
        "pretty": str(strategy.pretty),
        "lookback_bars": int(evaluation.lookback_bars),
        "n_nodes": int(evaluation.n_nodes),
        "generation": int(generation),
        "train": _metric_dict(evaluation.train),
        "validation": _metric_dict(evaluation.validation),
        "fold_table": [_fold_row(row) for row in evaluation.table],
        "stability": None,
    }


def validation_sharpe(details: Mapping[str, Any]) -> float:
    """Return a member's annualised validation Sharpe (NaN when it has none)."""
    return _number(details.get("validation", {}).get("sharpe", math.nan))


def validation_trades(details: Mapping[str, Any]) -> float:
    """Return a member's validation trade count (NaN when it has none)."""
    return _number(details.get("validation", {}).get("n_trades", math.nan))


def build_spec(
    entry: HallOfFameEntry,
    details: Mapping[str, Any],
    *,
    objective_names: Sequence[str],
    costs: Mapping[str, object],
    data: Mapping[str, object],
    run_id: str,
) -> StrategySpec:
    """Return the strategy spec of one hall-of-fame member (``state = "candidate"``)."""
    stability = details.get("stability")
    return StrategySpec(
        id=entry.id,
        expression=entry.expression,
        pretty=str(details["pretty"]),
        primitive_set_version=PSET_VERSION,
        lookback_bars=int(details["lookback_bars"]),
        objective_names=list(objective_names),
        objectives=list(entry.objectives),
        metrics={"train": dict(details["train"]), "validation": dict(details["validation"])},
        fold_table=[dict(row) for row in details["fold_table"]],
        stability=None if stability is None else float(stability),
        costs=dict(costs),
        data=dict(data),
        run_id=run_id,
        generation=entry.generation,
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
        build_spec(
            entry,
            state.members[entry.id],
            objective_names=names,
            costs=costs,
            data=data,
            run_id=run_id,
        )
        for entry in state.hall.members()
    ]
