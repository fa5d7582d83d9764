"""Where funding can be charged (DESIGN §2 step 1): only on bars whose opens hold every settlement.

The backtest charges a bar's funding on the quantity held *going into* the bar, before the fill
at its open. That is exact when each settlement falls on a bar open, and wrong when one falls
inside a bar: the settlement would be charged on the quantity held before the bar's fill (a
long entered at a 1d open misses the 08:00 and 16:00 settlements; an exit pays them). So a
backtest with funding enabled refuses such bars instead of charging them wrongly:

- by timeframe: the 8-hour grid (00:00, 08:00, 16:00 UTC) lies on bar opens only for
  timeframes dividing 8h (1m … 4h, 8h); 6h, 12h and 1d are refused when the series carries
  funding;
- by data: a stored funding table with settlements later than ``SETTLEMENT_JITTER_MS`` after
  a bar open (e.g. a symbol on a 1h or 4h funding interval under 4h or 8h bars) is refused.

A series without funding data (all rates 0) or a cost model with ``funding = false`` is always
accepted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from fitness.backtest.costs import CostModel
from fitness.data.loading import load_funding
from fitness.data.series import BarSeries, FundingTable
from fitness.data.store import DatasetNotFoundError
from fitness.data.timeframes import iso_from_ms, timeframe_to_ms
from fitness.errors import FundingTimeframeError
from primitives.arrays import Int64Array

__all__ = [
    "FUNDING_GRID_MS",
    "SETTLEMENT_JITTER_MS",
    "check_funding_bars",
    "check_funding_settlements",
    "check_stored_funding",
    "settlements_inside_bars",
    "settles_on_bar_opens",
]

FUNDING_GRID_MS = 8 * 3_600_000
"""The standard funding interval: settlements at 00:00, 08:00 and 16:00 UTC."""
SETTLEMENT_JITTER_MS = 1_000
"""Exchange timestamps run a few ms late (08:00:00.008): up to 1 s after an open counts as on it."""


def settles_on_bar_opens(timeframe: str) -> bool:
    """Return whether every 8-hourly settlement falls on a bar open (the timeframe divides 8h)."""
    return FUNDING_GRID_MS % timeframe_to_ms(timeframe) == 0


def _carries_funding(series: BarSeries) -> bool:
    return series.has_funding and bool(np.any(series.funding_rate != 0.0))


def check_funding_bars(series: Iterable[BarSeries], costs: CostModel) -> None:
    """Refuse funding on a timeframe whose bar opens miss the 8-hourly settlements.

    Raises
    ------
    FundingTimeframeError
        If ``costs.funding`` is on and a series with funding data has a timeframe that does
        not divide 8h (6h, 12h, 1d).
    """
    if not costs.funding:
        return
    for one in series:
        if not settles_on_bar_opens(one.timeframe) and _carries_funding(one):
            raise FundingTimeframeError(
                f"{one.name or one.symbol}: funding on {one.timeframe} bars is not supported: "
                f"the 08:00 and 16:00 UTC settlements fall inside a {one.timeframe} bar, and the "
                "backtest charges a bar's funding on the quantity held before its open "
                "(expected a timeframe dividing 8h: 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h or 8h); use "
                "one of those timeframes or set [costs] funding = false"
            )


def settlements_inside_bars(
    bar_timestamp: Int64Array, timeframe_ms: int, funding_timestamp: Int64Array
) -> Int64Array:
    """Return the indices of settlements later than ``SETTLEMENT_JITTER_MS`` after their bar's open.

    Settlements outside ``[first open, last open + timeframe_ms)`` or inside a gap belong to no
    bar and are not returned.
    """
    bars = np.asarray(bar_timestamp, dtype=np.int64)
    times = np.asarray(funding_timestamp, dtype=np.int64)
    owner = np.searchsorted(bars, times, side="right") - 1
    known = owner >= 0
    offset = np.full(times.shape[0], -1, dtype=np.int64)
    offset[known] = times[known] - bars[owner[known]]
    inside = (offset > SETTLEMENT_JITTER_MS) & (offset < timeframe_ms)
    return np.flatnonzero(inside).astype(np.int64)


def check_funding_settlements(
    series: BarSeries, table: FundingTable | None, costs: CostModel
) -> None:
    """Refuse funding when the raw settlements of ``series`` do not all fall on bar opens.

    ``table`` is the series' raw funding table (None: nothing to check).

    Raises
    ------
    FundingTimeframeError
        If ``costs.funding`` is on and a settlement lies inside a bar.
    """
    if not costs.funding or table is None or not _carries_funding(series):
        return
    inside = settlements_inside_bars(series.timestamp, series.timeframe_ms, table.timestamp)
    if inside.size:
        first = int(table.timestamp[inside[0]])
        raise FundingTimeframeError(
            f"{table.source}: {inside.size} funding settlement(s) fall inside "
            f"{series.timeframe} bars of {series.name or series.symbol}, the first at "
            f"{iso_from_ms(first)} (expected every settlement on a bar open, as the backtest "
            "charges funding on the quantity held before the open); use bars no longer than "
            "the symbol's funding interval or set [costs] funding = false"
        )


def check_stored_funding(series: Iterable[BarSeries], costs: CostModel) -> None:
    """Run :func:`check_funding_settlements` on every series loaded from the dataset store.

    Series built from arrays or files (no dataset name), or whose dataset is not in the default
    store, are checked by timeframe only (:func:`check_funding_bars`).
    """
    if not costs.funding:
        return
    for one in series:
        if not one.name or not _carries_funding(one):
            continue
        try:
            table = load_funding(one.name)
        except DatasetNotFoundError:
            continue
        check_funding_settlements(one, table, costs)
