"""Replays of one candidate for the promotion evidence: per-symbol ``fitness.simulate`` runs.

Targets are computed once per symbol on the whole series (strategies are causal, so the
holdout's targets equal those of a run that never saw later bars). A :class:`Replay` simulates
each symbol over one calendar span from flat — the holdout (trade records, long and short legs,
monthly and volatility-regime P&L, cost stress, funding flip) or the whole timeline from the
first discovery day to the last holdout day (the equity curve, the PBO matrix) — and combines
the symbols equal-weight on the daily grid the evaluator uses (day buckets from the span's
start). P&L is measured without compounding: the sum of bar returns (each a fraction of the
equity at that bar), averaged over symbols, so a month late in a compounding account weighs as
much as an early one and the parts (months, regimes, legs) add up to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import primitives
from evolve.errors import NoHoldoutError
from fitness import BarSeries, CostModel, Market, SimResult, simulate
from fitness.stats.ratio import DAYS_PER_YEAR, sharpe_annual
from primitives.arrays import Float64Array, Int64Array

DAY_MS = 86_400_000
COST_MULTIPLIERS = (1.0, 1.5, 2.0, 2.5, 3.0)
REGIME_NAMES = ("low vol", "mid vol", "high vol")


@dataclass(frozen=True, slots=True)
class SymbolRun:
    """One symbol's simulation over a gap-free piece of a span: bar open times and result."""

    symbol: str
    timestamp: Int64Array
    result: SimResult
    first_bar: int


@dataclass(frozen=True, slots=True)
class Replay:
    """A candidate simulated on every symbol over ``[start_ms, stop_ms)``.

    Attributes
    ----------
    daily_returns : ndarray of float64, shape (n_days,)
        Equal-weight mean over symbols of each symbol's compounded return per day bucket
        (``bars_per_day`` bars from ``start_ms``; days without bars return 0).
    total_return : float
        Mean over symbols of each account's total return.
    n_symbols : int
        Symbols with bars in the span (``runs`` has one entry per gap-free piece of each).
    """

    runs: tuple[SymbolRun, ...]
    start_ms: int
    n_days: int
    daily_returns: Float64Array
    total_return: float
    n_symbols: int


def strategy_targets(
    text: str, market: Market, memo: primitives.Memo | None = None
) -> list[Float64Array]:
    """Return the strategy's target positions on each symbol's whole series (market order)."""
    strategy = primitives.compile(text)
    return [strategy.positions(series, memo) for series in market.series]


def scaled_costs(costs: CostModel, multiplier: float) -> CostModel:
    """Return ``costs`` with fees and slippage (both terms) multiplied by ``multiplier``."""
    values = costs.model_dump()
    for name in ("taker_fee", "maker_fee", "slippage", "slippage_volatility_multiplier"):
        values[name] = values[name] * multiplier
    return CostModel.model_validate(values)


def day_bucket_ms(market: Market) -> int:
    """Return the length of one day bucket: ``bars_per_day`` bars (the evaluator's grid)."""
    return market.bars_per_day * market.timeframe_ms


def compound_by_day(bar_returns: Float64Array, days: Int64Array, n_days: int) -> Float64Array:
    """Return the compounded return of the bars of each day bucket (0 for a day without bars)."""
    with np.errstate(divide="ignore"):
        logs = np.log1p(np.asarray(bar_returns, dtype=np.float64))
    return np.expm1(np.bincount(days, weights=logs, minlength=n_days)[:n_days])


def span_pieces(series: BarSeries, start_ms: int, stop_ms: int) -> list[tuple[int, int]]:
    """Return the gap-free ``[first, last)`` bar ranges of ``series`` opening in the span.

    Without gaps this is one range; under the "split" gap policy no piece straddles a gap
    (DESIGN §1: no return is ever computed across one).
    """
    first = int(np.searchsorted(series.timestamp, start_ms, side="left"))
    last = int(np.searchsorted(series.timestamp, stop_ms, side="left"))
    pieces = []
    for begin, end in series.segments:
        low, high = max(begin, first), min(end, last)
        if high > low:
            pieces.append((low, high))
    return pieces


