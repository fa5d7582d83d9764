"""The engine's persistent state: what a checkpoint holds, and what resume rebuilds from lineage.

Checkpoint payload (plain JSON, ``populations.save_checkpoint``): ``generation``,
``population`` (``populations.Member`` records, evaluations included, in selection order),
``rng`` (``random`` and numpy generator states), ``hall_of_fame`` (``HallOfFame.to_state()``:
the records of its members and Pareto front), ``counters`` (trials, early-stopping counter and
best validation Sharpe, immigrant generations) and ``diversity_low`` (immigrants due next
generation).
The lineage index and the set of ids ever evaluated are not stored: resume rebuilds them
from ``lineage.parquet`` (truncated to the checkpoint's generation), which holds exactly
what the uninterrupted run had added.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from populations import (
    CheckpointError,
    HallOfFame,
    LineageIndex,
    LineageStore,
    Member,
    restore_rng_states,
    rng_state_to_json,
)

STATE_VERSION = 2  # 2: population records carry their evaluation; no separate member details


@dataclass(slots=True)
class EngineState:
    """Everything the next generation depends on (besides the configuration and the data)."""

    generation: int
    population: list[Member]
    hall: HallOfFame
    n_trials: int = 0
    stale_generations: int = 0
    best_validation_score: float = math.nan
    n_immigrant_generations: int = 0
    diversity_low: bool = False
    seen_ids: set[str] = field(default_factory=set)
    lineage: LineageIndex = field(default_factory=LineageIndex)

    def to_payload(self, rng: np.random.Generator) -> dict[str, Any]:
        """Return the checkpoint payload (the global ``random`` state is included)."""
        return {
            "state_version": STATE_VERSION,
            "generation": self.generation,
            "population": [individual.to_state() for individual in self.population],
            "rng": rng_state_to_json(random.getstate(), rng),
            "hall_of_fame": self.hall.to_state(),
            "counters": {
                "n_trials": self.n_trials,
                "stale_generations": self.stale_generations,
                "best_validation_score": self.best_validation_score,
                "n_immigrant_generations": self.n_immigrant_generations,
            },
            "diversity_low": self.diversity_low,
        }


def state_from_payload(
    payload: Mapping[str, Any], where: str
) -> tuple[EngineState, tuple[Any, ...], np.random.Generator]:
    """Return ``(state, python_random_state, generator)`` from a checkpoint payload.

    The lineage index and seen ids are left empty (see :func:`rebuild_lineage`).

    Raises
    ------
    CheckpointError
        Naming ``where`` when the payload is not one this engine wrote.
    """
    try:
        if payload["state_version"] != STATE_VERSION:
            raise ValueError(f"state_version {payload['state_version']!r}")
        counters = payload["counters"]
        python_state, rng = restore_rng_states(payload["rng"])
        state = EngineState(
            generation=int(payload["generation"]),
            population=[Member.from_state(values) for values in payload["population"]],
            hall=HallOfFame.from_state(payload["hall_of_fame"]),
            n_trials=int(counters["n_trials"]),
            stale_generations=int(counters["stale_generations"]),
            best_validation_score=float(counters["best_validation_score"]),
            n_immigrant_generations=int(counters["n_immigrant_generations"]),
            diversity_low=bool(payload["diversity_low"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(
            f"{where}: not a checkpoint of this engine version ({e!r}); start a new run"
        ) from e
    return state, python_state, rng


def lineage_score(objectives: list[float] | tuple[float, ...], feasible: bool, index: int) -> float:
    """Return the score an individual contributes to its relatives' lineage penalty.

    The raw score objective (complexity penalty included, lineage penalty not: siblings'
    penalties are not known yet when one sibling's is computed) and NaN when infeasible, so
    the sentinel never counts as a relative's score.
    """
    return float(objectives[index]) if feasible else math.nan


def rebuild_lineage(state: EngineState, store: LineageStore, score_index: int) -> int:
    """Fill ``state.lineage`` and ``state.seen_ids`` from the stored lineage; return its rows."""
    table = store.read(["id", "expression", "generation", "parent_ids", "objectives", "feasible"])
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    index = LineageIndex()
    seen: set[str] = set()
    for row in zip(*(columns[name] for name in table.column_names), strict=True):
        values = dict(zip(table.column_names, row, strict=True))
        index.add(
            values["id"],
            values["parent_ids"],
            values["generation"],
            lineage_score(values["objectives"], values["feasible"], score_index),
            expression=values["expression"],
        )
        seen.add(values["id"])
    if len(seen) != state.n_trials:
        raise CheckpointError(
            f"{store.path}: lineage holds {len(seen)} distinct individuals, the checkpoint of "
            f"generation {state.generation} counts {state.n_trials}; the run directory is "
            "inconsistent — start a new run"
        )
    state.lineage = index
    state.seen_ids = seen
    return table.num_rows
