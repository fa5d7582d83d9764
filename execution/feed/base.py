"""What every closed-bar source gives the runner: bars, their history, a clock and a data state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from primitives import Float64Array, Int64Array

FRESH = "fresh"
STALE = "stale"
DEFAULT_GRACE_SECONDS = 5.0
DEFAULT_STALE_BARS = 2


@dataclass(frozen=True, slots=True)
class History:
    """Closed bars of one symbol up to and including the bar being decided (``MarketLike``).

    Column arrays are read-only views, oldest first; ``funding_rate`` is aligned on bars as
    DESIGN §1 aligns it (the rate settled inside a bar, 0 elsewhere).
    """

    timestamp: Int64Array
    open: Float64Array
    high: Float64Array
    low: Float64Array
    close: Float64Array
    volume: Float64Array
    funding_rate: Float64Array

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    def tail(self, n_bars: int | None) -> History:
        """Return the last ``n_bars`` bars (all of them when None or larger than the history)."""
        if n_bars is None or n_bars >= len(self):
            return self
        return History(*(getattr(self, c)[-n_bars:] for c in COLUMNS))


COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "funding_rate")


def history_from_arrays(columns: dict[str, np.ndarray]) -> History:
    """Return a ``History`` of the arrays in ``columns`` (C-contiguous, read-only)."""
    arrays: list[Any] = []  # int64 timestamps, then float64 columns, in COLUMNS order
    for name in COLUMNS:
        dtype = np.int64 if name == "timestamp" else np.float64
        array = np.ascontiguousarray(columns[name], dtype=dtype)
        array.flags.writeable = False
        arrays.append(array)
    return History(*arrays)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """The data state after a poll.

    Attributes
    ----------
    now_ms : int
        The feed's clock (simulated in replay; the earlier of the venue's and the local clock
        live).
    latest_closed_ms : int or None
        Open time of the newest closed bar seen (None before the first).
    state : str
        ``"fresh"`` or ``"stale"`` (newest closed bar older than ``stale_bars`` intervals).
    """

    now_ms: int
    latest_closed_ms: int | None
    state: str


class BarFeed(Protocol):
    """A source of closed bars for a set of symbols at one timeframe.

    ``poll(after_ms)`` returns, per symbol, the open times of the closed bars newer than
    ``after_ms`` (all closed bars the feed holds when None; oldest first) and makes their
    history available through ``history(symbol, bar_ms)``; ``exhausted`` is True when no bar
    will ever come again (the end of a replay).
    """

    timeframe: str
    symbols: tuple[str, ...]
    kind: str  # "replay" (stored bars, a simulated clock) or "live" (a venue's closed bars)

    def poll(self, after_ms: int | None) -> tuple[list[int], FeedStatus]: ...

    def history(self, symbol: str, bar_ms: int) -> History: ...

    @property
    def exhausted(self) -> bool: ...

    def wait_seconds(self) -> float: ...
