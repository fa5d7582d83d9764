"""Deterministic synthetic perpetual-futures markets for the promotion tests.

Two kinds of 1h ``fitness.BarSeries`` with realistic volatility (about 0.6 % per bar) and a
funding rate settled every 8 hours (00:00, 08:00, 16:00 UTC; about 1e-4 ± noise):

- :func:`random_walk_series`: a driftless geometric random walk — no edge for anyone;
- :func:`planted_edge_series`: the same noise plus persistent trend regimes (a drift of
  ±0.05–0.15 % per bar held for 100–300 bars, over the whole span, holdout included), which
  a trend rule such as an EMA crossover trades profitably net of the default costs (an
  annualised Sharpe of about 10 on the holdout).

Same arguments, same bytes (and content hash). :func:`write_bar_file` stores a series as a
Parquet file ``<SYMBOL>-1h.parquet`` that ``evolve run --data PATH`` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._synthetic import bars_from_log_returns
from fitness import BarSeries

START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z, a funding settlement time
BAR_VOLATILITY = 0.006  # standard deviation of the 1h log return
FUNDING_MEAN, FUNDING_NOISE = 1e-4, 5e-5


def _bars_from_log_returns(
    log_returns: np.ndarray, rng: np.random.Generator, *, symbol: str, source: str
) -> BarSeries:
    return bars_from_log_returns(
        log_returns,
        rng,
        symbol=symbol,
        source=source,
        start_ms=START_MS,
        base_price=20_000.0,
        open_noise=2e-4,
        wick_volatility=BAR_VOLATILITY / 3.0,
        volume_scale=500.0,
        funding_mean=FUNDING_MEAN,
        funding_noise=FUNDING_NOISE,
    )


def random_walk_series(n_bars: int, seed: int = 0, *, symbol: str = "RWAUSDT") -> BarSeries:
    """Return ``n_bars`` hourly bars of a driftless random walk with 8-hourly funding.

    Parameters
    ----------
    n_bars : int
        Number of 1h bars (e.g. 13,140 for 1.5 years).
    seed : int
        Seed of every draw.
    symbol : str
        Symbol of the series.
    """
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.0, BAR_VOLATILITY, n_bars)
    return _bars_from_log_returns(
        log_returns, rng, symbol=symbol, source=f"random_walk({n_bars}, seed={seed})"
    )


def trend_regimes(
    n_bars: int,
    rng: np.random.Generator,
    *,
    min_bars: int = 100,
    max_bars: int = 300,
    min_drift: float = 0.0005,
    max_drift: float = 0.0015,
) -> np.ndarray:
    """Return a per-bar drift (log return) made of regimes of random sign and length.

    Returns
    -------
    ndarray of float64, shape (n_bars,)
        Each regime lasts ``U{min_bars..max_bars}`` bars with drift ``±U(min_drift,
        max_drift)``; the sign alternates with probability 0.7, else repeats.
    """
    drift = np.empty(n_bars)
    position, sign = 0, 1.0 if rng.random() < 0.5 else -1.0
    while position < n_bars:
        length = int(rng.integers(min_bars, max_bars + 1))
        drift[position : position + length] = sign * rng.uniform(min_drift, max_drift)
        position += length
        sign = -sign if rng.random() < 0.7 else sign
    return drift


def planted_edge_series(n_bars: int, seed: int = 0, *, symbol: str = "PEAUSDT") -> BarSeries:
    """Return ``n_bars`` hourly bars with persistent trend regimes (a tradeable trend edge).

    The log return of each bar is the regime drift of :func:`trend_regimes` plus the random
    walk's noise (0.6 % per bar); funding as in :func:`random_walk_series`.
    """
    rng = np.random.default_rng(seed)
    drift = trend_regimes(n_bars, rng)
    log_returns = drift + rng.normal(0.0, BAR_VOLATILITY, n_bars)
    return _bars_from_log_returns(
        log_returns, rng, symbol=symbol, source=f"planted_edge({n_bars}, seed={seed})"
    )


def write_bar_file(directory: Path, series: BarSeries) -> Path:
    """Write ``series`` to ``directory/<SYMBOL>-<timeframe>.parquet`` (the DESIGN §1 schema).

    The file name tells the loader the symbol and timeframe; returns the path.
    """
    path = Path(directory) / f"{series.symbol}-{series.timeframe}.parquet"
    columns = {
        "timestamp": pa.array(series.timestamp),
        "open": pa.array(series.open),
        "high": pa.array(series.high),
        "low": pa.array(series.low),
        "close": pa.array(series.close),
        "volume": pa.array(series.volume),
        "funding_rate": pa.array(series.funding_rate),
    }
    pq.write_table(pa.table(columns), path)
    return path
