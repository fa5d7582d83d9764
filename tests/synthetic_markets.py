"""Deterministic synthetic perpetual-futures markets for the promotion tests.

Two kinds of 1h ``fitness.BarSeries`` with realistic volatility (about 0.6 % per bar) and a
funding rate settled every 8 hours (00:00, 08:00, 16:00 UTC; about 1e-4 ± noise):

- :func:`random_walk_series`: a driftless geometric random walk — no edge for anyone;
- :func:`planted_edge_series`: the same noise plus persistent trend regimes (a drift of
  ±0.05–0.15 % per bar held for 100–300 bars, over the whole span, holdout included), which
  a trend rule such as an EMA crossover trades profitably net of the default costs (an
  annualised Sharpe of about 10 on the holdout).

The generators live in :mod:`fitness.data.synthetic` (``evolve data synth`` stores them in the
data home) and are re-exported here. Same arguments, same bytes (and content hash).
:func:`write_bar_file` stores a series as a
Parquet file ``<SYMBOL>-1h.parquet`` that ``evolve run --data PATH`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from fitness.data.synthetic import (
    BAR_VOLATILITY,
    FUNDING_MEAN,
    FUNDING_NOISE,
    START_MS,
    planted_edge_series,
    random_walk_series,
    trend_regimes,
)
from fitness.data.synthetic import market_bars as _bars_from_log_returns

if TYPE_CHECKING:
    from fitness import BarSeries

__all__ = [
    "BAR_VOLATILITY",
    "FUNDING_MEAN",
    "FUNDING_NOISE",
    "START_MS",
    "_bars_from_log_returns",
    "planted_edge_series",
    "random_walk_series",
    "trend_regimes",
    "write_bar_file",
]


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
