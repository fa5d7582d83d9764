"""The only module touching DEAP's operators: NSGA-II survivor selection, Pareto ranks and
crowding distances, and the crowded tournament for mating (camelCase stays in here).

Callers pass plain objective vectors (run order) and the objective directions (+1 maximise,
-1 minimise); they get back plain indices, ranks and distances. DEAP objects are built here,
per call, from a ``base.Fitness`` subclass made by :func:`fitness_class` (a cached class
factory instead of ``creator.create``). Non-dominated sorting uses DEAP's
``sortLogNondominated`` (the same fronts as the standard sort, 40x faster at 2,000
individuals). Nothing here draws from the global ``random``; the tournament draws from the
run's ``numpy.random.Generator``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from deap import base, tools


@functools.lru_cache(maxsize=16)
def fitness_class(directions: tuple[int, ...]) -> type[base.Fitness]:
    """Return a ``deap.base.Fitness`` subclass whose ``weights`` are ``directions``."""
    weights = tuple(float(direction) for direction in directions)
    if not weights or any(weight not in (1.0, -1.0) for weight in weights):
        raise ValueError(f"directions: expected a non-empty tuple of +1/-1, found {directions}")
    name = "Fitness" + "".join("Max" if weight > 0 else "Min" for weight in weights)
    return type(name, (base.Fitness,), {"weights": weights, "__slots__": ()})


class _Candidate:
    # the shape DEAP's selection functions expect: an object with a ``fitness``
    __slots__ = ("fitness", "index")

    def __init__(self, fitness: base.Fitness, index: int) -> None:
        self.fitness = fitness
        self.index = index


def _candidates(
    objectives: Sequence[Sequence[float]], directions: Sequence[int]
) -> list[_Candidate]:
    cls = fitness_class(tuple(int(direction) for direction in directions))
    candidates = []
    for index, values in enumerate(objectives):
        if len(values) != len(directions) or not all(math.isfinite(v) for v in values):
            raise ValueError(
                f"objectives[{index}]: expected {len(directions)} finite values, found "
                f"{list(values)} (infeasible individuals carry finite sentinels)"
            )
        candidates.append(_Candidate(cls(tuple(float(v) for v in values)), index))
    return candidates


@dataclass(frozen=True, slots=True)
class Ranking:
    """Pareto rank (0 = non-dominated) and crowding distance of each individual, input order."""

    rank: tuple[int, ...]
    crowding: tuple[float, ...]

    @property
    def front_size(self) -> int:
        """Return the number of non-dominated individuals."""
        return sum(1 for rank in self.rank if rank == 0)


def rank_and_crowding(objectives: Sequence[Sequence[float]], directions: Sequence[int]) -> Ranking:
    """Return every individual's Pareto rank and its crowding distance within its front.

    Parameters
    ----------
    objectives : sequence of sequences of float, shape (n_individuals, n_objectives)
        Finite objective values, run order.
    directions : sequence of int
        +1 to maximise, -1 to minimise, per objective.
    """
    candidates = _candidates(objectives, directions)
    rank = [0] * len(candidates)
    crowding = [0.0] * len(candidates)
    if not candidates:
        return Ranking((), ())
    for level, front in enumerate(tools.sortLogNondominated(candidates, len(candidates))):
        tools.emo.assignCrowdingDist(front)
        for candidate in front:
            rank[candidate.index] = level
            crowding[candidate.index] = float(candidate.fitness.crowding_dist)
    return Ranking(tuple(rank), tuple(crowding))


def select_nsga2(
    objectives: Sequence[Sequence[float]], directions: Sequence[int], k: int
) -> list[int]:
    """Return the indices of the ``k`` NSGA-II survivors, in DEAP's selection order.

    Whole fronts are taken in rank order; the last front that does not fit is cut by
    descending crowding distance (ties keep input order). With ``k >= n`` every index is
    returned. Deterministic: the same input order gives the same output.
    """
    candidates = _candidates(objectives, directions)
    if k >= len(candidates):
        return list(range(len(candidates)))
    chosen = tools.selNSGA2(candidates, k, nd="log")
    return [candidate.index for candidate in chosen]


def crowded_tournament(ranking: Ranking, rng: np.random.Generator, tournament_size: int) -> int:
    """Return the index of the winner of one crowded tournament (Deb's ``<_n`` operator).

    ``tournament_size`` contestants are drawn uniformly with replacement from ``rng``; the one
    with the lowest Pareto rank wins, then the largest crowding distance, then the first drawn.
    """
    contestants = rng.integers(len(ranking.rank), size=tournament_size)
    best = int(contestants[0])
    for drawn in contestants[1:]:
        index = int(drawn)
        if (ranking.rank[index], -ranking.crowding[index]) < (
            ranking.rank[best],
            -ranking.crowding[best],
        ):
            best = index
    return best
