"""Aggregation of segment backtests: chaining gap-split pieces, daily return records, summaries.

Plain values in, plain values out: ``evaluate`` calls these on the results of one strategy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fitness.backtest.nb import SegmentSummary
from fitness.backtest.simulate import SegmentResult
from fitness.evaluation.market import Market, NamedSegment
from fitness.stats.ratio import sharpe_per_period
from primitives.arrays import Float64Array

# merge_pieces: statistics of returns and counts add; currency amounts scale with the equity
_ADDED = (
    "n_bars",
    "sum_returns",
    "sum_squared_returns",
    "sum_squared_negative_returns",
    "n_trades",
    "bars_exposed",
    "sum_squared_drawdown",
)
_RESCALED = ("fees_paid", "funding_paid", "turnover_notional", "gross_pnl", "sum_equity")


def merge_pieces(results: list[SegmentResult]) -> SegmentResult:
    """Chain the backtests of a named segment's pieces into one account (gap policy "split").

    Each piece starts flat; a piece's path scales linearly with its starting equity, so piece
    k is rescaled to start at the equity piece k − 1 ended with. Return sums, squared sums,
    trades, bars and exposure add; fees, funding, turnover, gross P&L and equity sums are
    rescaled and added; the final equity and buy-and-hold return compound. The maximum
    drawdown is the worst piece's (each piece's peak restarts at its own start: a lower bound
    of the chained curve's drawdown) and likewise its duration.
    """
    scale = 1.0
    initial = results[0].initial_equity
    # float sums of every field; the int fields are converted back when the summary is built
    totals: dict[str, Any] = dict.fromkeys(SegmentSummary._fields, 0.0)
    max_drawdown = max_drawdown_bars = 0.0
    buy_and_hold = 1.0
    buckets = []
    for result in results:
        s = result.summary
        for name in _ADDED:
            totals[name] += getattr(s, name)
        for name in _RESCALED:
            totals[name] += getattr(s, name) * scale
        max_drawdown = max(max_drawdown, s.max_drawdown)
        max_drawdown_bars = max(max_drawdown_bars, s.max_drawdown_bars)
        buy_and_hold *= 1.0 + result.buy_and_hold_return
        scale *= s.final_equity / result.initial_equity
        if result.bucket_returns is not None:
            buckets.append(result.bucket_returns)
    summary = SegmentSummary(
        **{
            **totals,
            "n_bars": int(totals["n_bars"]),
            "n_trades": int(totals["n_trades"]),
            "bars_exposed": int(totals["bars_exposed"]),
            "final_equity": initial * scale,
            "max_drawdown": max_drawdown,
            "max_drawdown_bars": int(max_drawdown_bars),
        }
    )
    return SegmentResult(
        summary=summary,
        initial_equity=initial,
        buy_and_hold_return=buy_and_hold - 1.0,
        bucket_returns=np.concatenate(buckets) if buckets else None,
    )


def daily_returns(
    market: Market, index: int, named: NamedSegment, results: list[SegmentResult]
) -> Float64Array:
    """Return the compounded return per day bucket of a named segment on series ``index``.

    Without gaps this is the segment's bucket array (``bars_per_day`` bars per bucket from
    the segment's start). Pieces around gaps are placed on the calendar: each piece's buckets
    land on the day bucket its first bar falls in (later buckets follow on), days without bars
    have return 0.
    """
    n_days = market.n_days(named)
    first = results[0].bucket_returns
    aligned = market.day_index(index, named, named.pieces[0].start) == 0
    if len(results) == 1 and first is not None and first.shape[0] == n_days and aligned:
        return first
    # pieces around gaps: each piece's buckets land on the calendar day they start in
    daily = np.zeros(n_days)
    for piece, result in zip(named.pieces, results, strict=True):
        offset = market.day_index(index, named, piece.start)
        buckets = result.bucket_returns if result.bucket_returns is not None else ()
        for k, value in enumerate(buckets):
            day = min(offset + k, n_days - 1)
            daily[day] = (1.0 + daily[day]) * (1.0 + value) - 1.0
    return daily


def mean(values: list[float]) -> float:
    """Return the arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def population_std(values: list[float]) -> float:
    """Return the population standard deviation (ddof = 0) of a non-empty list."""
    centre = mean(values)
    return math.sqrt(sum((value - centre) ** 2 for value in values) / len(values))


def split_summary(
    metrics: list[dict[str, float]], daily: list[Float64Array | None]
) -> tuple[dict[str, float], np.ndarray]:
    """Return the symbol-aggregated summary of one split and its daily return record.

    Parameters
    ----------
    metrics : list of dict
        ``segment_metrics`` of the split's segment on each symbol.
    daily : list of ndarray of float64, shape (n_days,)
        Each symbol's compounded return per day bucket (same calendar days).

    Returns
    -------
    (dict, ndarray of float32)
        Means over symbols of ``sharpe``, ``sortino``, ``total_return``, ``exposure`` and
        ``turnover``; the worst ``max_drawdown``; the summed ``n_trades``; ``daily_sharpe``
        of the record and ``n_days``. The record is the equal-weight mean across symbols,
        float32, read-only.
    """
    rows = [row for row in daily if row is not None]
    # sum() adds the rows in order, as numpy's mean over axis 0 does, without a 2-D copy
    record = (sum(rows[1:], rows[0]) / len(rows)).astype(np.float32)
    record.flags.writeable = False

    def values(name: str) -> list[float]:
        return [row[name] for row in metrics]

    summary = {
        "sharpe": mean(values("sharpe")),
        "sortino": mean(values("sortino")),
        "total_return": mean(values("total_return")),
        "max_drawdown": max(values("max_drawdown")),
        "n_trades": float(sum(values("n_trades"))),
        "exposure": mean(values("exposure")),
        "turnover": mean(values("turnover")),
        # per-day Sharpe of the daily record (fitness.stats.ratio: 0.0 when undefined)
        "daily_sharpe": sharpe_per_period(record),
        "n_days": float(record.shape[0]),
    }
    return summary, record
