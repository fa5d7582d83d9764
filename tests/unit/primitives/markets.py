"""Deterministic synthetic markets for primitives tests (random-walk OHLCV with funding)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SyntheticMarket:
    """A ``MarketLike`` bar series: the DESIGN §1 columns as plain numpy arrays."""

    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    funding_rate: np.ndarray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def make_market(
    n_bars: int,
    seed: int = 0,
    *,
    start_price: float = 30_000.0,
    step_volatility: float = 0.01,
    start_ms: int = 1_600_000_000_000 // HOUR_MS * HOUR_MS,
) -> SyntheticMarket:
    """Return a reproducible hourly random-walk market with 8-hourly funding settlements."""
    rng = np.random.default_rng(seed)
    log_steps = rng.normal(0.0, step_volatility, n_bars)
    close = start_price * np.exp(np.cumsum(log_steps))
    open_ = np.empty(n_bars)
    open_[0] = start_price
    open_[1:] = close[:-1]
    wick = np.abs(rng.normal(0.0, step_volatility / 2, (2, n_bars)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    volume = rng.gamma(2.0, 50.0, n_bars)
    volume[rng.random(n_bars) < 0.02] = 0.0
    timestamp = start_ms + np.arange(n_bars, dtype=np.int64) * HOUR_MS
    settles = (timestamp % (8 * HOUR_MS)) == 0
    funding = np.where(settles, rng.normal(1e-4, 2e-4, n_bars).round(6), 0.0)
    return SyntheticMarket(timestamp, open_, high, low, close, volume, funding)


def replace_columns(market: SyntheticMarket, **columns: np.ndarray) -> SyntheticMarket:
    """Return a copy of ``market`` with some columns replaced."""
    return SyntheticMarket(**{**market.columns(), **columns})
