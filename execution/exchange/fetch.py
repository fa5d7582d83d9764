"""Resumable download of closed OHLCV bars and funding history into the market-data store.

``fetch_dataset`` pages through an exchange with explicit ``since``/``until`` bounds, keeps only
bars that have closed, fetches the funding settlements inside the bars' span, and saves through
``fitness.save_dataset`` (atomic) every few pages. A re-run continues after the last stored bar;
overlapping rows are de-duplicated by timestamp and a row that disagrees with stored history is
an error, never an overwrite.

Invariant of every save: the stored funding table holds every settlement inside
``[first bar open, last bar open + timeframe)``, so each saved state is complete, not just a
prefix of the download.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from execution.errors import ExchangeInputError
from execution.exchange.client import ExchangeClient, MarketInfo
from fitness import (
    GAP_POLICIES,
    BarSeries,
    DataError,
    DatasetInfo,
    FundingTable,
    align_funding,
    dataset_name,
    load_bars,
    load_funding,
    read_dataset_info,
    save_dataset,
    timeframe_to_ms,
)

__all__ = ["FetchProgress", "fetch_dataset"]

logger = logging.getLogger(__name__)
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(timestamp_ms: int) -> str:
    """Return ms since the epoch as ISO-8601 UTC, ``Z`` suffix, milliseconds only when set."""
    moment = _EPOCH + timedelta(milliseconds=int(timestamp_ms))
    text = moment.isoformat(timespec="milliseconds" if timestamp_ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class FetchProgress:
    """One progress report: ``kind`` is ``"ohlcv"`` or ``"funding"``.

    ``since_ms``/``until_ms`` bound this run's download (ms UTC, until exclusive),
    ``fetched_until_ms`` is how far it has got, ``n_rows`` the rows of ``kind`` fetched so far.
    """

    kind: str
    since_ms: int
    until_ms: int
    fetched_until_ms: int
    n_rows: int


@dataclass(slots=True)
class _Columns:
    """Bars or settlements as a growing list of column arrays (stored data, then new pages)."""

    names: tuple[str, ...]
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def append(self, columns: dict[str, np.ndarray]) -> None:
        self.parts.append({name: columns[name] for name in self.names})

    def joined(self, *others: _Columns) -> dict[str, np.ndarray]:
        others = tuple(other for other in others if other is not self)
        parts = [part for columns in (self, *others) for part in columns.parts]
        out = {
            name: np.concatenate([p[name] for p in parts] or [np.empty(0)]) for name in self.names
        }
        out["timestamp"] = out["timestamp"].astype(np.int64)
        if others:
            order = np.argsort(out["timestamp"], kind="stable")
            out = {name: values[order] for name, values in out.items()}
        return out


def fetch_dataset(
    *,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    home: Path,
    name: str | None = None,
    gaps: str = "error",
    on_progress: Callable[[FetchProgress], None] | None = None,
    client: ExchangeClient | None = None,
    save_every_pages: int = 10,
) -> DatasetInfo:
    """Download closed bars and funding into the store, continuing any earlier download.

    Parameters
    ----------
    exchange_id, symbol, timeframe : str
        A ccxt exchange id, market symbol (``"BTC/USDT:USDT"``) and timeframe (``"1h"``).
    since_ms : int
        First bar open wanted, ms UTC (rounded up to the timeframe grid).
    until_ms : int or None
        Bars opening before this (exclusive, ms UTC); None: up to the last closed bar.
    home : Path
        Data home of the store.
    name : str, optional
        Dataset name; default ``fitness.dataset_name(exchange_id, symbol, timeframe)``.
    gaps : {"error", "split", "fill_flat"}
        Gap policy for the stored series (DESIGN §1).
    on_progress : callable, optional
        Called with a :class:`FetchProgress` after every page (an exception it raises stops
        the fetch; pages since the last save are then lost and fetched again next run).
    client : ExchangeClient, optional
        A configured client (tests point one at a fake exchange); built from ``exchange_id``
        when None and closed afterwards.
    save_every_pages : int
        Persist progress every this many OHLCV pages (and at the end).

    Returns
    -------
    DatasetInfo
        The stored dataset (unchanged when there was nothing new).

    Raises
    ------
    ExchangeInputError
        Unknown exchange, symbol or timeframe, ``until <= since``, or no closed bars in range.
    TemporaryExchangeError
        The exchange kept failing after the retries (run again to resume).
    DataError
        A malformed page, a page that contradicts stored history, or a gap under
        ``gaps="error"``.
    """
    timeframe_ms = timeframe_to_ms(timeframe)
    if gaps not in GAP_POLICIES:
        raise DataError(f"gap policy {gaps!r} is not one of {', '.join(GAP_POLICIES)}")
    if until_ms is not None and until_ms <= since_ms:
        raise ExchangeInputError(
            f"--until {_iso(until_ms)} is not after --since {_iso(since_ms)} "
            "(expected until > since); widen the range"
        )
    if save_every_pages < 1:
        raise ValueError(f"save_every_pages must be >= 1, was {save_every_pages}")
    owned = client is None
    client = client or ExchangeClient(exchange_id)
    if client.exchange_id != exchange_id:
        raise ValueError(f"client is for {client.exchange_id!r}, not {exchange_id!r}")
    try:
        client.check_timeframe(timeframe)
        market = client.market(symbol)
        run = _FetchRun(
            client=client,
            market=market,
            timeframe=timeframe,
            timeframe_ms=timeframe_ms,
            home=Path(home),
            name=name or dataset_name(exchange_id, market.symbol, timeframe),
            gaps=gaps,
            on_progress=on_progress,
            save_every_pages=save_every_pages,
        )
        return run.execute(since_ms, until_ms)
    finally:
        if owned:
            client.close()


@dataclass(slots=True)
class _FetchRun:
    client: ExchangeClient
    market: MarketInfo
    timeframe: str
    timeframe_ms: int
    home: Path
    name: str
    gaps: str
    on_progress: Callable[[FetchProgress], None] | None
    save_every_pages: int
    bars: _Columns = field(default_factory=lambda: _Columns(("timestamp", *_PRICE_COLUMNS)))
    funding: _Columns = field(default_factory=lambda: _Columns(("timestamp", "funding_rate")))
    funding_until_ms: int | None = None  # settlements before this are all in ``funding``
    manifest: dict[str, Any] = field(default_factory=dict)
    info: DatasetInfo | None = None
    dirty: bool = False
    span: tuple[int, int] = (0, 0)
    counts: dict[str, int] = field(default_factory=lambda: {"ohlcv": 0, "funding": 0})

    @property
    def with_funding(self) -> bool:
        return self.market.is_swap and self.client.has_funding_history

    def execute(self, since_ms: int, until_ms: int | None) -> DatasetInfo:
        tf = self.timeframe_ms
        start = -(-since_ms // tf) * tf
        now_ms = self.client.now_ms()
        stop = (now_ms // tf) * tf  # bars opening before this have closed: open + tf <= now
        if until_ms is not None:
            stop = min(stop, -(-until_ms // tf) * tf)
        self.manifest = {
            "exchange": self.client.exchange_id,
            "market_symbol": self.market.symbol,
            "market_id": self.market.market_id,
            "requested_since_ms": since_ms,
            "requested_until_ms": until_ms,
            "fetched_at": _iso(now_ms),
        }
        stored = self._load_stored()
        if stored is None:
            self.span = (start, stop)
            self.funding_until_ms = None
            self._page_bars(start, stop, into=self.bars, periodic=True)
        else:
            first, last = int(stored.timestamp[0]), int(stored.timestamp[-1])
            asked_before = int(self.manifest["requested_since_ms"])
            self.span = (min(start, first), max(stop, last + tf))
            if start < first and since_ms < asked_before:
                self._fetch_head(start, first)
            self.manifest["requested_since_ms"] = min(since_ms, asked_before)
            self.dirty = self.dirty or since_ms < asked_before
            self._page_bars(last + tf, stop, into=self.bars, periodic=True)
        self._save()
        if self.info is None:
            raise ExchangeInputError(
                f"{self.client.exchange_id} returned no closed {self.market.symbol} "
                f"{self.timeframe} bars in [{_iso(start)}, {_iso(stop)}); check "
                "--since/--until (the market may not have been listed yet)"
            )
        return self.info

    # ---------------------------------------------------------------- stored state
    def _load_stored(self) -> BarSeries | None:
        try:
            info = read_dataset_info(self.name, home=self.home)
        except FileNotFoundError:
            return None
        series = load_bars(self.name, home=self.home)
        expected = dataset_name(self.client.exchange_id, self.market.symbol, self.timeframe)
        found = dataset_name(info.manifest.get("exchange") or "", series.symbol, series.timeframe)
        if found != expected:
            raise DataError(
                f"dataset {self.name!r} holds {series.symbol} {series.timeframe} bars of "
                f"{info.manifest.get('exchange') or 'an unknown exchange'}, not "
                f"{self.market.symbol} {self.timeframe} of {self.client.exchange_id}; pass "
                "another --name"
            )
        self.info = info
        # bars a fill_flat policy inserted are not history: re-derived from the real ones at save
        real = np.ones(series.n_bars, dtype=bool)
        for gap in series.gaps.gaps:
            if gap.filled:
                real &= (series.timestamp < gap.start_ms) | (series.timestamp >= gap.end_ms)
        self.bars.append({name: getattr(series, name)[real] for name in self.bars.names})
        table = load_funding(self.name, home=self.home)
        if table is not None:
            self.funding.append({"timestamp": table.timestamp, "funding_rate": table.funding_rate})
        previous = info.manifest
        self.manifest["requested_since_ms"] = int(
            previous.get("requested_since_ms", series.timestamp[0])
        )
        # fetched datasets record their funding coverage; an imported one is backfilled
        self.funding_until_ms = previous.get("funding_until_ms")
        if self.funding_until_ms is None and table is not None and len(table):
            self.funding_until_ms = int(table.timestamp[-1]) + 1
        if self.funding_until_ms is None:
            self.funding_until_ms = int(series.timestamp[0])
        return series

    # ---------------------------------------------------------------- paging
    def _fetch_head(self, start: int, first_stored: int) -> None:
        # Earlier history is fetched whole and saved once: a partial head would leave a hole
        head_bars, head_funding = _Columns(self.bars.names), _Columns(self.funding.names)
        self._page_bars(start, first_stored, into=head_bars, periodic=False)
        if not head_bars.parts:
            return
        self._page_funding(int(head_bars.parts[0]["timestamp"][0]), first_stored, head_funding)
        self.bars.parts[:0] = head_bars.parts
        self.funding.parts[:0] = head_funding.parts
        self.dirty = True

    def _page_bars(self, start: int, stop: int, *, into: _Columns, periodic: bool) -> None:
        cursor, pages = start, 0
        self._report("ohlcv", cursor)
        while cursor < stop:
            rows = self.client.fetch_ohlcv_page(
                self.market.symbol, self.timeframe, cursor, stop - 1
            )
            page = self._new_bars(rows, cursor, stop, into)
            if page is None:
                break
            into.append(page)
            self.dirty = True
            if self.funding_until_ms is None:
                self.funding_until_ms = int(page["timestamp"][0])
            cursor = int(page["timestamp"][-1]) + self.timeframe_ms
            self.counts["ohlcv"] += int(page["timestamp"].size)
            self._report("ohlcv", cursor)
            pages += 1
            if periodic and pages % self.save_every_pages == 0:
                self._save()

    def _new_bars(
        self, rows: list[list[Any]], cursor: int, stop: int, into: _Columns
    ) -> dict[str, np.ndarray] | None:
        if not rows:
            return None
        source = (
            f"{self.client.exchange_id} {self.market.symbol} {self.timeframe} page from "
            f"{_iso(cursor)}"
        )
        page = BarSeries.from_arrays(
            *(np.asarray([row[i] for row in rows]) for i in range(6)),
            symbol=self.market.symbol,
            timeframe=self.timeframe,
            gaps="split",  # the stored series applies the real policy at save
            source=source,
        )
        columns = {name: np.asarray(getattr(page, name)) for name in self.bars.names}
        return self._window(columns, cursor, stop, lambda: self.bars.joined(into), source)

    def _page_funding(self, start: int, stop: int, into: _Columns) -> None:
        cursor = start
        while self.with_funding and cursor < stop:
            rows = self.client.fetch_funding_page(self.market.symbol, cursor, stop - 1)
            if not rows:
                break
            source = (
                f"{self.client.exchange_id} {self.market.symbol} funding page from {_iso(cursor)}"
            )
            times = np.asarray([row[0] for row in rows])
            table = FundingTable(times, np.asarray([row[1] for row in rows]), source)
            columns = {"timestamp": table.timestamp, "funding_rate": table.funding_rate}
            page = self._window(columns, cursor, stop, lambda: self.funding.joined(into), source)
            if page is None:
                break
            into.append(page)
            cursor = int(page["timestamp"][-1]) + 1
            self.counts["funding"] += int(page["timestamp"].size)
            self._report("funding", cursor)

    def _window(
        self,
        columns: dict[str, np.ndarray],
        cursor: int,
        stop: int,
        known: Callable[[], dict[str, np.ndarray]],
        source: str,
    ) -> dict[str, np.ndarray] | None:
        # Rows outside the asked window (the forming bar, history the venue sent anyway) are
        # dropped; those the dataset already holds must agree with it
        timestamp = columns["timestamp"]
        inside = (timestamp >= cursor) & (timestamp < stop)
        if not inside.all():
            _check_overlap(columns, ~inside, known(), source, self.name)
        if not inside.any():
            return None
        return {name: values[inside] for name, values in columns.items()}

    def _report(self, kind: str, fetched_until_ms: int) -> None:
        if self.on_progress is not None:
            since, until = self.span
            self.on_progress(
                FetchProgress(kind, since, until, min(fetched_until_ms, until), self.counts[kind])
            )

    # ---------------------------------------------------------------- saving
    def _save(self) -> None:
        bars = self.bars.joined()
        if bars["timestamp"].size == 0:
            return
        end = int(bars["timestamp"][-1]) + self.timeframe_ms
        if self.with_funding and self.funding_until_ms is not None and self.funding_until_ms < end:
            self._page_funding(self.funding_until_ms, end, self.funding)
            self.funding_until_ms = end
            self.dirty = True
        if not self.dirty:
            return
        source = f"{self.client.exchange_id} {self.market.symbol} {self.timeframe}"
        funding = None
        rates = None
        if self.with_funding:
            settled = self.funding.joined()
            funding = FundingTable(
                settled["timestamp"], settled["funding_rate"], f"{source} funding"
            )
            rates = align_funding(
                bars["timestamp"],
                self.timeframe_ms,
                funding.timestamp,
                funding.funding_rate,
                source=funding.source,
            )
        series = BarSeries.from_arrays(
            bars["timestamp"],
            bars["open"],
            bars["high"],
            bars["low"],
            bars["close"],
            bars["volume"],
            rates,
            symbol=self.market.base + self.market.quote,
            timeframe=self.timeframe,
            exchange=self.client.exchange_id,
            gaps=self.gaps,
            source=source,
        )
        extra = {
            **self.manifest,
            "funding_until_ms": self.funding_until_ms if self.with_funding else None,
        }
        self.info = save_dataset(
            series,
            home=self.home,
            name=self.name,
            funding=funding,
            source=f"ccxt {source}",
            extra=extra,
        )
        self.dirty = False
        logger.info(
            "saved %s: %d bars up to %s",
            self.name,
            series.n_bars,
            _iso(end - self.timeframe_ms),
        )


def _check_overlap(
    page: dict[str, np.ndarray],
    older: np.ndarray,
    known: dict[str, np.ndarray],
    source: str,
    dataset: str,
) -> None:
    # Rows already held are duplicates when equal and a conflict otherwise
    for row in np.flatnonzero(older):
        timestamp = page["timestamp"][row]
        position = int(np.searchsorted(known["timestamp"], timestamp))
        if position == known["timestamp"].size or known["timestamp"][position] != timestamp:
            continue  # not held (the forming bar, bars past --until): simply dropped
        for name, values in page.items():
            if values[row] != known[name][position]:
                raise DataError(
                    f"{source} row {row + 1}, column {name}: the exchange now reports "
                    f"{values[row]!r} for {_iso(int(timestamp))}, but dataset "
                    f"{dataset!r} stores {known[name][position]!r} (expected the same history); "
                    "stored data are never overwritten — inspect them with `evolve data show` "
                    "or fetch into a new --name"
                )
