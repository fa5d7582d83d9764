"""Population statistics over strategy records: semantic collapse, diversity, objective summary."""

from __future__ import annotations

import math

import pytest

from evolve.engine.individuals import (
    collapse_semantic,
    diversity,
    objective_summary,
    structure_key,
)
from primitives import parse, strategy_id
from tests.stubs import make_member


def make(text: str, semantic_hash: str = "", objectives=(0.5, 0.2, 5.0), feasible=True):
    tree = parse(text)
    return make_member(
        strategy_id(tree),
        str(tree),
        tuple(objectives),
        feasible=feasible,
        n_nodes=len(tree),
        semantic_hash=semantic_hash,
        generation=3,
        parent_ids=("a", "b"),
    )


SMALL = "long_only(gt(close, sma(close, 20)))"
SAME_SMALL = "long_only(gt(close, sma(close, 50)))"
BIG = "long_only(and_(gt(close, sma(close, 20)), gt(close, sma(close, 20))))"


def test_collapse_semantic_when_same_hash_then_fewest_nodes_kept_in_place() -> None:
    pool = [make(BIG, "h"), make("long_only(lt(close, ema(close, 10)))", "g"), make(SMALL, "h")]

    kept = collapse_semantic(pool)

    assert [i.text for i in kept] == [pool[1].text, pool[2].text]


def test_collapse_semantic_when_equal_size_then_smallest_text_kept() -> None:
    pool = [make(SAME_SMALL, "h"), make(SMALL, "h")]

    kept = collapse_semantic(pool)

    assert [i.text for i in kept] == [min(SMALL, SAME_SMALL)]


def test_collapse_semantic_when_empty_hash_then_never_collapsed() -> None:
    pool = [make(SMALL), make(SAME_SMALL)]

    assert collapse_semantic(pool) == pool


def test_diversity_when_constants_differ_then_same_structure() -> None:
    population = [make(SMALL), make(SAME_SMALL), make(BIG), make(BIG)]

    spread = diversity(population)

    assert structure_key(parse(SMALL)) == structure_key(parse(SAME_SMALL))
    assert spread.unique_structures == pytest.approx(2 / 4)
    assert spread.mean_size == pytest.approx((6 + 6 + 12 + 12) / 4)  # nodes incl. constants


def test_objective_summary_when_mixed_feasibility_then_feasible_best_and_median() -> None:
    population = [
        make(SMALL, objectives=(0.5, 0.3, 5.0)),
        make(SMALL, objectives=(0.1, 0.1, 9.0)),
        make(SMALL, objectives=(0.9, 0.2, 7.0)),
        make(SMALL, objectives=(-1e9, 1e9, 1e9), feasible=False),
    ]

    best, median = objective_summary(population, (1, -1, -1))

    assert best == [0.9, 0.1, 5.0]
    assert median == [0.5, 0.2, 7.0]


def test_objective_summary_when_none_feasible_then_nan() -> None:
    best, median = objective_summary([make(SMALL, feasible=False)], (1, -1))

    assert all(math.isnan(v) for v in [*best, *median])


def test_series_subtree_jaccard_when_random_trees_then_equals_structural_similarity() -> None:
    import numpy as np

    from primitives import (
        SizeLimits,
        random_tree,
        series_subtrees,
        structural_similarity,
        subtree_similarity,
    )

    rng = np.random.default_rng(0)
    trees = [random_tree(rng, max_depth=6, limits=SizeLimits(10, 60)) for _ in range(40)]
    trees += [parse(SMALL), parse(SAME_SMALL), parse(BIG)]

    for a, b in zip(trees, trees[1:] + trees[:1], strict=True):
        assert subtree_similarity(series_subtrees(a), series_subtrees(b)) == structural_similarity(
            a, b
        )
        assert subtree_similarity(series_subtrees(a), series_subtrees(a)) == 1.0
