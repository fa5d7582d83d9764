"""Variation operators keep trees well typed and within limits, deterministically."""

from __future__ import annotations

import numpy as np
import pytest
from deap import gp

import primitives
from primitives.pset import Constant
from primitives.types import CONSTANT_SPECS, Hour

LIMITS = primitives.SizeLimits(max_depth=8, max_nodes=50)


def population(seed: int, size: int) -> list[gp.PrimitiveTree]:
    rng = np.random.default_rng(seed)
    return [primitives.random_tree(rng, max_depth=6, limits=LIMITS) for _ in range(size)]


class Individual(gp.PrimitiveTree):
    """A DEAP-style subclass, as the evolve layer will use."""


def test_crossover_when_many_pairs_then_children_typecheck_within_limits_parents_untouched() -> (
    None
):
    rng = np.random.default_rng(5)
    trees = population(1, 200)
    changed = 0
    for a, b in zip(trees[::2], trees[1::2], strict=True):
        before = (primitives.to_text(a), primitives.to_text(b))
        child_a, child_b = primitives.crossover(a, b, rng, LIMITS)
        for child in (child_a, child_b):
            primitives.check_tree(child)
            assert LIMITS.admits(child)
        assert (primitives.to_text(a), primitives.to_text(b)) == before
        changed += primitives.to_text(child_a) != before[0]
    assert changed > 50


@pytest.mark.parametrize("kind", primitives.MUTATIONS)
def test_mutate_when_applied_then_typechecks_within_limits_and_usually_changes(kind: str) -> None:
    rng = np.random.default_rng(6)
    changed = 0
    for tree in population(2, 150):
        child = primitives.mutate(tree, rng, kind, LIMITS)
        primitives.check_tree(child)
        assert LIMITS.admits(child)
        changed += primitives.to_text(child) != primitives.to_text(tree)
    assert changed > 60


@pytest.mark.parametrize("kind", primitives.MUTATIONS)
def test_mutate_when_same_seed_then_same_child(kind: str) -> None:
    tree = population(3, 1)[0]
    first = primitives.mutate(tree, np.random.default_rng(9), kind, LIMITS)
    second = primitives.mutate(tree, np.random.default_rng(9), kind, LIMITS)
    assert primitives.to_text(first) == primitives.to_text(second)


def test_mutate_when_subclass_given_then_child_keeps_the_class() -> None:
    tree = Individual(population(4, 1)[0])
    child = primitives.mutate(tree, np.random.default_rng(0), "point", LIMITS)
    assert type(child) is Individual
    a, b = primitives.crossover(
        tree, Individual(population(5, 1)[0]), np.random.default_rng(0), LIMITS
    )
    assert type(a) is Individual and type(b) is Individual


def test_mutate_shrink_when_applied_then_never_grows() -> None:
    rng = np.random.default_rng(7)
    for tree in population(6, 100):
        assert len(primitives.mutate_shrink(tree, rng)) <= len(tree)


def test_mutate_point_when_applied_then_size_and_shape_unchanged() -> None:
    rng = np.random.default_rng(8)
    for tree in population(7, 100):
        child = primitives.mutate_point(tree, rng)
        assert [node.arity for node in child] == [node.arity for node in tree]


def test_mutate_when_unknown_kind_then_value_error() -> None:
    with pytest.raises(ValueError, match="unknown mutation 'swap'"):
        primitives.mutate(population(8, 1)[0], np.random.default_rng(0), "swap")


def test_jitter_constants_when_scale_given_then_every_level_and_window_within_factor() -> None:
    text = (
        "vol_target(latch(lt(rsi(close, 14), 30.0), gt(zscore(close, 50), 2.0), "
        "hour_between(8, 16), gt(funding, 0.0001)), 100, 0.01)"
    )
    tree = primitives.parse(text)
    rng = np.random.default_rng(10)
    for _ in range(200):
        jittered = primitives.jitter_constants(tree, rng, 0.2)
        primitives.check_tree(jittered)
        for old, new in zip(tree, jittered, strict=True):
            if not isinstance(old, Constant):
                assert new is old
                continue
            spec = CONSTANT_SPECS[old.ret]
            assert spec.minimum <= new.value <= spec.maximum
            if old.ret is Hour:
                assert new.value == old.value
            else:
                step = 1 if spec.decimals is None else 10**-spec.decimals
                assert old.value * 0.8 - step <= new.value <= old.value * 1.2 + step


def test_jitter_constants_when_scale_zero_then_identical_and_bad_scale_rejected() -> None:
    tree = population(9, 1)[0]
    same = primitives.jitter_constants(tree, np.random.default_rng(0), 0.0)
    assert primitives.to_text(same) == primitives.to_text(tree)
    with pytest.raises(ValueError, match="scale"):
        primitives.jitter_constants(tree, np.random.default_rng(0), 1.5)


def test_jitter_constants_when_window_small_then_stays_a_legal_integer() -> None:
    tree = primitives.parse("long_only(gt(close, lag(close, 1)))")
    for seed in range(20):
        jittered = primitives.jitter_constants(tree, np.random.default_rng(seed), 0.9)
        window = jittered[-1]
        assert isinstance(window.value, int) and window.value >= 1


def test_structural_similarity_when_compared_then_bounded_symmetric_and_one_on_self() -> None:
    trees = population(11, 30)
    for a in trees[:10]:
        assert primitives.structural_similarity(a, a) == 1.0
        for b in trees[10:]:
            value = primitives.structural_similarity(a, b)
            assert 0.0 <= value <= 1.0
            assert value == primitives.structural_similarity(b, a)


def test_structural_similarity_when_one_window_differs_then_shares_the_other_subtrees() -> None:
    a = "long_only(and_(gt(close, sma(close, 50)), lt(rsi(close, 14), 30.0)))"
    b = a.replace("sma(close, 50)", "sma(close, 20)")
    value = primitives.structural_similarity(a, b)
    # 9 series nodes each; shared: close x3, rsi(close, 14), lt(...) -> 5 / (9 + 9 - 5)
    assert value == pytest.approx(5 / 13)
    assert primitives.structural_similarity(a, "long_only(weekend)") == 0.0


def test_subtree_similarity_when_random_multisets_then_counter_and_over_or() -> None:
    from collections import Counter

    from primitives.variation import subtree_similarity

    rng = np.random.default_rng(5)
    for _ in range(500):
        first = Counter(
            {f"t{k}": int(rng.integers(1, 4)) for k in rng.choice(8, rng.integers(0, 6))}
        )
        second = Counter(
            {f"t{k}": int(rng.integers(1, 4)) for k in rng.choice(8, rng.integers(0, 6))}
        )
        union = sum((first | second).values())  # the textbook form, built with Counter
        expected = sum((first & second).values()) / union if union else 1.0
        assert subtree_similarity(first, second) == expected == subtree_similarity(second, first)
