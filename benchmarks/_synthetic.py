"""Deterministic synthetic markets for benchmarks: random-walk 1h bars with 8-hourly funding.

Benchmarks must not import ``tests/``; this module is their one source of synthetic data.
``synthetic_series(n_bars, seed)`` returns a validated ``fitness.BarSeries``;
``synthetic_market`` splits one or more of them with a ``FoldConfig``. The bar generator
``bars_from_log_returns`` lives in ``fitness.data.synthetic`` (shared with ``evolve data synth``).
"""

from __future__ import annotations

import numpy as np

from fitness import BarSeries, FoldConfig, Market
from fitness.data.synthetic import BENCHMARK_START_MS as START_MS
from fitness.data.synthetic import HOUR_MS, bars_from_log_returns

__all__ = ["HOUR_MS", "START_MS", "bars_from_log_returns", "synthetic_market", "synthetic_series"]


def synthetic_series(
    n_bars: int, seed: int = 0, *, symbol: str = "SYNTHUSDT", volatility: float = 0.006
) -> BarSeries:
    """Return ``n_bars`` hourly bars of a geometric random walk with funding every 8 hours.

    Parameters
    ----------
    n_bars : int
        Number of bars (>= 2).
    seed : int
        Seed of the walk, wicks, volume and funding (same seed, same series).
    symbol : str
        Symbol name of the series.
    volatility : float
        Standard deviation of the hourly log return.
    """
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.0, volatility, n_bars)
    return bars_from_log_returns(
        log_returns,
        rng,
        symbol=symbol,
        source=f"synthetic({n_bars}, seed={seed})",
        wick_volatility=volatility / 3,
    )


def synthetic_market(
    n_bars: int, seed: int = 0, *, n_symbols: int = 1, folds: FoldConfig | None = None
) -> Market:
    """Return a ``Market`` of ``n_symbols`` synthetic series (seeds ``seed``, ``seed + 1``, …)."""
    series = [synthetic_series(n_bars, seed + i, symbol=f"SYNTH{i}USDT") for i in range(n_symbols)]
    return Market.build(series, folds or FoldConfig())
