"""Replay: stored bars served one closed bar per poll by a simulated clock (no network)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from execution.errors import PaperError
from execution.feed.base import (
    DEFAULT_GRACE_SECONDS,
    FRESH,
    FeedStatus,
    History,
    history_from_arrays,
)
from fitness import BarSeries, timeframe_to_ms


class ReplayFeed:
    """Serve the bars of stored series as if each had just closed, one bar per ``poll``.

    The simulated clock stands at the polled bar's end plus the grace, so every bar is fresh
    and exactly one new bar arrives per step: a replay never meets the missed-bar policy. A
    restarted replay continues after the last bar its state file processed.

    Parameters
    ----------
    series : sequence of BarSeries
        One per symbol, same timeframe and the same bar times (several symbols are traded on
        their common bars only when identical).
    start_ms, stop_ms : int, optional
        Replay the bars with ``start_ms <= open < stop_ms`` (default: all). Bars before
        ``start_ms`` still serve as history of the decisions (indicator warm-up), exactly as
        a walk-forward segment's targets may read earlier bars.
    grace_seconds : float
        Added to each bar's end on the simulated clock.
    """

    kind = "replay"

    def __init__(
        self,
        series: Sequence[BarSeries],
        *,
        start_ms: int | None = None,
        stop_ms: int | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ) -> None:
        if not series:
            raise PaperError("replay: no dataset given (expected at least one bar series)")
        first = series[0]
        for other in series[1:]:
            if other.timeframe != first.timeframe or not np.array_equal(
                other.timestamp, first.timestamp
            ):
                raise PaperError(
                    f"replay: {other.symbol} {other.timeframe} does not have the bars of "
                    f"{first.symbol} {first.timeframe} (expected the same timeframe and bar "
                    "times); replay one dataset or aligned ones"
                )
        self.timeframe = first.timeframe
        self.symbols = tuple(s.symbol for s in series)
        self.interval_ms = timeframe_to_ms(first.timeframe)
        self.grace_ms = round(grace_seconds * 1000)
        self._timestamp = first.timestamp
        self._histories = {
            s.symbol: history_from_arrays({c: getattr(s, c) for c in _COLUMNS}) for s in series
        }
        lo = 0 if start_ms is None else int(np.searchsorted(self._timestamp, start_ms, "left"))
        hi = (
            len(self._timestamp)
            if stop_ms is None
            else int(np.searchsorted(self._timestamp, stop_ms, "left"))
        )
        if lo >= hi:
            raise PaperError(
                f"replay: no bar of {first.symbol} {first.timeframe} opens in the range "
                f"[{start_ms}, {stop_ms}) (the dataset spans {int(self._timestamp[0])} .. "
                f"{int(self._timestamp[-1])} ms); check --from/--to"
            )
        self.start_index = lo
        self.stop_index = hi
        self._next = lo

    @property
    def exhausted(self) -> bool:
        """True once the last bar of the range has been served."""
        return self._next >= self.stop_index

    def poll(self, after_ms: int | None) -> tuple[list[int], FeedStatus]:
        """Return the next bar after ``after_ms`` (the range's first bar when None)."""
        if after_ms is None:
            index = self.start_index
        else:
            index = int(np.searchsorted(self._timestamp, after_ms, "right"))
            index = max(index, self.start_index)
        if index >= self.stop_index:
            self._next = self.stop_index
            last = int(self._timestamp[self.stop_index - 1])
            return [], FeedStatus(last + self.interval_ms + self.grace_ms, last, FRESH)
        self._next = index + 1
        bar_ms = int(self._timestamp[index])
        now_ms = bar_ms + self.interval_ms + self.grace_ms
        return [bar_ms], FeedStatus(now_ms, bar_ms, FRESH)

    def history(self, symbol: str, bar_ms: int) -> History:
        """Return the bars of ``symbol`` up to and including the bar opening at ``bar_ms``."""
        stop = int(np.searchsorted(self._timestamp, bar_ms, "right"))
        full = self._histories[symbol]
        return History(*(getattr(full, c)[:stop] for c in _COLUMNS))

    def wait_seconds(self) -> float:
        """A replay never waits."""
        return 0.0


_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "funding_rate")
