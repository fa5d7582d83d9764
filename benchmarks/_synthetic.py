"""Deterministic synthetic markets for benchmarks: random-walk 1h bars with 8-hourly funding.

Benchmarks must not import ``tests/``; this module is their one source of synthetic data.
``synthetic_series(n_bars, seed)`` returns a validated ``fitness.BarSeries``;
``synthetic_market`` splits one or more of them with a ``FoldConfig``.
"""

from __future__ import annotations

import numpy as np

from fitness import BarSeries, FoldConfig, Market

HOUR_MS = 3_600_000
START_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z, a funding settlement time


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
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, volatility, n_bars)))
    open_ = np.concatenate(([30_000.0], close[:-1])) * np.exp(rng.normal(0.0, 5e-4, n_bars))
    wick = np.abs(rng.normal(0.0, volatility / 3, (2, n_bars)))
    timestamp = START_MS + np.arange(n_bars, dtype=np.int64) * HOUR_MS
    funding = np.where(timestamp % (8 * HOUR_MS) == 0, rng.normal(1e-4, 2e-4, n_bars), 0.0)
    return BarSeries.from_arrays(
        timestamp,
        open_,
        np.maximum(open_, close) * (1.0 + wick[0]),
        np.minimum(open_, close) * (1.0 - wick[1]),
        close,
        rng.gamma(2.0, 50.0, n_bars),
        funding,
        symbol=symbol,
        timeframe="1h",
        source=f"synthetic({n_bars}, seed={seed})",
    )


def synthetic_market(
    n_bars: int, seed: int = 0, *, n_symbols: int = 1, folds: FoldConfig | None = None
) -> Market:
    """Return a ``Market`` of ``n_symbols`` synthetic series (seeds ``seed``, ``seed + 1``, …)."""
    series = [synthetic_series(n_bars, seed + i, symbol=f"SYNTH{i}USDT") for i in range(n_symbols)]
    return Market.build(series, folds or FoldConfig())
