"""Live closed bars through the ccxt client: closed bars only, a grace, funding, a data state.

A bar opening at T is closed when the feed's clock (the earlier of the venue's server time and
the local clock, ``ExchangeClient.now_ms``) is past ``T + interval + grace``. The feed keeps a
rolling window of ``history_bars`` closed bars per symbol with their aligned funding
(DESIGN §1) and, on each poll, fetches what closed since the newest bar it holds. Bars the
venue has not published (yet) are simply not there: a later poll brings them (late
publication) or never (a missing bar, an outage), and the data turns *stale* when the newest
closed bar is older than ``stale_bars`` intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from execution.exchange.client import ExchangeClient
from execution.feed.base import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_STALE_BARS,
    FRESH,
    STALE,
    FeedStatus,
    History,
    history_from_arrays,
)
from fitness import align_funding, timeframe_to_ms


class LiveFeed:
    """Closed bars of ``symbols`` at ``timeframe`` from a venue through ``ExchangeClient``.

    Parameters
    ----------
    client : ExchangeClient
        Rate limit, retries and error mapping are the client's.
    symbols : sequence of str
        ccxt symbols, e.g. ``"BTC/USDT:USDT"``.
    timeframe : str
    history_bars : int
        Closed bars kept per symbol (at least every strategy's lookback + settle bars).
    grace_seconds : float
        Wait after a bar's end before it counts as closed (the venue's publication delay).
    stale_bars : int
        The data is stale when the newest closed bar is older than this many intervals.
    poll_seconds : float
        Pause between polls that brought nothing.
    """

    kind = "live"

    def __init__(
        self,
        client: ExchangeClient,
        symbols: Sequence[str],
        timeframe: str,
        *,
        history_bars: int = 1000,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        stale_bars: int = DEFAULT_STALE_BARS,
        poll_seconds: float = 1.0,
    ) -> None:
        client.check_timeframe(timeframe)
        for symbol in symbols:
            client.market(symbol)
        self.client = client
        self.symbols = tuple(symbols)
        self.timeframe = timeframe
        self.interval_ms = timeframe_to_ms(timeframe)
        self.history_bars = int(history_bars)
        self.grace_ms = round(grace_seconds * 1000)
        self.stale_bars = stale_bars
        self.poll_seconds = poll_seconds
        self._bars: dict[str, dict[str, np.ndarray]] = {}
        self._funding: dict[str, list[tuple[int, float]]] = {s: [] for s in self.symbols}

    @property
    def exhausted(self) -> bool:
        """A live feed never ends."""
        return False

    def wait_seconds(self) -> float:
        """Return the pause before the next poll."""
        return self.poll_seconds

    def poll(self, after_ms: int | None) -> tuple[list[int], FeedStatus]:
        """Fetch closed bars; return the open times newer than ``after_ms`` common to all symbols.

        With ``after_ms`` None (a fresh account) only the newest closed bar is returned: a
        paper account starts at the present, never in the past.
        """
        now_ms = self.client.now_ms()
        closed_before = now_ms - self.grace_ms  # bars ending at or before this are closed
        newest_open = (closed_before // self.interval_ms) * self.interval_ms - self.interval_ms
        for symbol in self.symbols:
            self._refresh(symbol, newest_open)
        common = None
        for symbol in self.symbols:
            times = set(self._bars[symbol]["timestamp"].tolist()) if symbol in self._bars else set()
            common = times if common is None else common & times
        ordered = sorted(common or ())
        latest = ordered[-1] if ordered else None
        state = FRESH
        if (
            latest is None
            or now_ms - (latest + self.interval_ms) > self.stale_bars * self.interval_ms
        ):
            state = STALE
        status = FeedStatus(now_ms, latest, state)
        if after_ms is None:
            return (ordered[-1:] if ordered else []), status
        return [t for t in ordered if t > after_ms], status

    def history(self, symbol: str, bar_ms: int) -> History:
        """Return the held closed bars of ``symbol`` up to and including ``bar_ms``."""
        columns = self._bars[symbol]
        stop = int(np.searchsorted(columns["timestamp"], bar_ms, "right"))
        return history_from_arrays({name: values[:stop] for name, values in columns.items()})

    # ---------------------------------------------------------------- fetching
    def _refresh(self, symbol: str, newest_open: int) -> None:
        held = self._bars.get(symbol)
        if held is not None and len(held["timestamp"]) and held["timestamp"][-1] >= newest_open:
            return
        start = (
            newest_open - (self.history_bars - 1) * self.interval_ms
            if held is None or not len(held["timestamp"])
            else int(held["timestamp"][-1]) + self.interval_ms
        )
        rows: list[list[float]] = []
        since = start
        while since <= newest_open:
            page = self.client.fetch_ohlcv_page(symbol, self.timeframe, since, newest_open)
            page = [row for row in page if since <= row[0] <= newest_open]
            if not page:
                break
            rows.extend(page)
            since = int(page[-1][0]) + self.interval_ms
        funding = self._funding[symbol]
        if self.client.has_funding_history:
            funding_since = funding[-1][0] + 1 if funding else start
            until = newest_open + self.interval_ms - 1
            while funding_since <= until:
                settlements = [
                    row
                    for row in self.client.fetch_funding_page(symbol, funding_since, until)
                    if funding_since <= row[0] <= until
                ]
                if not settlements:
                    break
                funding.extend((int(t), float(r)) for t, r in settlements)
                funding_since = int(settlements[-1][0]) + 1
        if not rows and held is not None:
            return
        new = {
            "timestamp": np.array([int(r[0]) for r in rows], dtype=np.int64),
            "open": np.array([r[1] for r in rows], dtype=np.float64),
            "high": np.array([r[2] for r in rows], dtype=np.float64),
            "low": np.array([r[3] for r in rows], dtype=np.float64),
            "close": np.array([r[4] for r in rows], dtype=np.float64),
            "volume": np.array([r[5] for r in rows], dtype=np.float64),
        }
        if held is not None:
            new = {k: np.concatenate((held[k], new[k])) for k in new}
        keep = slice(max(0, len(new["timestamp"]) - self.history_bars), None)
        new = {k: v[keep] for k, v in new.items()}
        new["funding_rate"] = self._aligned_funding(symbol, new["timestamp"])
        self._bars[symbol] = new

    def _aligned_funding(self, symbol: str, timestamp: np.ndarray) -> np.ndarray:
        if not len(timestamp):
            return np.zeros(0)
        settlements = [
            (t, r)
            for t, r in self._funding[symbol]
            if timestamp[0] <= t < timestamp[-1] + self.interval_ms
        ]
        # settlements falling in a missing bar have no bar to settle on (DESIGN §1 "split")
        index = np.searchsorted(timestamp, [t for t, _ in settlements], "right") - 1
        settlements = [
            s
            for s, i in zip(settlements, index, strict=True)
            if timestamp[i] <= s[0] < timestamp[i] + self.interval_ms
        ]
        if not settlements:
            return np.zeros(len(timestamp))
        return np.asarray(
            align_funding(
                timestamp,
                self.interval_ms,
                np.array([t for t, _ in settlements], dtype=np.int64),
                np.array([r for _, r in settlements], dtype=np.float64),
                source=f"{symbol} funding",
            )
        )
