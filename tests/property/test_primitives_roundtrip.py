"""Round-trip and closure invariants of random strategies (hypothesis over generator seeds)."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import primitives

LIMITS = primitives.SizeLimits(max_depth=9, max_nodes=70)
seeds = st.integers(0, 2**63 - 1)


@given(seed=seeds)
def test_tree_when_printed_and_parsed_then_identical_nodes_and_id(seed: int) -> None:
    tree = primitives.random_tree(np.random.default_rng(seed), max_depth=7, limits=LIMITS)
    text = primitives.to_text(tree)

    reparsed = primitives.parse(text)

    assert list(reparsed) == list(tree)
    assert primitives.strategy_id(reparsed) == primitives.strategy_id(text)
    assert primitives.to_text(pickle.loads(pickle.dumps(tree))) == text


@settings(max_examples=60)
@given(seed=seeds)
def test_variation_when_chained_then_offspring_stay_typed_and_bounded(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = primitives.random_tree(rng, max_depth=7, limits=LIMITS)
    b = primitives.random_tree(rng, max_depth=7, limits=LIMITS)
    for _ in range(5):
        a, b = primitives.crossover(a, b, rng, LIMITS)
        kind = primitives.MUTATIONS[int(rng.integers(len(primitives.MUTATIONS)))]
        a = primitives.mutate(a, rng, kind, LIMITS)
        b = primitives.jitter_constants(b, rng, 0.3)
    for child in (a, b):
        primitives.check_tree(child)
        assert LIMITS.admits(child)
        assert primitives.to_text(
            primitives.parse(primitives.to_text(child))
        ) == primitives.to_text(child)
