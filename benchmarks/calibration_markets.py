"""Synthetic perpetual-futures markets of the promoter's calibration (``benchmarks.calibration``).

Every generator returns one 1h :class:`fitness.BarSeries` from ``(n_bars, seed)`` (same
arguments, same bytes) with funding settled every 8 hours (00:00, 08:00, 16:00 UTC).

Null families (no edge for any rule):

- ``garch``: GARCH(1,1) volatility clustering (α 0.06, β 0.92, 0.6 %/bar unconditional) with
  Student-t(4) innovations; funding an AR(1) around 1e-4 (φ 0.95 per settlement), independent
  of the returns: autocorrelated but uninformative;
- ``bootstrap``: real BTC/ETH hourly log returns of the bundled data, demeaned (the 2023–2025
  bull drift is not an edge), stationary-block-bootstrapped in one-week blocks; the real
  funding settlements shuffled in one-week blocks, independently of the returns;
- ``drift``: a random walk with a drift worth an annualised buy-and-hold Sharpe of 1: only
  buy-and-hold earns, and no more than a plausible market premium.

Planted-edge families, each at a strength ``s`` (a per-bar log-return drift) and an *oracle*
expression of the grammar that trades the planted rule exactly:

- ``time_of_day``: bars opening 13:00–16:59 UTC drift ``+s``, 01:00–04:59 UTC ``-s``;
  oracle ``pos_from(hour_between(13, 17), hour_between(1, 5))``;
- ``funding``: funding as in ``garch``; while the last settled rate is below 1e-4 the bars
  drift ``+s``, above it ``-s`` (a funding squeeze); oracle
  ``pos_from(lt(funding, 0.0001), gt(funding, 0.0001))``;
- ``trend``: trend regimes of 100–300 bars with drift ``±U(0.5 s, 1.5 s)``; oracle the EMA
  12/26 crossover.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from fitness import BarSeries

HOUR_MS = 3_600_000
START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z, a funding settlement time
BAR_VOLATILITY = 0.006
FUNDING_MEAN = 1e-4
BUNDLED = Path(__file__).resolve().parents[1] / "fitness" / "bundled"

ORACLES = {
    "time_of_day": "pos_from(hour_between(13, 17), hour_between(1, 5))",
    "funding": "pos_from(lt(funding, 0.0001), gt(funding, 0.0001))",
    "trend": "pos_from(gt(ema(close, 12), ema(close, 26)), lt(ema(close, 12), ema(close, 26)))",
}


def _timestamps(n_bars: int) -> np.ndarray:
    return START_MS + np.arange(n_bars, dtype=np.int64) * HOUR_MS


def _series(
    log_returns: np.ndarray,
    funding: np.ndarray,
    rng: np.random.Generator,
    *,
    symbol: str,
    source: str,
) -> BarSeries:
    """Return bars closing on ``log_returns`` with ``funding`` (zero off the settlements)."""
    n_bars = log_returns.shape[0]
    close = 20_000.0 * np.exp(np.cumsum(log_returns))
    open_ = np.concatenate(([20_000.0], close[:-1])) * np.exp(rng.normal(0.0, 2e-4, n_bars))
    wick = np.abs(rng.normal(0.0, BAR_VOLATILITY / 3.0, (2, n_bars)))
    return BarSeries.from_arrays(
        _timestamps(n_bars),
        open_,
        np.maximum(open_, close) * (1.0 + wick[0]),
        np.minimum(open_, close) * (1.0 - wick[1]),
        close,
        rng.gamma(2.0, 500.0, n_bars),
        funding,
        symbol=symbol,
        timeframe="1h",
        source=source,
    )


def _settles(n_bars: int) -> np.ndarray:
    return _timestamps(n_bars) % (8 * HOUR_MS) == 0


def ar_funding(n_bars: int, rng: np.random.Generator, phi: float = 0.95) -> np.ndarray:
    """Return an AR(1) funding rate around 1e-4 on the settlements, zero elsewhere."""
    settles = _settles(n_bars)
    n_settles = int(np.count_nonzero(settles))
    noise = rng.normal(0.0, 3e-5, n_settles)
    values = np.empty(n_settles)
    level = 0.0
    for k in range(n_settles):
        level = phi * level + noise[k]
        values[k] = FUNDING_MEAN + level
    funding = np.zeros(n_bars)
    funding[settles] = values
    return funding


def last_settled(funding: np.ndarray) -> np.ndarray:
    """Return the funding rate last settled strictly before each bar (1e-4 before the first)."""
    settles = _settles(funding.shape[0])
    index = np.where(settles, np.arange(funding.shape[0]), -1)
    latest = np.maximum.accumulate(index)
    previous = np.concatenate(([-1], latest[:-1]))
    return np.where(previous >= 0, funding[np.maximum(previous, 0)], FUNDING_MEAN)


def garch_returns(n_bars: int, rng: np.random.Generator) -> np.ndarray:
    """Return GARCH(1,1) log returns with Student-t(4) innovations (0.6 %/bar on average)."""
    alpha, beta = 0.06, 0.92
    omega = BAR_VOLATILITY**2 * (1.0 - alpha - beta)
    shocks = rng.standard_t(4, n_bars) / np.sqrt(2.0)  # unit variance
    out = np.empty(n_bars)
    variance = BAR_VOLATILITY**2
    for i in range(n_bars):
        out[i] = np.sqrt(variance) * shocks[i]
        variance = omega + alpha * out[i] ** 2 + beta * variance
    return out


def null_garch(n_bars: int, seed: int) -> BarSeries:
    """GARCH-t returns with autocorrelated, uninformative funding."""
    rng = np.random.default_rng(seed)
    returns = garch_returns(n_bars, rng)
    funding = ar_funding(n_bars, rng)
    return _series(returns, funding, rng, symbol="NGARUSDT", source=f"null_garch(seed={seed})")


@cache
def _bundled(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    bars = pq.read_table(BUNDLED / f"{symbol}-1h" / "bars.parquet")
    close = bars.column("close").to_numpy()
    funding = bars.column("funding_rate").to_numpy()
    timestamp = bars.column("timestamp").to_numpy()
    settled = funding[(timestamp % (8 * HOUR_MS) == 0)]
    log_returns = np.diff(np.log(close))
    return log_returns - log_returns.mean(), np.nan_to_num(settled, nan=FUNDING_MEAN)


def _blocks(n_out: int, n_in: int, block: int, rng: np.random.Generator) -> np.ndarray:
    starts = rng.integers(0, n_in - block, -(-n_out // block))
    return (starts[:, None] + np.arange(block)[None, :]).ravel()[:n_out]


def null_bootstrap(n_bars: int, seed: int) -> BarSeries:
    """Demeaned real BTC (even seeds) or ETH (odd) returns and funding, block-shuffled apart."""
    rng = np.random.default_rng(seed)
    returns, settled = _bundled("BTCUSDT" if seed % 2 == 0 else "ETHUSDT")
    log_returns = returns[_blocks(n_bars, returns.size, 24 * 7, rng)]
    settles = _settles(n_bars)
    funding = np.zeros(n_bars)
    funding[settles] = settled[_blocks(int(np.count_nonzero(settles)), settled.size, 21, rng)]
    return _series(
        log_returns, funding, rng, symbol="NBOOTUSDT", source=f"null_bootstrap(seed={seed})"
    )


def null_drift(n_bars: int, seed: int) -> BarSeries:
    """A random walk whose drift gives buy-and-hold an annualised Sharpe of 1."""
    rng = np.random.default_rng(seed)
    drift = BAR_VOLATILITY / np.sqrt(24 * 365)
    log_returns = rng.normal(drift, BAR_VOLATILITY, n_bars)
    funding = ar_funding(n_bars, rng)
    return _series(log_returns, funding, rng, symbol="NDRIFTUSDT", source=f"null_drift({seed})")


def planted_time_of_day(n_bars: int, seed: int, strength: float) -> BarSeries:
    """Bars opening 13–17 h UTC drift +strength, 1–5 h UTC -strength; GARCH-free noise."""
    rng = np.random.default_rng(seed)
    hours = (_timestamps(n_bars) // HOUR_MS) % 24
    drift = np.where((hours >= 13) & (hours < 17), strength, 0.0)
    drift = drift - np.where((hours >= 1) & (hours < 5), strength, 0.0)
    log_returns = drift + rng.normal(0.0, BAR_VOLATILITY, n_bars)
    funding = ar_funding(n_bars, rng)
    return _series(
        log_returns, funding, rng, symbol="PTODUSDT", source=f"time_of_day({strength}, {seed})"
    )


def planted_funding(n_bars: int, seed: int, strength: float) -> BarSeries:
    """Bars drift -strength while the last settled funding is above 1e-4, +strength below."""
    rng = np.random.default_rng(seed)
    funding = ar_funding(n_bars, rng)
    drift = np.where(last_settled(funding) > FUNDING_MEAN, -strength, strength)
    log_returns = drift + rng.normal(0.0, BAR_VOLATILITY, n_bars)
    return _series(
        log_returns, funding, rng, symbol="PFUNDUSDT", source=f"funding({strength}, {seed})"
    )


def planted_trend(n_bars: int, seed: int, strength: float) -> BarSeries:
    """Trend regimes of 100–300 bars with drift ±U(0.5, 1.5)·strength plus the noise."""
    rng = np.random.default_rng(seed)
    drift = np.empty(n_bars)
    position, sign = 0, 1.0 if rng.random() < 0.5 else -1.0
    while position < n_bars:
        length = int(rng.integers(100, 301))
        drift[position : position + length] = sign * rng.uniform(0.5, 1.5) * strength
        position += length
        sign = -sign if rng.random() < 0.7 else sign
    log_returns = drift + rng.normal(0.0, BAR_VOLATILITY, n_bars)
    funding = ar_funding(n_bars, rng)
    return _series(
        log_returns, funding, rng, symbol="PTRENDUSDT", source=f"trend({strength}, {seed})"
    )


NULLS: dict[str, Callable[[int, int], BarSeries]] = {
    "garch": null_garch,
    "bootstrap": null_bootstrap,
    "drift": null_drift,
}
PLANTED: dict[str, Callable[[int, int, float], BarSeries]] = {
    "time_of_day": planted_time_of_day,
    "funding": planted_funding,
    "trend": planted_trend,
}


def write_bar_file(directory: Path, series: BarSeries) -> Path:
    """Write ``series`` to ``directory/<SYMBOL>-<timeframe>.parquet`` (the DESIGN §1 schema)."""
    import pyarrow as pa

    path = Path(directory) / f"{series.symbol}-{series.timeframe}.parquet"
    columns = {
        name: pa.array(getattr(series, name))
        for name in ("timestamp", "open", "high", "low", "close", "volume", "funding_rate")
    }
    pq.write_table(pa.table(columns), path)
    return path
