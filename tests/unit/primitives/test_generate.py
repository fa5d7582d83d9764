"""Random typed generation never fails, type-checks, round-trips and is reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import primitives
from primitives.generate import MIN_HEIGHT, MIN_SIZE
from primitives.types import Position, Price, Signal
from tests.unit.primitives.markets import make_market

REPO = Path(__file__).resolve().parents[3]


def test_random_tree_when_10000_draws_then_never_fails_typechecks_and_round_trips() -> None:
    rng = np.random.default_rng(2024)
    limits = primitives.SizeLimits(max_depth=8, max_nodes=60)
    market = make_market(300, 1)
    texts = set()
    for _ in range(10_000):
        tree = primitives.random_tree(rng, min_depth=1, max_depth=8, limits=limits)
        primitives.check_tree(tree)
        assert limits.admits(tree)
        text = primitives.to_text(tree)
        reparsed = primitives.parse(text)
        assert primitives.to_text(reparsed) == text
        texts.add(text)
        direct = primitives.compile(tree).positions(market)
        np.testing.assert_array_equal(direct, primitives.compile(reparsed).positions(market))
    assert len(texts) > 7_500  # variety: repeats are only among the shallowest trees


def test_random_tree_when_limits_are_the_smallest_possible_then_still_succeeds() -> None:
    limits = primitives.SizeLimits(max_depth=MIN_HEIGHT[Position], max_nodes=MIN_SIZE[Position])
    rng = np.random.default_rng(1)
    for _ in range(200):
        tree = primitives.random_tree(rng, min_depth=1, max_depth=6, limits=limits)
        primitives.check_tree(tree)
        assert limits.admits(tree)


@pytest.mark.parametrize("root_type", [Price, Signal])
def test_random_tree_when_other_root_type_then_that_type(root_type: type) -> None:
    tree = primitives.random_tree(np.random.default_rng(3), root_type=root_type)
    primitives.check_tree(tree, root_type)


def test_random_tree_when_same_seed_then_same_tree_in_another_process() -> None:
    code = (
        "import numpy as np, primitives\n"
        "rng = np.random.default_rng(77)\n"
        "print('\\n'.join(primitives.to_text(primitives.random_tree(rng)) for _ in range(20)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    rng = np.random.default_rng(77)
    expected = [primitives.to_text(primitives.random_tree(rng)) for _ in range(20)]
    assert result.stdout.splitlines() == expected


def test_random_tree_when_depth_range_empty_then_value_error() -> None:
    with pytest.raises(ValueError, match="min_depth <= max_depth"):
        primitives.random_tree(np.random.default_rng(0), min_depth=4, max_depth=3)


def test_size_limits_when_too_small_for_any_strategy_then_value_error() -> None:
    with pytest.raises(ValueError, match="admits no strategy"):
        primitives.SizeLimits(max_depth=0, max_nodes=1)
