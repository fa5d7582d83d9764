"""NSGA-II machinery: Pareto ranks, crowding distances, survivor selection, crowded tournament.

Checked against hand-computed fronts and distances and a naive O(n²) dominance loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.engine.toolbox import (
    Ranking,
    crowded_tournament,
    fitness_class,
    rank_and_crowding,
    select_nsga2,
)

DIRECTIONS = (1, -1)  # maximise the first objective, minimise the second


def naive_ranks(points: list[tuple[float, ...]], directions: tuple[int, ...]) -> list[int]:
    """Peel fronts by the definition: rank k = non-dominated once ranks < k are removed."""
    signed = [tuple(d * v for d, v in zip(directions, p, strict=True)) for p in points]

    def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    ranks = [-1] * len(points)
    level = 0
    while -1 in ranks:
        remaining = [i for i, r in enumerate(ranks) if r == -1]
        front = [
            i for i in remaining if not any(dominates(signed[j], signed[i]) for j in remaining)
        ]
        for i in front:
            ranks[i] = level
        level += 1
    return ranks


def test_rank_and_crowding_when_hand_example_then_fronts_and_distances_match() -> None:
    # maximise f1, minimise f2: A, B, C are mutually non-dominated; D is dominated by B only
    points = [(3.0, 3.0), (2.0, 1.0), (1.0, 0.0), (1.5, 2.0)]

    ranking = rank_and_crowding(points, DIRECTIONS)

    assert ranking.rank == (0, 0, 0, 1)
    # front 0 sorted by f1: C(1) B(2) A(3); ranges f1 = 2, f2 = 3; B is interior and DEAP
    # divides each gap by range x n_objectives: (3 - 1) / (2 * 2) + (3 - 0) / (3 * 2) = 1.0;
    # the extremes are infinite; D is alone in its front
    assert ranking.crowding[1] == pytest.approx(1.0)
    assert math.isinf(ranking.crowding[0]) and math.isinf(ranking.crowding[2])
    assert math.isinf(ranking.crowding[3])
    assert ranking.front_size == 3


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(-5, 5), st.integers(-5, 5), st.integers(0, 4)),
        min_size=1,
        max_size=30,
    )
)
def test_rank_and_crowding_when_random_points_then_ranks_equal_naive_peeling(
    raw: list[tuple[int, int, int]],
) -> None:
    points = [tuple(float(v) for v in p) for p in raw]
    directions = (1, -1, -1)

    ranking = rank_and_crowding(points, directions)

    assert list(ranking.rank) == naive_ranks(points, directions)


def test_select_nsga2_when_k_cuts_a_front_then_better_fronts_whole_and_most_crowded_kept() -> None:
    rng = np.random.default_rng(3)
    points = [(float(a), float(b)) for a, b in rng.normal(size=(40, 2))]
    ranks = naive_ranks(points, DIRECTIONS)

    chosen = select_nsga2(points, DIRECTIONS, 15)

    assert len(chosen) == len(set(chosen)) == 15
    worst_chosen = max(ranks[i] for i in chosen)
    assert all(ranks[i] >= worst_chosen for i in range(40) if i not in chosen)
    assert all(i in chosen for i in range(40) if ranks[i] < worst_chosen)
    ranking = rank_and_crowding(points, DIRECTIONS)
    cut = [i for i in range(40) if ranks[i] == worst_chosen]
    kept = [i for i in cut if i in chosen]
    dropped = [i for i in cut if i not in chosen]
    assert min(ranking.crowding[i] for i in kept) >= max(
        (ranking.crowding[i] for i in dropped), default=-1.0
    )


def test_select_nsga2_when_same_input_then_same_output_and_k_over_n_keeps_all() -> None:
    points = [(float(i % 5), float(i % 3)) for i in range(20)]

    assert select_nsga2(points, DIRECTIONS, 7) == select_nsga2(points, DIRECTIONS, 7)
    assert select_nsga2(points, DIRECTIONS, 50) == list(range(20))


def test_select_nsga2_when_infeasible_sentinels_then_ranked_last() -> None:
    sentinel = (-1e9, 1e9)
    points = [sentinel, (0.1, 0.5), sentinel, (-3.0, 0.9), (0.5, 0.2)]

    chosen = select_nsga2(points, DIRECTIONS, 3)

    assert sorted(chosen) == [1, 3, 4]


def test_rank_and_crowding_when_non_finite_objective_then_value_error() -> None:
    with pytest.raises(ValueError, match=r"objectives\[1\]"):
        rank_and_crowding([(1.0, 2.0), (math.nan, 1.0)], DIRECTIONS)


def test_crowded_tournament_when_drawn_then_lower_rank_then_larger_crowding_wins() -> None:
    ranking = Ranking(rank=(1, 0, 0, 2), crowding=(5.0, 1.0, math.inf, 9.0))
    rng = np.random.default_rng(11)
    replay = np.random.default_rng(11)

    for _ in range(50):
        winner = crowded_tournament(ranking, rng, 2)
        drawn = [int(i) for i in replay.integers(4, size=2)]
        expected = min(drawn, key=lambda i: (ranking.rank[i], -ranking.crowding[i]))
        assert winner == expected


def test_fitness_class_when_directions_then_cached_weights_and_bad_input_rejected() -> None:
    cls = fitness_class((1, -1, -1))

    assert cls is fitness_class((1, -1, -1))
    assert cls.weights == (1.0, -1.0, -1.0)
    with pytest.raises(ValueError, match="directions"):
        fitness_class((1, 0))
