"""The live broker: orders that cannot double, sent to a venue (demo or live) through ccxt.

Every order is journaled (``live_orders``, status ``pending``) and committed *before* it is
sent, with a deterministic client id (``client_order_id``: account, decision bar, leg). Then:

- the submit is sent once (``TradingClient.submit`` never retries);
- a rate-limit refusal (429/418: the venue's limiter answered before matching) waits the
  ``Retry-After`` and is resubmitted with the same client id only after a query says the
  order does not exist;
- a timeout, 5xx or lost response is followed by queries by client id, never a resubmit: found
  → adopted; "does not exist" ``not_found_limit`` times → the order is **lost** (hummingbot's
  client order tracker) and left to reconciliation, which queries it again at the next step
  and either adopts it or confirms it absent (the position target then re-sends the
  difference under a new bar's id);
- a duplicate-client-id answer means the venue already has the order: it is queried, never
  resent.

Fills are read from the venue's trades of the order (``fetchMyTrades``) and recorded once per
venue trade id, so a restart after ``kill -9`` between submit and commit re-reads them from
the venue instead of losing or doubling them. Each recorded fill is split among the account's
strategies by the shares journaled with its order (``execution.state.attribution``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from execution.errors import ExchangeError, TemporaryExchangeError
from execution.exchange.orders import (
    NotAcceptedError,
    OrderRejectedError,
    SubmitUnknownError,
    TradingClient,
    VenueOrderState,
)
from execution.state.attribution import StrategyLedger
from execution.state.live import LiveLedger
from execution.state.store import StateStore

logger = logging.getLogger(__name__)


class _Unanswered:
    """A query that got no usable answer (distinct from the venue's "does not exist")."""


_UNANSWERED = _Unanswered()

_FINAL = {"closed": "filled", "canceled": "canceled", "rejected": "rejected", "expired": "canceled"}


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What became of one journaled order."""

    client_id: str
    status: str  # filled | partial | open | canceled | rejected | lost | absent
    filled_qty: float
    reason: str = ""


class LiveBroker:
    """Send, query and record orders of one account (see the module docstring).

    Parameters
    ----------
    trading : TradingClient
    store : StateStore
        The account's state file (the broker commits each order's outcome in its own step).
    not_found_limit : int
        "Does not exist" answers before an order is lost.
    query_wait_seconds : float
        Pause between queries of an order whose submit had no usable answer.
    max_rate_limit_retries : int
        Resubmits after a rate-limit refusal (each after its Retry-After and a query).
    sleep : callable
    on_event : callable
        ``on_event(kind, message, **data)``: the runner's event path.
    after_submit : callable, optional
        Test hook called right after a submit returns (simulates ``kill -9`` before the commit).
    """

    def __init__(
        self,
        trading: TradingClient,
        store: StateStore,
        *,
        not_found_limit: int = 3,
        query_wait_seconds: float = 0.5,
        max_rate_limit_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        on_event: Callable[..., None] | None = None,
        after_submit: Callable[[str], None] | None = None,
    ) -> None:
        self.trading = trading
        self.store = store
        self.ledger = LiveLedger(store)
        self.attribution = StrategyLedger(store)
        self.not_found_limit = not_found_limit
        self.query_wait_seconds = query_wait_seconds
        self.max_rate_limit_retries = max_rate_limit_retries
        self._sleep = sleep
        self._on_event = on_event
        self.after_submit = after_submit

    def _event(self, kind: str, message: str, **data: object) -> None:
        if self._on_event is not None:
            self._on_event(kind, message, **data)
        else:
            logger.info("%s: %s", kind, message)

    # ---------------------------------------------------------------- setup
    def setup(self, symbols: list[str], leverage: int, margin_mode: str) -> None:
        """Set leverage and margin mode on every symbol, then verify them on the venue."""
        for symbol in symbols:
            self.trading.set_leverage_and_margin(symbol, leverage, margin_mode)
        found = self.trading.positions(symbols)
        for symbol in symbols:
            lev, mode = found[symbol]["leverage"], found[symbol]["margin_mode"]
            if lev is not None and int(float(lev)) != int(leverage):
                raise ExchangeError(
                    f"{symbol}: leverage is {lev} on the venue after setting {leverage}"
                )
            if mode is not None and str(mode).lower() != margin_mode:
                raise ExchangeError(
                    f"{symbol}: margin mode is {mode} on the venue after setting {margin_mode}"
                )

    # ---------------------------------------------------------------- one order
    def execute(self, client_id: str) -> OrderOutcome:
        """Send the journaled order ``client_id`` (status pending) and record its outcome."""
        row = self.ledger.order(client_id)
        if row is None:
            raise KeyError(client_id)
        if row["status"] != "pending":
            # already sent once (a restart, a reused id): its fate is asked of the venue,
            # never answered by a second submit
            return self.resolve(client_id)
        symbol, qty, reduce_only = row["symbol"], float(row["qty"]), bool(row["reduce_only"])
        for attempt in range(self.max_rate_limit_retries + 1):
            try:
                state = self.trading.submit(symbol, qty, client_id, reduce_only=reduce_only)
            except NotAcceptedError as e:
                self._event("order_retry", f"{e}; waiting {e.retry_after_seconds:g} s")
                self._sleep(max(e.retry_after_seconds, self.query_wait_seconds))
                if attempt < self.max_rate_limit_retries:
                    found = self._query_quietly(symbol, client_id)
                    if isinstance(found, VenueOrderState):
                        return self._adopt(client_id, found)
                    if found is None:
                        continue  # the venue says it does not exist: the same id again
                    return self.resolve(client_id)  # no answer is not "does not exist"
                return self._finish(client_id, "lost", 0.0, "rate limited on every attempt")
            except SubmitUnknownError as e:
                self._event("order_unknown", f"{e}; querying by client id")
                return self.resolve(client_id)
            except OrderRejectedError as e:
                if e.duplicate:
                    return self.resolve(client_id)
                self._event("order_rejected", str(e), client_id=client_id, code=e.code)
                return self._finish(client_id, "rejected", 0.0, f"venue code {e.code}")
            if self.after_submit is not None:
                self.after_submit(client_id)
            return self._adopt(client_id, state)
        raise AssertionError("unreachable")

    def resolve(self, client_id: str) -> OrderOutcome:
        """Query an order whose fate is unknown; adopt it, or count it lost after N not-founds."""
        row = self.ledger.order(client_id)
        if row is None:
            raise KeyError(client_id)
        not_found = int(row["not_found"])
        for _ in range(self.not_found_limit):
            found = self._query_quietly(row["symbol"], client_id)
            if isinstance(found, VenueOrderState):
                return self._adopt(client_id, found)
            if found is None:
                not_found += 1  # a failed query counts as no answer, not as "not found"
            self._sleep(self.query_wait_seconds)
        with self.store.step():
            self.ledger.update_order(client_id, status="lost", not_found=not_found)
        self._event(
            "order_lost",
            f"{client_id}: not found after {not_found} queries; reconciliation resolves it",
            client_id=client_id,
        )
        return OrderOutcome(client_id, "lost", 0.0, "not found")

    def confirm_absent(self, client_id: str) -> OrderOutcome:
        """Reconciliation of a lost order: adopt it if it surfaced, else mark it absent."""
        row = self.ledger.order(client_id)
        assert row is not None
        found = self._query_quietly(row["symbol"], client_id)
        if isinstance(found, VenueOrderState):
            return self._adopt(client_id, found)
        if found is _UNANSWERED:  # no answer: still lost, asked again at the next step
            return OrderOutcome(client_id, "lost", 0.0, "query failed")
        return self._finish(client_id, "absent", 0.0, "the venue has no such order")

    def cancel(self, client_id: str) -> OrderOutcome:
        row = self.ledger.order(client_id)
        assert row is not None
        self.trading.cancel(row["symbol"], client_id)
        found = self._query_quietly(row["symbol"], client_id)
        if isinstance(found, VenueOrderState):
            return self._adopt(client_id, found)
        if found is None:
            return self._finish(client_id, "absent", 0.0, "canceled; no such order")
        return OrderOutcome(client_id, str(row["status"]), float(row["filled_qty"]))

    # ---------------------------------------------------------------- recording
    def _query_quietly(self, symbol: str, client_id: str) -> VenueOrderState | _Unanswered | None:
        """Return the order, None when the venue says it does not exist, or ``_UNANSWERED``."""
        try:
            return self.trading.query(symbol, client_id)
        except TemporaryExchangeError as e:
            self._event("query_failed", f"query {client_id}: {e}")
            return _UNANSWERED

    def _adopt(self, client_id: str, state: VenueOrderState) -> OrderOutcome:
        status = _FINAL.get(state.status, "open")
        if status == "open" and state.filled_qty != 0.0:
            status = "partial"
        trades = []
        if state.filled_qty != 0.0 and state.order_id:
            trades = [
                t
                for t in self.trading.trades(state.symbol)
                if str(t.get("order") or "") == state.order_id
            ]
        with self.store.step():
            for trade in trades:
                self.record_trade(trade, client_id)
            filled = self.ledger.filled_qty(client_id)
            self.ledger.update_order(
                client_id,
                status=status,
                order_id=state.order_id,
                filled_qty=filled,
                average_price=state.average_price,
            )
        return OrderOutcome(client_id, status, filled)

    def record_trade(self, trade: dict[str, object], client_id: str) -> bool:
        """Record one ccxt trade of ``client_id`` (inside a step) and split it among the
        strategies by the order's shares (``StrategyLedger.book_fill``); False when known."""
        sign = 1.0 if str(trade.get("side")) == "buy" else -1.0
        fee = trade.get("fee") or {}
        cost = float(fee.get("cost") or 0.0) if isinstance(fee, dict) else 0.0
        trade_id, symbol = str(trade.get("id")), str(trade.get("symbol"))
        # ignore[arg-type]/[call-overload] below: ccxt's unified trade is an untyped dict whose
        # amount, price and timestamp are numbers by ccxt's contract
        qty = sign * float(trade.get("amount") or 0.0)  # type: ignore[arg-type]
        price = float(trade.get("price") or 0.0)  # type: ignore[arg-type]
        time_ms = int(trade.get("timestamp") or 0)  # type: ignore[call-overload]
        order_id = str(trade.get("order") or "")
        if not self.ledger.add_fill(
            trade_id, client_id, order_id, symbol, qty, price, cost, time_ms, None
        ):
            return False
        self.attribution.book_fill(trade_id, client_id, symbol, qty, price, cost, time_ms)
        return True

    def _finish(self, client_id: str, status: str, filled: float, reason: str) -> OrderOutcome:
        with self.store.step():
            self.ledger.update_order(client_id, status=status, reason=reason)
        return OrderOutcome(client_id, status, filled, reason)
