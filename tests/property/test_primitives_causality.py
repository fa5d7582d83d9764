"""Causality: changing any input at bars >= k never changes an output before k.

Proven for every registered primitive (perturbing market columns and series arguments) and for
random compiled strategies (perturbing the market). Comparison is bitwise and NaN-aware.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import primitives
from primitives.types import CONSTANT_SPECS, Window
from tests.reference.test_indicators_reference import series_argument
from tests.unit.primitives.markets import HOUR_MS, SyntheticMarket, make_market, replace_columns


def perturbed_market(market: SyntheticMarket, k: int, rng: np.random.Generator) -> SyntheticMarket:
    n = len(market)
    tail = n - k
    factor = np.exp(rng.normal(0.0, 0.05, tail))
    extra_hours = np.cumsum(rng.integers(0, 3, tail)).astype(np.int64) * HOUR_MS
    columns: dict[str, np.ndarray] = {}
    for name in ("open", "high", "low", "close"):
        values = getattr(market, name).copy()
        values[k:] *= factor
        columns[name] = values
    volume = market.volume.copy()
    volume[k:] = rng.gamma(2.0, 80.0, tail)
    funding = market.funding_rate.copy()
    funding[k:] = np.where(rng.random(tail) < 0.3, rng.normal(0.0, 3e-4, tail), 0.0)
    timestamp = market.timestamp.copy()
    timestamp[k:] += extra_hours
    return replace_columns(
        market, volume=volume, funding_rate=funding, timestamp=timestamp, **columns
    )


def perturbed_argument(value: Any, k: int, rng: np.random.Generator) -> Any:
    if np.isscalar(value):
        return value
    changed = np.array(value, copy=True)
    tail = changed.shape[0] - k
    if changed.dtype == np.bool_:
        changed[k:] = rng.random(tail) < 0.5
    else:
        changed[k:] = np.where(
            rng.random(tail) < 0.1,
            np.nan,
            changed[k:] * rng.uniform(0.5, 1.5, tail) + rng.normal(0, 1, tail),
        )
    return changed


def assert_same_prefix(before: np.ndarray, after: np.ndarray, k: int, context: str) -> None:
    assert np.array_equal(before[:k], after[:k], equal_nan=True), context


def small_arguments(
    entry: primitives.PrimitiveEntry, market: SyntheticMarket, rng: np.random.Generator
) -> list[Any]:
    args: list[Any] = []
    for type_ in entry.arg_types:
        if type_ is Window:
            args.append(int(rng.integers(1, 25)))
        elif type_ in CONSTANT_SPECS:
            grid = CONSTANT_SPECS[type_].grid
            args.append(grid[int(rng.integers(len(grid)))])
        else:
            args.append(series_argument(type_, market, rng))
    return args


@pytest.mark.parametrize("entry", primitives.registry(), ids=lambda e: e.key)
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), n_bars=st.integers(2, 120), cut=st.floats(0.0, 1.0))
def test_primitive_when_inputs_change_from_bar_k_then_outputs_before_k_unchanged(
    entry: primitives.PrimitiveEntry, seed: int, n_bars: int, cut: float
) -> None:
    rng = np.random.default_rng(seed)
    market = make_market(n_bars, seed % 1000)
    k = int(cut * n_bars)
    args = small_arguments(entry, market, rng)

    before = entry(*args, market=market)
    after = entry(
        *[perturbed_argument(a, k, rng) for a in args], market=perturbed_market(market, k, rng)
    )

    assert_same_prefix(
        before, after, k, f"{entry.name} k={k} args={[a for a in args if np.isscalar(a)]}"
    )


@settings(max_examples=150)
@given(seed=st.integers(0, 2**32 - 1), cut=st.floats(0.0, 1.0))
def test_compiled_tree_when_market_changes_from_bar_k_then_positions_before_k_unchanged(
    seed: int, cut: float
) -> None:
    rng = np.random.default_rng(seed)
    tree = primitives.random_tree(rng, min_depth=2, max_depth=5)
    strategy = primitives.compile(tree)
    market = make_market(250, seed % 997)
    k = int(cut * 250)

    before = strategy.positions(market)
    after = strategy.positions(perturbed_market(market, k, rng))

    assert_same_prefix(before, after, k, strategy.text)
