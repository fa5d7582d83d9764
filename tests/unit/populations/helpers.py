"""Deterministic factories for the persistence tests: strategy specs and lineage records."""

from __future__ import annotations

from collections.abc import Sequence

from fitness import CostModel
from populations import Member, StrategySpec
from tests.stubs import make_member


def make_spec(id: str = "a1b2c3d4e5f60718", **overrides: object) -> StrategySpec:
    """Return a valid spec with realistic fields; ``overrides`` replace any field."""
    values: dict[str, object] = {
        "id": id,
        "expression": "pos_from(gt(close, sma(close, 50)), lt(rsi(close, 14), 30.0))",
        "pretty": "long when close > sma(close, 50); short when rsi(close, 14) < 30",
        "primitive_set_version": "pset-0123abcd",
        "lookback_bars": 50,
        "objective_names": ["robust_score", "max_drawdown", "n_nodes"],
        "objectives": [0.8123456789012345, 0.25, 9.0],
        "metrics": {
            "train": {"sharpe": 1.25, "max_drawdown": 0.2, "n_trades": 42.0},
            "validation": {"sharpe": 0.9, "max_drawdown": 0.3, "n_trades": 11.0},
        },
        "fold_table": [
            {"segment": 0, "kind": "train", "symbol": "BTCUSDT", "sharpe": 1.1},
            {"segment": 0, "kind": "validation", "symbol": "BTCUSDT", "sharpe": 0.7},
        ],
        "stability": 0.85,
        "costs": CostModel().model_dump(),
        "data": {
            "timeframe": "1h",
            "symbols": ["BTCUSDT"],
            "datasets": [
                {"name": "binanceusdm/BTCUSDT-1h", "symbol": "BTCUSDT", "content_hash": "ab" * 32}
            ],
        },
        "run_id": "20260101-000000-s42-ab12",
        "generation": 3,
    }
    values.update(overrides)
    return StrategySpec.model_validate(values)


def make_row(
    id: str,
    generation: int,
    parent_ids: Sequence[str] = (),
    *,
    operator: str = "crossover",
    score: float = 0.5,
    is_new_trial: bool = True,
    returns: Sequence[float] = (0.01, -0.02, 0.005),
) -> Member:
    """Return an offspring record (one lineage row) whose first objective is ``score``."""
    return make_member(
        id,
        f"expr_{id}",
        (score, 0.1, 7.0),
        n_nodes=7,
        generation=generation,
        parent_ids=parent_ids,
        operator=operator,
        is_new_trial=is_new_trial,
        penalized=(score - 0.01, 0.1, 7.0),
        semantic_hash=f"sem_{id}",
        returns=returns,
    )
