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


def bars_from_log_returns(
    log_returns: np.ndarray,
    rng: np.random.Generator,
    *,
    symbol: str,
    source: str,
    start_ms: int = START_MS,
    base_price: float = 30_000.0,
    open_noise: float = 5e-4,
    wick_volatility: float = 0.002,
    volume_scale: float = 50.0,
    funding_mean: float = 1e-4,
    funding_noise: float = 2e-4,
) -> BarSeries:
    """Return hourly bars whose closes follow ``log_returns``, drawing the rest from ``rng``.

    The open sits near the previous close (lognormal noise ``open_noise``), wicks reach
    ``|N(0, wick_volatility)|`` beyond the body, volume is ``Gamma(2, volume_scale)`` and funding
    ``N(funding_mean, funding_noise)`` settles at 00:00, 08:00 and 16:00 UTC (zero elsewhere).
    The draws happen in that order, so same inputs give the same bytes.
    """
    n_bars = log_returns.shape[0]
    close = base_price * np.exp(np.cumsum(log_returns))
    open_ = np.concatenate(([base_price], close[:-1])) * np.exp(rng.normal(0.0, open_noise, n_bars))
    wick = np.abs(rng.normal(0.0, wick_volatility, (2, n_bars)))
    timestamp = start_ms + np.arange(n_bars, dtype=np.int64) * HOUR_MS
    settles = timestamp % (8 * HOUR_MS) == 0
    funding = np.where(settles, rng.normal(funding_mean, funding_noise, n_bars), 0.0)
    return BarSeries.from_arrays(
        timestamp,
        open_,
        np.maximum(open_, close) * (1.0 + wick[0]),
        np.minimum(open_, close) * (1.0 - wick[1]),
        close,
        rng.gamma(2.0, volume_scale, n_bars),
        funding,
        symbol=symbol,
        timeframe="1h",
        source=source,
    )


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
