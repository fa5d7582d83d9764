"""Gaps in a bar series and the explicit gap policies of DESIGN §1: error, split, fill_flat.

A gap is a run of missing bars between two consecutive stored bars. Gaps are reported and never
filled silently: ``"error"`` (default) refuses the data, ``"split"`` keeps them (the series is
then used as contiguous segments, never across a gap), ``"fill_flat"`` inserts flat zero-volume
bars at the previous close and records each filled gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fitness.data.timeframes import iso_from_ms
from fitness.data.validation import PRICE_COLUMNS, RowLocator
from fitness.errors import DataError, GapError
from primitives.arrays import Int64Array

GAP_POLICIES = ("error", "split", "fill_flat")
MAX_FILLED_BARS = 20_000_000
"""``fill_flat`` refuses to grow a series beyond this many bars (a typo'd timestamp guard)."""


@dataclass(frozen=True, slots=True)
class Gap:
    """One run of missing bars: opens ``start_ms`` .. ``end_ms`` (exclusive), ms UTC."""

    start_ms: int
    end_ms: int
    missing_bars: int
    filled: bool = False

    def to_dict(self) -> dict[str, object]:
        """Return the gap as a JSON-ready dict (ms and ISO-8601 forms of both ends)."""
        return {
            "start": iso_from_ms(self.start_ms),
            "end": iso_from_ms(self.end_ms),
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "missing_bars": self.missing_bars,
            "filled": self.filled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gap:
        """Return the gap stored by :meth:`to_dict`."""
        return cls(
            start_ms=int(data["start_ms"]),
            end_ms=int(data["end_ms"]),
            missing_bars=int(data["missing_bars"]),
            filled=bool(data.get("filled", False)),
        )


@dataclass(frozen=True, slots=True)
class GapReport:
    """The gaps of a series and the policy it was accepted under.

    ``count``, ``missing_bars`` and ``longest_bars`` summarise ``gaps``; with ``fill_flat``
    every gap has ``filled=True`` and the series itself is contiguous.
    """

    policy: str = "error"
    gaps: tuple[Gap, ...] = ()

    @property
    def count(self) -> int:
        return len(self.gaps)

    @property
    def missing_bars(self) -> int:
        return sum(gap.missing_bars for gap in self.gaps)

    @property
    def longest_bars(self) -> int:
        return max((gap.missing_bars for gap in self.gaps), default=0)

    def to_dict(self) -> dict[str, object]:
        """Return the report as the manifest's ``gaps`` object."""
        return {
            "policy": self.policy,
            "count": self.count,
            "missing_bars": self.missing_bars,
            "longest_bars": self.longest_bars,
            "gaps": [gap.to_dict() for gap in self.gaps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GapReport:
        """Return the report stored by :meth:`to_dict`."""
        gaps = data.get("gaps", [])
        return cls(
            policy=str(data.get("policy", "error")),
            gaps=tuple(Gap.from_dict(gap) for gap in gaps),
        )

    def within(self, start_ms: int, end_ms: int) -> GapReport:
        """Return the report restricted to bar opens in ``[start_ms, end_ms)`` (for slices)."""
        kept = []
        for gap in self.gaps:
            if gap.end_ms <= start_ms or gap.start_ms >= end_ms:
                continue
            if gap.filled:  # a filled gap may be cut by the slice: keep only its inner part
                start, end = max(gap.start_ms, start_ms), min(gap.end_ms, end_ms)
                step = (gap.end_ms - gap.start_ms) // gap.missing_bars
                gap = replace(gap, start_ms=start, end_ms=end, missing_bars=(end - start) // step)
            elif gap.start_ms < start_ms or gap.end_ms > end_ms:
                continue  # an unfilled gap lies between bars; a slice either spans it or not
            kept.append(gap)
        return GapReport(policy=self.policy, gaps=tuple(kept))


def find_gaps(timestamp: Int64Array, timeframe_ms: int) -> tuple[Gap, ...]:
    """Return the gaps of strictly increasing, on-grid bar opens ``timestamp`` (int64 ms)."""
    steps = np.diff(timestamp)
    return tuple(
        Gap(
            start_ms=int(timestamp[index]) + timeframe_ms,
            end_ms=int(timestamp[index + 1]),
            missing_bars=int(steps[index]) // timeframe_ms - 1,
        )
        for index in np.flatnonzero(steps != timeframe_ms)
    )


def apply_gap_policy(
    columns: dict[str, np.ndarray],
    *,
    timeframe: str,
    timeframe_ms: int,
    policy: str,
    locator: RowLocator,
) -> tuple[dict[str, np.ndarray], GapReport]:
    """Apply ``policy`` to validated columns (strictly increasing, on the grid).

    Returns
    -------
    (columns, report)
        ``columns`` unchanged for ``"split"`` and gap-free data, with flat bars inserted for
        ``"fill_flat"``.

    Raises
    ------
    GapError
        If the series has gaps and ``policy`` is ``"error"``.
    DataError
        If ``policy`` is unknown or filling would exceed :data:`MAX_FILLED_BARS`.
    """
    check_gap_policy(policy)
    gaps = find_gaps(columns["timestamp"], timeframe_ms)
    if not gaps:
        return columns, GapReport(policy=policy)
    report = GapReport(policy=policy, gaps=gaps)
    if policy == "error":
        first = gaps[0]
        row = int(np.searchsorted(columns["timestamp"], first.end_ms))
        raise GapError(
            f"{locator.row(row)}: the {timeframe} bars have {report.count} gap(s), "
            f"{report.missing_bars} bar(s) missing, longest {report.longest_bars}; the first "
            f"gap is {first.missing_bars} bar(s) missing from {iso_from_ms(first.start_ms)} "
            f"up to this row at {iso_from_ms(first.end_ms)} (expected consecutive bars); gaps "
            "are never filled silently — pass --gaps split (keep them, never trade across a "
            'gap) or --gaps fill_flat (insert flat zero-volume bars); in Python gaps="split"'
        )
    if policy == "split":
        return columns, report
    total = len(columns["timestamp"]) + report.missing_bars
    if total > MAX_FILLED_BARS:
        raise DataError(
            f"{locator.source}: filling {report.missing_bars} missing bars would make "
            f"{total} bars (limit {MAX_FILLED_BARS}); check the timestamps or use --gaps split"
        )
    filled = tuple(replace(gap, filled=True) for gap in gaps)
    return fill_flat(columns, timeframe_ms), GapReport(policy=policy, gaps=filled)


def check_gap_policy(policy: str) -> None:
    """Raise DataError unless ``policy`` is one of :data:`GAP_POLICIES`."""
    if policy not in GAP_POLICIES:
        raise DataError(
            f"gap policy {policy!r} is not known (expected one of {', '.join(GAP_POLICIES)}); "
            "pass --gaps error, --gaps split or --gaps fill_flat"
        )


def fill_flat(columns: Mapping[str, np.ndarray], timeframe_ms: int) -> dict[str, np.ndarray]:
    """Return ``columns`` with every missing bar inserted flat at the previous close.

    An inserted bar has open = high = low = close = the previous bar's close, volume 0 and
    funding rate 0 (DESIGN §1: recorded in the gap report, never silent).
    """
    timestamp = columns["timestamp"]
    n_full = int((timestamp[-1] - timestamp[0]) // timeframe_ms) + 1
    position = (timestamp - timestamp[0]) // timeframe_ms
    # every slot takes its values from the last real bar at or before it
    last_real = np.zeros(n_full, dtype=np.int64)
    last_real[position] = position
    last_real = np.maximum.accumulate(last_real)
    row_of_slot = np.zeros(n_full, dtype=np.int64)
    row_of_slot[position] = np.arange(len(timestamp))
    previous_close = columns["close"][row_of_slot[last_real]]

    out: dict[str, np.ndarray] = {
        "timestamp": timestamp[0] + np.arange(n_full, dtype=np.int64) * timeframe_ms
    }
    for column in PRICE_COLUMNS:
        values = previous_close.copy()
        values[position] = columns[column]
        out[column] = values
    for column in ("volume", "funding_rate"):
        if column in columns:
            values = np.zeros(n_full, dtype=np.float64)
            values[position] = columns[column]
            out[column] = values
    return out
