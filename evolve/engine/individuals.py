"""What the engine computes over a population: semantic collapse, diversity, objective summary.

The population's records are :class:`populations.Member` — the one strategy record that also
fills the hall of fame, the lineage and the specs (see ``populations/member.py``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from deap import gp

from populations import Member
from primitives import Constant


def collapse_semantic(individuals: Iterable[Member]) -> list[Member]:
    """Keep one individual per semantic hash: the fewest nodes, then the smallest text.

    Members with the same hash trade identically on every bar evolution sees, so only the
    simplest survives. Kept individuals stay in input order; an empty hash never collapses.
    """
    pool = list(individuals)
    best: dict[str, Member] = {}
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


def diversity(population: Sequence[Member]) -> Diversity:
    """Return the population's :class:`Diversity` (1.0 and 0.0 for an empty population)."""
    if not population:
        return Diversity(1.0, 0.0)
    structures = {structure_key(individual.tree) for individual in population}
    return Diversity(
        len(structures) / len(population),
        statistics.fmean(individual.n_nodes for individual in population),
    )


def objective_summary(
    population: Sequence[Member], directions: Sequence[int]
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
