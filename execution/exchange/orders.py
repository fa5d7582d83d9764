"""Signed trading calls through ccxt: submit (never retried), query by client id, account reads.

freqtrade's rule: ``create_order`` has no retrier: a timeout or 5xx after a submit may hide an
accepted order, so the caller must query by client id before anything else (``LiveBroker``).
Reads (query, open orders, positions, balance, trades) are idempotent and go through the
client's retrier for temporary errors. Amounts are rounded to the market's lot step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ccxt

from execution.errors import ExchangeError, TemporaryExchangeError
from execution.exchange.client import ExchangeClient

__all__ = [
    "NotAcceptedError",
    "OrderRejectedError",
    "SubmitUnknownError",
    "TradingClient",
    "VenueOrderState",
]

# Binance's "ClientOrderId is duplicated" (ccxt maps it to InvalidOrder on USD-M)
DUPLICATE_CODES = ("-4116",)


class OrderRejectedError(ExchangeError):
    """The venue answered the submit with a final reject (margin, min notional, reduce-only).

    Attributes ``code`` (the venue's code, e.g. ``"-2019"``) and ``duplicate`` (the client id
    is already known to the venue: query it, never resubmit).
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.duplicate = code in DUPLICATE_CODES


class NotAcceptedError(TemporaryExchangeError):
    """The venue's rate limiter refused the submit (429/418) before the matching engine saw it."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class SubmitUnknownError(TemporaryExchangeError):
    """Timeout, 5xx or a lost response after a submit: the order may or may not exist."""


@dataclass(frozen=True, slots=True)
class VenueOrderState:
    """An order as the venue reports it (``filled_qty`` signed: + buy, - sell)."""

    client_id: str
    order_id: str
    symbol: str
    status: str  # open | closed (filled) | canceled | rejected | expired
    filled_qty: float
    average_price: float
    amount: float


class TradingClient:
    """Order and account calls on one ccxt client (see the module docstring).

    Parameters
    ----------
    client : ExchangeClient
        Holds the keys (from the environment only), retries reads, redacts errors.
    """

    def __init__(self, client: ExchangeClient) -> None:
        self.client = client
        self.exchange: Any = client.exchange
        # currencies come from a wallet endpoint the futures (and demo) venue lacks
        self.exchange.options["fetchCurrencies"] = False

    # ---------------------------------------------------------------- markets
    def market(self, symbol: str) -> dict[str, Any]:
        self.client.market(symbol)
        return dict(self.exchange.market(symbol))

    def lot_step(self, symbol: str) -> float:
        """Return the amount step (ccxt precision in TICK_SIZE mode: the lot size)."""
        step = self.market(symbol)["precision"]["amount"]
        return float(step) if step else 1e-8

    def min_notional(self, symbol: str) -> float:
        cost = self.market(symbol)["limits"].get("cost") or {}
        return float(cost.get("min") or 0.0)

    def round_amount(self, symbol: str, qty: float) -> float:
        """Return ``qty`` rounded to the nearest lot (then formatted by ccxt's precision)."""
        step = self.lot_step(symbol)
        lots = math.floor(abs(qty) / step + 0.5)
        if lots == 0:
            return 0.0
        text = self.exchange.amount_to_precision(symbol, lots * step)
        return math.copysign(float(text), qty)

    # ---------------------------------------------------------------- orders
    def submit(
        self, symbol: str, qty: float, client_id: str, *, reduce_only: bool
    ) -> VenueOrderState:
        """Send one market order once (no retry). ``qty`` signed, already lot-rounded.

        Raises
        ------
        OrderRejectedError, NotAcceptedError, SubmitUnknownError
        """
        side = "buy" if qty > 0 else "sell"
        params: dict[str, Any] = {"clientOrderId": client_id}
        if reduce_only:
            params["reduceOnly"] = True
        try:
            order = self.exchange.create_order(symbol, "market", side, abs(qty), None, params)
        except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as e:
            raise NotAcceptedError(
                f"submit {client_id}: refused by the rate limiter ({type(e).__name__})",
                self._retry_after(),
            ) from None
        except ccxt.NetworkError as e:
            raise SubmitUnknownError(
                f"submit {client_id}: no usable answer ({type(e).__name__}: "
                f"{self.client._clean(e)}); the order may exist"
            ) from None
        except (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadRequest) as e:
            code = _code(str(e))
            raise OrderRejectedError(
                f"submit {client_id}: rejected ({type(e).__name__}: {self.client._clean(e)})", code
            ) from None
        except ccxt.BaseError as e:
            code = _code(str(e))
            if code in DUPLICATE_CODES:
                raise OrderRejectedError(f"submit {client_id}: duplicate client id", code) from None
            raise SubmitUnknownError(
                f"submit {client_id}: {type(e).__name__}: {self.client._clean(e)}"
            ) from None
        return _state(order, client_id, symbol)

    def query(self, symbol: str, client_id: str) -> VenueOrderState | None:
        """Return the order with this client id, or None when the venue says it does not exist."""
        try:
            order = self.client._call(
                f"query order {client_id}",
                self.exchange.fetch_order,
                None,
                symbol,
                {"clientOrderId": client_id},
            )
        except ExchangeError as e:
            if "OrderNotFound" in str(e) or "-2013" in str(e):
                return None
            raise
        return _state(order, client_id, symbol)

    def cancel(self, symbol: str, client_id: str) -> bool:
        """Cancel an open order; False when the venue no longer has it open."""
        try:
            self.client._call(
                f"cancel order {client_id}",
                self.exchange.cancel_order,
                None,
                symbol,
                {"clientOrderId": client_id},
            )
        except ExchangeError as e:
            if "OrderNotFound" in str(e) or "-2011" in str(e):
                return False
            raise
        return True

    def open_orders(self, symbol: str) -> list[VenueOrderState]:
        rows = self.client._call(
            f"fetch {symbol} open orders", self.exchange.fetch_open_orders, symbol
        )
        return [_state(row, str(row.get("clientOrderId") or ""), symbol) for row in rows]

    def trades(self, symbol: str, since_ms: int | None = None) -> list[dict[str, Any]]:
        """Return the account's fills on ``symbol`` (ccxt trades), oldest first."""
        return list(
            self.client._call(
                f"fetch {symbol} fills", self.exchange.fetch_my_trades, symbol, since_ms
            )
        )

    def funding_history(self, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """Return the account's funding settlements on ``symbol`` from ``since_ms`` (ccxt
        ``fetch_funding_history``: Binance USD-M's income history, FUNDING_FEE), oldest first;
        each has ``id`` (the venue's transaction id), ``timestamp`` and ``amount`` (+ received).
        """
        rows: list[dict[str, Any]] = []
        while True:
            page = self.client._call(
                f"fetch {symbol} funding history",
                self.exchange.fetch_funding_history,
                symbol,
                since_ms,
                1000,
            )
            rows += page
            if len(page) < 1000:
                return sorted(rows, key=lambda r: (int(r["timestamp"]), str(r["id"])))
            since_ms = int(page[-1]["timestamp"]) + 1

    def positions(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Return ``symbol -> {"qty", "leverage", "margin_mode", "entry"}`` (qty signed)."""
        rows = self.client._call("fetch positions", self.exchange.fetch_positions, symbols)
        found: dict[str, dict[str, Any]] = {
            s: {"qty": 0.0, "leverage": None, "margin_mode": None, "entry": 0.0} for s in symbols
        }
        for row in rows:
            symbol = row.get("symbol")
            if symbol not in found:
                continue
            raw = float((row.get("info") or {}).get("positionAmt", 0.0) or 0.0)
            found[symbol] = {
                "qty": raw,
                "leverage": row.get("leverage"),
                "margin_mode": row.get("marginMode"),
                "entry": float(row.get("entryPrice") or 0.0),
            }
        return found

    def equity(self, quote: str = "USDT") -> float:
        """Return wallet balance plus unrealised P&L of ``quote`` (the account's equity)."""
        balance = self.client._call("fetch balance", self.exchange.fetch_balance)
        total = (balance.get("total") or {}).get(quote)
        if total is None:
            raise ExchangeError(f"{self.client.exchange_id}: the balance holds no {quote}")
        info = balance.get("info") or {}
        upnl = float(info.get("totalUnrealizedProfit", 0.0) or 0.0)
        wallet = float(info.get("totalWalletBalance", total) or total)
        return wallet + upnl

    def set_leverage_and_margin(self, symbol: str, leverage: int, margin_mode: str) -> None:
        """Set leverage and margin mode; 'already set' answers count as success."""
        self.client._call(
            f"set {symbol} leverage", self.exchange.set_leverage, int(leverage), symbol
        )
        try:
            self.exchange.set_margin_mode(margin_mode, symbol)
        except ccxt.MarginModeAlreadySet:
            pass
        except ccxt.BaseError as e:
            raise ExchangeError(
                f"{self.client.exchange_id}: set {symbol} margin mode {margin_mode} failed "
                f"({type(e).__name__}: {self.client._clean(e)})"
            ) from None

    def _retry_after(self) -> float:
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        try:
            return float(headers.get("Retry-After", 0.0))
        except ValueError:
            return 0.0


def _code(text: str) -> str:
    marker = '"code":'
    at = text.find(marker)
    if at < 0:
        return ""
    tail = text[at + len(marker) :].lstrip()
    digits = tail[0] + "".join(c for c in tail[1:8] if c.isdigit()) if tail else ""
    return digits


def _state(order: dict[str, Any], client_id: str, symbol: str) -> VenueOrderState:
    filled = float(order.get("filled") or 0.0)
    side = order.get("side") or (order.get("info") or {}).get("side", "buy")
    sign = 1.0 if str(side).lower() == "buy" else -1.0
    return VenueOrderState(
        client_id=str(order.get("clientOrderId") or client_id),
        order_id=str(order.get("id") or ""),
        symbol=str(order.get("symbol") or symbol),
        status=str(order.get("status") or "open"),
        filled_qty=sign * filled,
        average_price=float(order.get("average") or 0.0),
        amount=float(order.get("amount") or 0.0),
    )