def replay(
    targets: Sequence[Float64Array],
    market: Market,
    costs: CostModel,
    start_ms: int,
    stop_ms: int,
    *,
    funding_sign: float = 1.0,
) -> Replay:
    """Simulate each symbol from flat over the bars opening in ``[start_ms, stop_ms)``.

    Parameters
    ----------
    targets : sequence of ndarray of float64, shape (n_bars_i,)
        Whole-series targets per symbol (:func:`strategy_targets`).
    market : Market
    costs : CostModel
    start_ms, stop_ms : int
        Calendar span (ms UTC), e.g. the holdout's ``start_ms``/``stop_ms``.
    funding_sign : float
        Multiplies every funding rate (-1: the funding sign-flip stress).
    """
    bucket_ms = day_bucket_ms(market)
    n_days = max(1, -(-(stop_ms - start_ms) // bucket_ms))
    runs, daily, totals = [], [], []
    for series, target in zip(market.series, targets, strict=True):
        pieces = span_pieces(series, start_ms, stop_ms)
        if not pieces:
            continue
        symbol_daily, growth = np.zeros(n_days), 1.0
        for first, last in pieces:  # each gap-free piece is its own account, from flat
            window = slice(first, last)
            result = simulate(
                series.open[window],
                series.close[window],
                funding_sign * series.funding_rate[window],
                target[window],
                costs,
            )
            timestamp = series.timestamp[window]
            runs.append(SymbolRun(series.symbol, timestamp, result, first))
            piece_daily = compound_by_day(
                result.returns, (timestamp - start_ms) // bucket_ms, n_days
            )
            symbol_daily = (1.0 + symbol_daily) * (1.0 + piece_daily) - 1.0
            growth *= float(result.equity[-1] / result.initial_equity)
        daily.append(symbol_daily)
        totals.append(growth - 1.0)
    combined = np.mean(daily, axis=0) if daily else np.zeros(n_days)
    total = float(np.mean(totals)) if totals else 0.0
    return Replay(tuple(runs), int(start_ms), int(n_days), combined, total, len(daily))


def buy_and_hold_daily(market: Market, start_ms: int, stop_ms: int) -> Float64Array:
    """Return the equal-weight daily returns of holding every symbol over the span.

    Each symbol's bar return is ``close[t] / close[t-1] - 1`` (the first bar of each gap-free
    piece ``close / open - 1``), compounded per day bucket as in :func:`replay`.
    """
    bucket_ms = day_bucket_ms(market)
    n_days = max(1, -(-(stop_ms - start_ms) // bucket_ms))
    daily = []
    for series in market.series:
        pieces = span_pieces(series, start_ms, stop_ms)
        if not pieces:
            continue
        returns, days = [], []
        for first, last in pieces:  # a gap is never crossed: each piece enters at its open
            close = series.close[first:last]
            previous = np.concatenate(([series.open[first]], close[:-1]))
            returns.append(close / previous - 1.0)
            days.append((series.timestamp[first:last] - start_ms) // bucket_ms)
        daily.append(compound_by_day(np.concatenate(returns), np.concatenate(days), n_days))
    return np.mean(daily, axis=0) if daily else np.zeros(n_days)


def funding_carry_daily(market: Market, start_ms: int, stop_ms: int) -> Float64Array:
    """Return the equal-weight daily returns of a delta-neutral funding carry over the span.

    The carry is short one unit of perpetual notional hedged by one unit of spot: it earns each
    settled funding rate (``+rate`` per settlement, the short side's receipt under DESIGN §2's
    sign) and nothing from price moves; fees, basis and hedge costs are ignored, so it is an
    upper bound of what the carry paid over the holdout. Compounded per day bucket as in
    :func:`replay`.
    """
    bucket_ms = day_bucket_ms(market)
    n_days = max(1, -(-(stop_ms - start_ms) // bucket_ms))
    daily = []
    for series in market.series:
        pieces = span_pieces(series, start_ms, stop_ms)
        if not pieces:
            continue
        rates = np.concatenate([series.funding_rate[first:last] for first, last in pieces])
        days = np.concatenate(
            [(series.timestamp[first:last] - start_ms) // bucket_ms for first, last in pieces]
        )
        daily.append(compound_by_day(rates, days, n_days))
    return np.mean(daily, axis=0) if daily else np.zeros(n_days)


def baseline_block(daily_returns: Float64Array, detail: str) -> dict[str, Any]:
    """Return a baseline's holdout summary: total return, annualised Sharpe, max drawdown."""
    returns = np.asarray(daily_returns, dtype=np.float64)
    equity = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    drawdown = float(np.max(1.0 - equity / np.maximum.accumulate(equity)))
    return {
        "holdout_return": float(equity[-1] - 1.0),
        "holdout_sharpe": annual_sharpe(returns),
        "max_drawdown": drawdown,
        "n_days": int(returns.size),
        "detail": detail,
    }


def annual_sharpe(daily_returns: Float64Array) -> float:
    """Return the annualised Sharpe of daily returns (``fitness.stats`` rule: 0.0 if undefined)."""
    return sharpe_annual(daily_returns, DAYS_PER_YEAR)


def curve(daily_returns: Float64Array, start_ms: int, bucket_ms: int) -> dict[str, list]:
    """Return ``{"timestamp_ms", "equity"}``: equity 1.0 at ``start_ms``, then each day's end."""
    equity = np.concatenate(([1.0], np.cumprod(1.0 + np.asarray(daily_returns))))
    timestamps = start_ms + np.arange(equity.size, dtype=np.int64) * bucket_ms
    return {"timestamp_ms": timestamps.tolist(), "equity": equity.tolist()}


def bar_pnl(run: SymbolRun) -> Float64Array:
    """Return the P&L of each bar as a fraction of the equity before it (its bar return)."""
    return run.result.returns


def trade_returns(holdout: Replay) -> Float64Array:
    """Return every holdout trade's return on equity at entry, pooled over symbols."""
    parts = [run.result.trade_records.return_on_equity for run in holdout.runs]
    return np.concatenate(parts) if parts else np.empty(0)


def legs(holdout: Replay) -> dict[str, dict[str, float | int | None]]:
    """Return the long and short legs: P&L, trades and win rate.

    A leg's P&L is the sum of its trades' returns on equity at entry, averaged over symbols.
    """
    n_symbols = max(holdout.n_symbols, 1)
    out: dict[str, dict[str, float | int | None]] = {}
    for name, side in (("long", 1), ("short", -1)):
        pnl = np.concatenate(
            [
                run.result.trade_records.return_on_equity[run.result.trade_records.side == side]
                for run in holdout.runs
            ]
            or [np.empty(0)]
        )
        pnl = pnl[np.isfinite(pnl)]
        out[name] = {
            "pnl": float(pnl.sum()) / n_symbols,
            "n_trades": int(pnl.size),
            "win_rate": float(np.count_nonzero(pnl > 0.0)) / pnl.size if pnl.size else None,
        }
    return out


def monthly_pnl(holdout: Replay) -> list[tuple[str, float]]:
    """Return ``(YYYY-MM, P&L)`` per calendar month (UTC) of the holdout, in time order."""
    totals: dict[str, float] = {}
    n_symbols = max(holdout.n_symbols, 1)
    for run in holdout.runs:
        months = run.timestamp.astype("datetime64[ms]").astype("datetime64[M]").astype(str)
        pnl = bar_pnl(run)
        for month in np.unique(months):
            totals[str(month)] = totals.get(str(month), 0.0) + float(pnl[months == month].sum())
    return [(month, total / n_symbols) for month, total in sorted(totals.items())]


def trailing_volatility(close: Float64Array, window_bars: int) -> Float64Array:
    """Return the causal trailing standard deviation (ddof=1) of log close-to-close returns.

    Element ``t`` uses the returns of bars ``t - window_bars + 1 .. t`` (each known at its
    bar's close), so it never reads a later bar; NaN until ``window_bars`` returns exist.
    """
    prices = np.asarray(close, dtype=np.float64)
    returns = np.concatenate(([np.nan], np.diff(np.log(prices))))
    out = np.full(prices.size, np.nan)
    if window_bars < 2 or prices.size <= window_bars:
        return out
    valid = returns[1:]
    sums = np.concatenate(([0.0], np.cumsum(valid)))
    squares = np.concatenate(([0.0], np.cumsum(valid * valid)))
    window_sum = sums[window_bars:] - sums[:-window_bars]
    window_squares = squares[window_bars:] - squares[:-window_bars]
    variance = (window_squares - window_sum**2 / window_bars) / (window_bars - 1)
    out[window_bars:] = np.sqrt(np.maximum(variance, 0.0))
    return out


def regime_pnl(holdout: Replay, market: Market, window_days: int) -> list[tuple[str, float, int]]:
    """Return ``(regime, P&L, n_bars)`` per volatility tercile of the holdout bars.

    Each symbol's regime at a bar is the tercile (over that symbol's holdout bars) of its
    causal trailing realised volatility over ``window_days`` days (:func:`trailing_volatility`
    on the whole series). Bars without a volatility yet belong to no regime.
    """
    window = window_days * market.bars_per_day
    totals, counts = np.zeros(3), np.zeros(3, dtype=np.int64)
    for series in market.series:
        runs = [run for run in holdout.runs if run.symbol == series.symbol]
        if not runs:
            continue
        trailing = trailing_volatility(series.close, window)
        volatility = [trailing[r.first_bar : r.first_bar + r.timestamp.size] for r in runs]
        known_values = np.concatenate(volatility)
        known_values = known_values[np.isfinite(known_values)]
        if known_values.size == 0:
            continue
        low, high = np.quantile(known_values, [1.0 / 3.0, 2.0 / 3.0])
        for run, values in zip(runs, volatility, strict=True):
            labels = np.where(values <= low, 0, np.where(values <= high, 1, 2))
            known, pnl = np.isfinite(values), bar_pnl(run)
            for regime in range(3):
                members = known & (labels == regime)
                totals[regime] += float(pnl[members].sum())
                counts[regime] += int(members.sum())
    n_symbols = max(holdout.n_symbols, 1)
    return [
        (REGIME_NAMES[regime], float(totals[regime]) / n_symbols, int(counts[regime]))
        for regime in range(3)
        if counts[regime]
    ]


def holdout_span(market: Market) -> tuple[int, int]:
    """Return the holdout's calendar span ``(start_ms, stop_ms)``.

    Raises
    ------
    NoHoldoutError
        If the run's fold config has no holdout (``holdout_fraction = 0``).
    """
    holdout = [c for c in market.timeline.calendar if c.kind == "holdout"]
    if not holdout:
        raise NoHoldoutError(
            "folds.holdout_fraction: the run has no holdout (holdout_fraction = 0), so nothing "
            "was kept out of evolution to test it on; promotion needs a holdout, found none: "
            "start a new run with holdout_fraction > 0 (e.g. 0.2)"
        )
    return holdout[0].start_ms, holdout[0].stop_ms


def timeline_span(market: Market) -> tuple[int, int]:
    """Return the whole timeline: first discovery day to the end of the holdout."""
    calendar = market.timeline.calendar
    return calendar[0].start_ms, calendar[-1].stop_ms
