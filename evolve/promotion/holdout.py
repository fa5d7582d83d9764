"""A promoted spec's holdout daily returns: the baseline of its lifecycle and portfolio.

Two sources: the run that promoted it (the promoter's own holdout replay, so the numbers are
the ones the gauntlet judged), or a span of a stored dataset (a spec outside a run dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import primitives
from evolve.promotion import replays
from evolve.promotion.replays import holdout_span
from evolve.promotion.run_inputs import open_run
from fitness import BarSeries, CostModel, simulate
from populations import StrategySpec
from primitives.arrays import Float64Array

DAY_MS = replays.DAY_MS


@dataclass(frozen=True, slots=True)
class HoldoutReturns:
    """Daily returns of one spec over a span, day ``i`` starting at ``start_ms + i*bucket_ms``."""

    spec_id: str
    daily_returns: Float64Array
    start_ms: int
    bucket_ms: int
    source: str
    symbols: tuple[str, ...]


def run_dir_of(spec_path: Path) -> Path | None:
    """Return the run directory of a spec at ``RUN/promoted/ID.json`` (None elsewhere)."""
    path = Path(spec_path).absolute()
    run = path.parent.parent
    if path.parent.name == "promoted" and (run / "run.json").is_file():
        return run
    return None


def run_holdout_returns(run_dir: Path, specs: list[StrategySpec]) -> list[HoldoutReturns]:
    """Return each spec's holdout replay on its run's market (the promoter's replay)."""
    run = open_run(run_dir)
    market = run.inputs.market
    span = holdout_span(market)
    bucket_ms = replays.day_bucket_ms(market)
    out = []
    for spec in specs:
        targets = replays.strategy_targets(spec.expression, market)
        holdout = replays.replay(targets, market, CostModel.model_validate(spec.costs), *span)
        out.append(
            HoldoutReturns(
                spec.id,
                holdout.daily_returns,
                span[0],
                bucket_ms,
                f"run {run.manifest.run_id} holdout",
                _symbols(spec),
            )
        )
    return out


def dataset_returns(
    spec: StrategySpec, series: BarSeries, start_ms: int | None, stop_ms: int | None
) -> HoldoutReturns:
    """Return the spec simulated from flat over ``series`` bars in ``[start_ms, stop_ms)``,
    compounded per UTC day (targets over the whole series: strategies are causal)."""
    target = primitives.compile(spec.expression).positions(series)
    first = 0 if start_ms is None else int(np.searchsorted(series.timestamp, start_ms))
    last = (
        len(series.timestamp)
        if stop_ms is None
        else int(np.searchsorted(series.timestamp, stop_ms))
    )
    window = slice(first, last)
    result = simulate(
        series.open[window],
        series.close[window],
        series.funding_rate[window],
        target[window],
        CostModel.model_validate(spec.costs),
    )
    timestamp = series.timestamp[window]
    day0 = int(timestamp[0]) // DAY_MS * DAY_MS if timestamp.size else 0
    days = (timestamp - day0) // DAY_MS
    n_days = int(days[-1]) + 1 if timestamp.size else 0
    daily = replays.compound_by_day(result.returns, days, n_days)
    return HoldoutReturns(spec.id, daily, day0, DAY_MS, "dataset span", (series.symbol,))


def _symbols(spec: StrategySpec) -> tuple[str, ...]:
    symbols = spec.data.get("symbols", [])
    return tuple(str(s) for s in symbols) if isinstance(symbols, list) else ()
