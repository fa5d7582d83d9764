"""Builders for the paper-trading tests: promoted specs of random trees and a stored dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import fitness
import primitives
from benchmarks._synthetic import synthetic_series
from populations.spec import StrategySpec, save_spec

DATASET = "local/SYNTHUSDT-1h"


def store_dataset(home: Path, n_bars: int = 2000, seed: int = 11) -> fitness.BarSeries:
    """Save ``n_bars`` synthetic 1h bars with funding as ``DATASET`` under ``home``."""
    series = synthetic_series(n_bars, seed, symbol="SYNTHUSDT")
    fitness.save_dataset(series, home=home, name=DATASET)
    return fitness.load_bars(DATASET, home=home)


def write_spec(
    directory: Path,
    text: str,
    costs: fitness.CostModel,
    *,
    state: str = "promoted",
    timeframe: str = "1h",
    pset_version: str | None = None,
    symbols: tuple[str, ...] = ("SYNTHUSDT",),
) -> tuple[Path, StrategySpec]:
    """Write a spec of expression ``text`` under ``directory``; return its path and the spec."""
    compiled = primitives.compile(text)
    spec = StrategySpec(
        id=compiled.id,
        expression=compiled.text,
        pretty=compiled.pretty,
        primitive_set_version=pset_version or primitives.PSET_VERSION,
        lookback_bars=compiled.lookback,
        objective_names=["sharpe"],
        objectives=[0.0],
        metrics={"validation": {"annual_return": 0.1}},
        costs=costs.model_dump(),
        data={"timeframe": timeframe, "symbols": list(symbols), "datasets": []},
        run_id="test-run",
        generation=0,
        state=state,
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{spec.id}.json"
    save_spec(spec, path)
    return path, spec


def random_texts(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct canonical texts of random typed trees (the primitives generator)."""
    texts: list[str] = []
    while len(texts) < n:
        text = primitives.compile(primitives.random_tree(rng)).text
        if text not in texts:
            texts.append(text)
    return texts


def expected_equity(
    series: fitness.BarSeries,
    specs: list[StrategySpec],
    weights: list[float],
    equity: float,
    start: int = 0,
    stop: int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the account's and each strategy's ``fitness.simulate`` equity over [start, stop).

    Targets come from the compiled tree over the whole dataset (causal: a bar's target reads
    only bars up to its close), sliced to the range, as a walk-forward segment is.
    """
    stop = len(series.timestamp) if stop is None else stop
    total = sum(weights)
    curves = []
    for spec, weight in zip(specs, weights, strict=True):
        target = primitives.compile(spec.expression).positions(series)[start:stop]
        result = fitness.simulate(
            series.open[start:stop],
            series.close[start:stop],
            series.funding_rate[start:stop],
            target,
            fitness.CostModel.model_validate(spec.costs),
            equity * weight / total,
        )
        curves.append(result.equity)
    return np.sum(curves, axis=0), curves
