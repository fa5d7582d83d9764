"""Population records, their checkpoint form, semantic collapse and diversity statistics.

An :class:`Individual` is a small record (no DEAP objects besides its parsed tree): identity,
raw and penalised objectives, feasibility, size, semantic hash, a validation summary for the
live view, and where it came from (generation, parents, operator). Trees are not stored in
checkpoints; they are re-parsed from the canonical text on resume.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from deap import gp

from primitives import Constant, parse


@dataclass(frozen=True, slots=True)
class Scored:
    """What the engine keeps of one evaluation (everything a lineage row and a record need).

    Attributes
    ----------
    objectives : tuple of float
        Raw objectives (before the lineage penalty; the complexity penalty is inside the robust
        score), run order; sentinels when infeasible.
    validation_sharpe : float
        Annualised validation Sharpe (mean over symbols), NaN when absent.
    validation_trades : float
        Validation trades (summed over symbols), NaN when absent.
    daily_sharpe : float
        Per-day Sharpe of ``validation_returns`` (the lineage ``validation_sharpe`` column).
    validation_returns : ndarray of float32, shape (n_days,)
        Daily combined validation returns (the promoter's trial record), read-only.
    """

    id: str
    text: str
    n_nodes: int
    objectives: tuple[float, ...]
    feasible: bool
    semantic_hash: str
    validation_sharpe: float
    validation_trades: float
    daily_sharpe: float
    validation_returns: np.ndarray


@dataclass(frozen=True, slots=True)
class Individual:
    """One member of the population (see the module docstring)."""

    id: str
    text: str
    tree: gp.PrimitiveTree
    objectives: tuple[float, ...]
    penalized: tuple[float, ...]
    lineage_penalty: float
    feasible: bool
    n_nodes: int
    semantic_hash: str
    validation_sharpe: float
    validation_trades: float
    generation: int
    parent_ids: tuple[str, ...]
    operator: str

    def to_state(self) -> dict[str, Any]:
        """Return the record as plain JSON data (no tree)."""
        return {
            "id": self.id,
            "text": self.text,
            "objectives": list(self.objectives),
            "penalized": list(self.penalized),
            "lineage_penalty": self.lineage_penalty,
            "feasible": self.feasible,
            "n_nodes": self.n_nodes,
            "semantic_hash": self.semantic_hash,
            "validation_sharpe": self.validation_sharpe,
            "validation_trades": self.validation_trades,
            "generation": self.generation,
            "parent_ids": list(self.parent_ids),
            "operator": self.operator,
        }

    @classmethod
    def from_state(cls, values: dict[str, Any]) -> Individual:
        """Rebuild a record from :meth:`to_state` output (the tree is parsed from the text)."""
        return cls(
            id=str(values["id"]),
            text=str(values["text"]),
            tree=parse(str(values["text"])),
            objectives=tuple(float(v) for v in values["objectives"]),
            penalized=tuple(float(v) for v in values["penalized"]),
            lineage_penalty=float(values["lineage_penalty"]),
            feasible=bool(values["feasible"]),
            n_nodes=int(values["n_nodes"]),
            semantic_hash=str(values["semantic_hash"]),
            validation_sharpe=float(values["validation_sharpe"]),
            validation_trades=float(values["validation_trades"]),
            generation=int(values["generation"]),
            parent_ids=tuple(str(v) for v in values["parent_ids"]),
            operator=str(values["operator"]),
        )


def make_individual(
    scored: Scored,
    tree: gp.PrimitiveTree,
    *,
    generation: int,
    parent_ids: Sequence[str],
    operator: str,
    penalized: tuple[float, ...] | None = None,
    lineage_penalty: float = 0.0,
) -> Individual:
    """Return the population record of an evaluated tree."""
    return Individual(
        id=scored.id,
        text=scored.text,
        tree=tree,
        objectives=scored.objectives,
        penalized=scored.objectives if penalized is None else penalized,
        lineage_penalty=lineage_penalty,
        feasible=scored.feasible,
        n_nodes=scored.n_nodes,
        semantic_hash=scored.semantic_hash,
        validation_sharpe=scored.validation_sharpe,
        validation_trades=scored.validation_trades,
        generation=generation,
        parent_ids=tuple(parent_ids),
        operator=operator,
    )


def with_penalty(individual: Individual, score_index: int, penalty: float) -> Individual:
    """Return ``individual`` with ``penalty`` subtracted from its (maximised) score objective."""
    penalized = list(individual.objectives)
    penalized[score_index] = penalized[score_index] - penalty
    return replace(individual, penalized=tuple(penalized), lineage_penalty=penalty)


def collapse_semantic(individuals: Iterable[Individual]) -> list[Individual]:
    """Keep one individual per semantic hash: the fewest nodes, then the smallest text.

    Individuals with the same hash trade identically on every bar evolution sees, so only the
    simplest survives. Kept individuals stay in input order; an empty hash never collapses.
    """
    pool = list(individuals)
    best: dict[str, Individual] = {}
    for individual in pool:
        if not individual.semantic_hash:
            continue
        held = best.get(individual.semantic_hash)
        if held is None or (individual.n_nodes, individual.text) < (held.n_nodes, held.text):
            best[individual.semantic_hash] = individual
    return [
        individual
        for individual in pool
        if not individual.semantic_hash or best[individual.semantic_hash] is individual
    ]


def structure_key(tree: gp.PrimitiveTree) -> str:
    """Return the tree's text with every constant blanked (``#``): its structure."""
    return " ".join("#" if isinstance(node, Constant) else node.name for node in tree)


@dataclass(frozen=True, slots=True)
class Diversity:
    """Diversity of a population: unique structures as a fraction, and mean node count."""

    unique_structures: float
    mean_size: float


def diversity(population: Sequence[Individual]) -> Diversity:
    """Return the population's :class:`Diversity` (1.0 and 0.0 for an empty population)."""
    if not population:
        return Diversity(1.0, 0.0)
    structures = {structure_key(individual.tree) for individual in population}
    return Diversity(
        len(structures) / len(population),
        statistics.fmean(individual.n_nodes for individual in population),
    )


def objective_summary(
    population: Sequence[Individual], directions: Sequence[int]
) -> tuple[list[float], list[float]]:
    """Return the best and the median of each penalised objective over feasible individuals.

    NaN for every objective when no individual is feasible.
    """
    feasible = [individual.penalized for individual in population if individual.feasible]
    if not feasible:
        nan = [math.nan] * len(directions)
        return nan, list(nan)
    columns = list(zip(*feasible, strict=True))
    best = [max(c) if d > 0 else min(c) for c, d in zip(columns, directions, strict=True)]
    median = [float(statistics.median(column)) for column in columns]
    return best, median
