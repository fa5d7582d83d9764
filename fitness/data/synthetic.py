"""Deterministic synthetic perpetual-futures markets: a driftless random walk and a planted edge.

Two kinds of 1h :class:`~fitness.data.series.BarSeries` with realistic volatility (about 0.6 %
per bar) and a funding rate settled every 8 hours (00:00, 08:00, 16:00 UTC; about 1e-4 ± noise):

- :func:`random_walk_series`: a driftless geometric random walk — no edge for anyone;
- :func:`planted_edge_series`: the same noise plus persistent trend regimes (a drift of
  ±0.05–0.15 % per bar held for 100–300 bars, over the whole span), which a trend rule such as
  an EMA(12/26) crossover trades profitably net of the default costs (an annualised Sharpe of
  about 10 on a 30 % holdout of two years).

:func:`synthetic_markets` builds the ``evolve data synth`` datasets (symbols
``<PREFIX>A…USDT``, the i-th drawn with seed ``seed + i``). Same arguments, same bytes (and
content hash): every draw comes from one ``numpy.random.default_rng(seed)`` in a fixed order.
The tests (``tests/synthetic_markets.py``) and the benchmarks (``benchmarks/_synthetic.py``)
import their generators from here.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from fitness.data.series import BarSeries
from fitness.errors import DataError

HOUR_MS = 3_600_000
BENCHMARK_START_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z, a funding settlement time
START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z, a funding settlement time
BAR_VOLATILITY = 0.006  # standard deviation of the 1h log return
FUNDING_MEAN, FUNDING_NOISE = 1e-4, 5e-5
KINDS = ("trend", "random_walk")
DEFAULT_PREFIX = {"trend": "PE", "random_walk": "RW"}
MAX_SYMBOLS = len(string.ascii_uppercase)
MIN_DAYS = 30


def bars_from_log_returns(
    log_returns: np.ndarray,
    rng: np.random.Generator,
    *,
    symbol: str,
    source: str,
    start_ms: int = BENCHMARK_START_MS,
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

    Parameters
    ----------
    log_returns : ndarray of float64, shape (n_bars,)
        Close-to-close log return of each bar (the first from ``base_price``).
    rng : numpy.random.Generator
        Source of every other draw.
    symbol, source : str
        Metadata of the series.
    start_ms : int
        Open time of the first bar, ms UTC.
    base_price : float
        Price before the first bar, quote currency.
    open_noise, wick_volatility : float
        Standard deviations of the open's log gap and of the wick's relative length.
    volume_scale : float
        Scale of the Gamma(2) volume, base asset.
    funding_mean, funding_noise : float
        Mean and standard deviation of the settled funding rate (fraction per settlement).
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


def market_bars(
    log_returns: np.ndarray, rng: np.random.Generator, *, symbol: str, source: str
) -> BarSeries:
    """Return :func:`bars_from_log_returns` with this module's market: from 2023-01-01, base
    price 20,000, wicks a third of the bar volatility, funding ``N(1e-4, 5e-5)``."""
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
    return market_bars(
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
    return market_bars(
        log_returns, rng, symbol=symbol, source=f"planted_edge({n_bars}, seed={seed})"
    )


@dataclass(frozen=True, slots=True)
class SyntheticMarket:
    """One generated symbol of :func:`synthetic_markets`: its bars, seed and provenance text."""

    series: BarSeries
    seed: int
    provenance: str


def synthetic_markets(
    kind: str = "trend",
    *,
    n_symbols: int = 2,
    n_days: int = 730,
    seed: int = 10,
    prefix: str | None = None,
) -> tuple[SyntheticMarket, ...]:
    """Return the ``evolve data synth`` markets: ``n_symbols`` series of ``n_days`` of 1h bars.

    Parameters
    ----------
    kind : {"trend", "random_walk"}
        ``"trend"``: :func:`planted_edge_series` (a known, tradeable trend edge);
        ``"random_walk"``: :func:`random_walk_series` (no edge).
    n_symbols : int
        Number of symbols, 1..26; the i-th (0-based) is ``<prefix><letter i>USDT`` drawn with
        seed ``seed + i``.
    n_days : int
        Days of hourly bars (>= 30), from 2023-01-01T00:00Z.
    seed : int
        Seed of the first symbol (>= 0).
    prefix : str, optional
        Symbol prefix, letters and digits; default ``"PE"`` (trend) or ``"RW"`` (random walk).

    Raises
    ------
    DataError
        For an unknown kind or an argument out of range (naming it).
    """
    if kind not in KINDS:
        raise DataError(f"synthetic market kind {kind!r} is unknown (expected one of {KINDS})")
    if not 1 <= n_symbols <= MAX_SYMBOLS:
        raise DataError(f"synthetic market: symbols = {n_symbols} (expected 1..{MAX_SYMBOLS})")
    if n_days < MIN_DAYS:
        raise DataError(f"synthetic market: days = {n_days} (expected >= {MIN_DAYS})")
    if seed < 0:
        raise DataError(f"synthetic market: seed = {seed} (expected >= 0)")
    head = DEFAULT_PREFIX[kind] if prefix is None else prefix
    if not head.isascii() or not head.isalnum():
        raise DataError(f"synthetic market: prefix {head!r} is not letters and digits (e.g. PE)")
    generate = planted_edge_series if kind == "trend" else random_walk_series
    what = "synthetic planted trend edge" if kind == "trend" else "synthetic random walk (no edge)"
    n_bars = n_days * 24
    markets = []
    for i in range(n_symbols):
        symbol = f"{head.upper()}{string.ascii_uppercase[i]}USDT"
        provenance = (
            f"{what}, seed {seed + i} ({n_days} days of 1h bars, "
            f"fitness.data.synthetic.{generate.__name__})"
        )
        markets.append(
            SyntheticMarket(generate(n_bars, seed + i, symbol=symbol), seed + i, provenance)
        )
    return tuple(markets)
