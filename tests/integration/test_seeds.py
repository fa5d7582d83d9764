"""The seed strategies (examples/seeds.txt) parse, compile, evaluate and backtest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fitness
import primitives
from tests.unit.primitives.markets import make_market

SEEDS_FILE = Path(__file__).resolve().parents[2] / "examples" / "seeds.txt"
SEEDS = [line for line in SEEDS_FILE.read_text().splitlines() if line.strip()]
# The classic families traders seed such searches with, in file order
FAMILIES = [
    "EMA crossover", "Donchian breakout", "RSI filter", "stochastic oscillator",
    "SMA trend filter", "ATR stop", "Ichimoku-style cloud filter", "VWAP reversion",
    "volatility-scaled exposure", "funding-rate carry", "MACD crossover", "z-score reversion",
]  # fmt: skip


def test_seeds_file_when_read_then_one_canonical_expression_per_family() -> None:
    assert len(SEEDS) == len(FAMILIES)
    for line in SEEDS:
        assert primitives.to_text(primitives.parse(line)) == line


@pytest.mark.parametrize("text", SEEDS, ids=FAMILIES)
def test_seed_when_evaluated_on_synthetic_market_then_trades_after_warmup(text: str) -> None:
    strategy = primitives.compile(text)
    positions = strategy.positions(make_market(3000, 42))

    assert np.isnan(positions[: strategy.lookback]).all()
    live = positions[strategy.lookback :]
    assert np.isfinite(live).all() and np.abs(live).max() <= 1.0
    assert np.count_nonzero(np.diff(live)) > 0, "a seed must change position at least once"


@pytest.fixture(scope="module")
def bundled_market() -> fitness.Market:
    return fitness.Market.build([fitness.load_bars("bundled/BTCUSDT-1h")], fitness.FoldConfig())


@pytest.mark.parametrize("text", SEEDS, ids=FAMILIES)
def test_seed_when_evaluated_on_bundled_data_then_finite_rows_and_objectives(
    text: str, bundled_market: fitness.Market
) -> None:
    evaluation = fitness.evaluate(text, bundled_market, fitness.FitnessConfig())

    assert [row.segment for row in evaluation.table] == [
        "discovery-1", "discovery-2", "discovery-3", "discovery-4", "validation",
    ]  # fmt: skip
    for row in evaluation.table:
        assert all(np.isfinite(value) for value in row.metrics.values()), row
        assert 0.0 <= row.metrics["max_drawdown"] < 1.0, row  # no seed is ruined
    assert np.isfinite(evaluation.objectives).all()
    assert sum(row.metrics["n_trades"] for row in evaluation.table) > 0
    assert np.isfinite(evaluation.validation_returns).all()
    assert evaluation.validation_returns.size == 3946 // 24 + 1
    assert evaluation.feasible or "min_trades_per_fold" in evaluation.infeasible_reason
