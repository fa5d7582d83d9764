"""A fake Binance USD-M *trading* venue: the signed order, account and position routes ccxt calls.

``FakeBinanceTrading`` extends the market-data fake (``tests/fake_exchange.py``) with one USDT
cross-margin account: market orders by ``newClientOrderId`` that fill at the open of the bar
forming at the venue's clock (the next bar's open after the decision's bar closed) times
``1 ± slippage``, a taker fee on the fill notional, funding at each settlement on the quantity
held at the open of the bar containing it (DESIGN §2), reduce-only, min notional, margin and
client-id checks with Binance's error codes, partial fills, and faults on demand through
``order_faults`` (played on the next ``POST /fapi/v1/order``):

``lost_response``   accepted, answered with a 503 (the response is lost)
``timeout``         accepted, answered after ``timeout_seconds`` (the client times out)
``invisible``       accepted, response lost, and the next ``invisible_queries`` queries by id
                    answer "Order does not exist" (eventual consistency)
``partial``         half fills now, the rest at the next bar's open
``reject_margin`` / ``reject_min_notional`` / ``reject_reduce_only``  Binance's rejects
``reject_before``   a 503 before anything is accepted
``duplicate``       accepted, answered with -4116 "ClientOrderId is duplicated"
``hold``            accepted and filled, then the response is held (``held`` is set) until
                    ``release`` is set: the window in which a test ``kill -9``s the client

Rate limits (429/418 with Retry-After) and 5xx/timeouts before acceptance use the generic
scripted faults of ``tests.fake_http`` (``enqueue(rate_limited(path="/fapi/v1/order"))``).
``orders_accepted`` counts accepted orders per client id: a duplicate order is any count > 1.
Every non-zero funding settlement is also an ``income`` row (``GET /fapi/v1/income``,
``incomeType`` FUNDING_FEE, a ``tranId`` each), the history ccxt's ``fetch_funding_history``
reads.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.fake_exchange import (
    DEFAULT_MARKETS,
    FUNDING_INTERVAL_MS,
    INTERVAL_MS,
    FakeBinanceUsdm,
    FakeMarket,
    FakeRequest,
    FakeResponse,
    _error,
    _symbol_json,
)

__all__ = ["FakeBinanceTrading", "VenueOrder"]

ORDER_PATH = "/fapi/v1/order"
_CLIENT_ID = re.compile(r"^[.A-Za-z:/0-9_-]{1,36}$")


@dataclass(slots=True)
class VenueOrder:
    """One order as the venue holds it."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    qty: float
    reduce_only: bool
    status: str
    bar_ms: int
    time_ms: int
    executed: float = 0.0
    cum_quote: float = 0.0
    hidden_queries: int = 0


@dataclass(slots=True)
class _Position:
    qty: float = 0.0
    entry: float = 0.0


@dataclass(slots=True)
class _Account:
    wallet: float
    positions: dict[str, _Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)
    funded_until_ms: int = 0


class FakeBinanceTrading(FakeBinanceUsdm):
    """The market-data fake plus one trading account (see the module docstring).

    Parameters
    ----------
    wallet : float
        Initial USDT wallet balance.
    fee_rate, slippage : float
        Taker fee and fixed fill slippage (fractions).
    min_notional : float
        The MIN_NOTIONAL filter of every market (non-reduce-only orders below it are rejected).
    bar_interval : str
        The bar whose open a market order fills at.
    """

    def __init__(
        self,
        *,
        wallet: float = 10_000.0,
        fee_rate: float = 0.0005,
        slippage: float = 0.0002,
        min_notional: float = 100.0,
        bar_interval: str = "1h",
        markets: tuple[FakeMarket, ...] = DEFAULT_MARKETS,
        **kwargs: Any,
    ) -> None:
        self.fee_rate = fee_rate
        self.slippage = slippage
        self.min_notional = min_notional
        self.interval_ms = INTERVAL_MS[bar_interval]
        self.bar_interval = bar_interval
        self.account = _Account(wallet=wallet)
        self.orders: dict[int, VenueOrder] = {}
        self.by_client: dict[str, int] = {}
        self.orders_accepted: dict[str, int] = {}
        self.trades: list[dict[str, Any]] = []
        self.funding_paid: list[tuple[int, float]] = []
        self.income: list[dict[str, Any]] = []  # FUNDING_FEE rows of /fapi/v1/income
        self.order_faults: deque[str] = deque()
        self.invisible_queries = 2
        self.timeout_seconds = 1.0
        self.duplicate_scope = "all"  # "open": only open orders' ids conflict
        self.held = threading.Event()  # set when a "hold" order was accepted
        self.release = threading.Event()  # set to answer the held order
        self._next_id = 1000
        super().__init__(markets=markets, **kwargs)
        self._lock = threading.RLock()  # account routes read candles under the lock
        self.account.funded_until_ms = self.now_ms

    def build_routes(self) -> None:
        super().build_routes()
        self.add_route("GET", "/fapi/v1/exchangeInfo", self._exchange_info_with_filters)
        self.add_route("POST", ORDER_PATH, self._new_order)
        self.add_route("GET", ORDER_PATH, self._query_order)
        self.add_route("DELETE", ORDER_PATH, self._cancel_order)
        self.add_route("GET", "/fapi/v1/openOrders", self._open_orders)
        self.add_route("DELETE", "/fapi/v1/allOpenOrders", self._cancel_all)
        for version in ("v2", "v3"):
            self.add_route("GET", f"/fapi/{version}/positionRisk", self._position_risk)
            self.add_route("GET", f"/fapi/{version}/account", self._account_info)
            self.add_route("GET", f"/fapi/{version}/balance", self._balance)
        self.add_route("GET", "/fapi/v1/userTrades", self._user_trades)
        self.add_route("POST", "/fapi/v1/leverage", self._set_leverage)
        self.add_route("POST", "/fapi/v1/marginType", self._set_margin_type)
        self.add_route("GET", "/fapi/v1/income", self._income)
        self.add_route("GET", "/fapi/v1/leverageBracket", self._leverage_bracket)
        # ccxt loads the spot wallet's currencies and margin pairs when live keys are set (not
        # in demo mode): this venue has no spot wallet, an empty list is a valid answer to both
        self.add_route("GET", "/sapi/v1/capital/config/getall", self._no_spot)
        self.add_route("GET", "/sapi/v1/margin/allPairs", self._no_spot)

    def advance(self, ms: int) -> int:
        now = super().advance(ms)
        with self._lock:
            self._settle()
        return now

    # ---------------------------------------------------------------- prices and settlement
    def _bar_open(self, symbol: str, bar_ms: int) -> float:
        rows = self.kline_rows(symbol, self.bar_interval, bar_ms, bar_ms, 1)
        return float(rows[0][1])

    def mark_price(self, symbol: str) -> float:
        """The open of the bar forming now (= the last close in the synthetic data)."""
        return self._bar_open(symbol, (self.now_ms // self.interval_ms) * self.interval_ms)

    def _settle(self) -> None:
        # funding settlements and resting partial remainders up to now, in time order
        account = self.account
        for symbol, position in account.positions.items():
            start, stop = account.funded_until_ms, self.now_ms
            for row in self._funding_rows(symbol, start + 1, stop, None):
                settle_ms = int(row["fundingTime"])
                bar_ms = (settle_ms // self.interval_ms) * self.interval_ms
                amount = position.qty * self._bar_open(symbol, bar_ms) * float(row["fundingRate"])
                account.wallet -= amount
                self.funding_paid.append((settle_ms, amount))
                if amount != 0.0:  # Binance reports no zero income
                    self._next_id += 1
                    self.income.append(
                        {
                            "symbol": symbol,
                            "incomeType": "FUNDING_FEE",
                            "income": repr(-amount),
                            "asset": "USDT",
                            "time": settle_ms,
                            "info": "FUNDING_FEE",
                            "tranId": str(self._next_id),
                            "tradeId": "",
                        }
                    )
        account.funded_until_ms = self.now_ms
        bar_now = (self.now_ms // self.interval_ms) * self.interval_ms
        for order in self.orders.values():
            if order.status == "PARTIALLY_FILLED" and order.bar_ms < bar_now:
                self._fill(order, order.qty - order.executed, bar_now)
                order.status = "FILLED"

    def _fill(self, order: VenueOrder, qty: float, bar_ms: int) -> None:
        direction = 1.0 if order.side == "BUY" else -1.0
        price = self._bar_open(order.symbol, bar_ms) * (1.0 + self.slippage * direction)
        fee = self.fee_rate * qty * price
        position = self.account.positions.setdefault(order.symbol, _Position())
        signed = direction * qty
        realized = 0.0
        if position.qty * signed < 0.0:
            closed = min(abs(signed), abs(position.qty))
            realized = closed * (price - position.entry) * (1.0 if position.qty > 0 else -1.0)
        new_qty = position.qty + signed
        if abs(new_qty) < 1e-12:
            position.qty, position.entry = 0.0, 0.0
        elif position.qty * new_qty < 0.0 or position.qty == 0.0:
            position.qty, position.entry = new_qty, price
        elif abs(new_qty) > abs(position.qty):
            position.entry = (position.entry * position.qty + price * signed) / new_qty
            position.qty = new_qty
        else:
            position.qty = new_qty
        self.account.wallet += realized - fee
        order.executed += qty
        order.cum_quote += qty * price
        self._next_id += 1
        self.trades.append(
            {
                "symbol": order.symbol,
                "id": self._next_id,
                "orderId": order.order_id,
                "side": order.side,
                "price": repr(price),
                "qty": repr(qty),
                "realizedPnl": repr(realized),
                "quoteQty": repr(qty * price),
                "commission": repr(fee),
                "commissionAsset": "USDT",
                "time": self.now_ms,
                "positionSide": "BOTH",
                "buyer": order.side == "BUY",
                "maker": False,
            }
        )

    # ---------------------------------------------------------------- account views
    def position_qty(self, symbol: str) -> float:
        with self._lock:
            return self.account.positions.get(symbol, _Position()).qty

    def equity(self) -> float:
        """Wallet balance plus unrealised P&L at the mark price."""
        with self._lock:
            self._settle()
            return self.account.wallet + sum(
                p.qty * (self.mark_price(s) - p.entry) for s, p in self.account.positions.items()
            )

    def duplicates(self) -> int:
        """Orders accepted more than once for one client id (0 for a correct client)."""
        return sum(n - 1 for n in self.orders_accepted.values() if n > 1)

    # ---------------------------------------------------------------- routes
    def _exchange_info_with_filters(self, request: FakeRequest) -> FakeResponse:
        response = self._exchange_info(request)
        body = dict(response.body)
        symbols = []
        for market in self.markets.values():
            info = _symbol_json(market)
            info["filters"] = [
                {"filterType": "MIN_NOTIONAL", "notional": repr(self.min_notional)}
                if f["filterType"] == "MIN_NOTIONAL"
                else f
                for f in info["filters"]
            ]
            symbols.append(info)
        body["symbols"] = symbols
        return FakeResponse(200, body)

    def _signed(self, request: FakeRequest) -> FakeResponse | None:
        if "X-MBX-APIKEY" not in request.headers or "signature" not in request.params:
            return _error(-2014, "API-key format invalid.", 401)
        return None

    def _new_order(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        params = request.params
        with self._lock:
            self._settle()
            fault = self.order_faults.popleft() if self.order_faults else ""
            if fault == "reject_before":
                return FakeResponse(503, "<html>503 Service Unavailable</html>")
            checked = self._check_order(params, fault)
            if isinstance(checked, FakeResponse):
                return checked
            order = checked
            self.orders[order.order_id] = order
            self.by_client[order.client_id] = order.order_id
            self.orders_accepted[order.client_id] = self.orders_accepted.get(order.client_id, 0) + 1
            if fault == "partial":
                step = 10.0 ** -self.markets[order.symbol].quantity_decimals
                half = math.floor(order.qty / 2 / step) * step
                if half > 0:
                    self._fill(order, half, order.bar_ms)
                order.status = "PARTIALLY_FILLED"
            else:
                self._fill(order, order.qty, order.bar_ms)
                order.status = "FILLED"
            if fault == "invisible":
                order.hidden_queries = self.invisible_queries
            body = self._order_json(order)
        if fault == "duplicate":  # as if an earlier attempt of this id had gone through
            return _error(-4116, "ClientOrderId is duplicated.")
        if fault in ("lost_response", "invisible"):
            return FakeResponse(503, "<html>503 Service Unavailable</html>")
        if fault == "timeout":
            time.sleep(self.timeout_seconds)
        if fault == "hold":
            self.held.set()
            self.release.wait(timeout=60.0)
        return FakeResponse(200, body)

    def _check_order(self, params: dict[str, str], fault: str) -> VenueOrder | FakeResponse:
        symbol = params.get("symbol", "")
        if symbol not in self.markets:
            return _error(-1121, "Invalid symbol.")
        client_id = params.get("newClientOrderId", "")
        if not _CLIENT_ID.match(client_id):
            return _error(-4015, "Client order id is not valid.")
        known = self.by_client.get(client_id)
        if known is not None and (
            self.duplicate_scope == "all"
            or self.orders[known].status in ("NEW", "PARTIALLY_FILLED")
        ):
            return _error(-4116, "ClientOrderId is duplicated.")
        side, qty = params.get("side", ""), float(params.get("quantity", "0"))
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        position = self.account.positions.get(symbol, _Position()).qty
        signed = qty if side == "BUY" else -qty
        price = self.mark_price(symbol)
        if fault == "reject_reduce_only" or (
            reduce_only and (position * signed >= 0.0 or abs(signed) > abs(position) + 1e-12)
        ):
            return _error(-2022, "ReduceOnly Order is rejected.")
        if fault == "reject_min_notional" or (not reduce_only and qty * price < self.min_notional):
            return _error(-4164, f"Order's notional must be no smaller than {self.min_notional:g}")
        leverage = self.account.leverage.get(symbol, 20)
        gross = (
            sum(
                abs(p.qty) * self.mark_price(s)
                for s, p in self.account.positions.items()
                if s != symbol
            )
            + abs(position + signed) * price
        )
        if fault == "reject_margin" or gross / leverage > self.equity_unlocked():
            return _error(-2019, "Margin is insufficient.")
        self._next_id += 1
        bar_ms = (self.now_ms // self.interval_ms) * self.interval_ms
        return VenueOrder(
            self._next_id, client_id, symbol, side, qty, reduce_only, "NEW", bar_ms, self.now_ms
        )

    def equity_unlocked(self) -> float:
        return self.account.wallet + sum(
            p.qty * (self.mark_price(s) - p.entry) for s, p in self.account.positions.items()
        )

    def _find(self, params: dict[str, str]) -> VenueOrder | None:
        if "origClientOrderId" in params:
            order_id = self.by_client.get(params["origClientOrderId"])
        else:
            order_id = int(params["orderId"]) if params.get("orderId", "").isdigit() else None
        return None if order_id is None else self.orders.get(order_id)

    def _query_order(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            order = self._find(request.params)
            if order is None or order.hidden_queries > 0:
                if order is not None:
                    order.hidden_queries -= 1
                return _error(-2013, "Order does not exist.")
            return FakeResponse(200, self._order_json(order))

    def _cancel_order(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            order = self._find(request.params)
            if order is None or order.status not in ("NEW", "PARTIALLY_FILLED"):
                return _error(-2011, "Unknown order sent.")
            order.status = "CANCELED"
            return FakeResponse(200, self._order_json(order))

    def _open(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")]

    def _open_orders(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            symbol = request.params.get("symbol")
            return FakeResponse(
                200,
                [self._order_json(o) for o in self._open() if symbol in (None, o.symbol)],
            )

    def _cancel_all(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            for order in self._open():
                if order.symbol == request.params.get("symbol"):
                    order.status = "CANCELED"
        return FakeResponse(
            200, {"code": 200, "msg": "The operation of cancel all open order is done."}
        )

    def _position_risk(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            rows = []
            for symbol in self.markets:
                position = self.account.positions.get(symbol, _Position())
                mark = self.mark_price(symbol)
                rows.append(
                    {
                        "symbol": symbol,
                        "positionAmt": repr(position.qty),
                        "entryPrice": repr(position.entry),
                        "breakEvenPrice": repr(position.entry),
                        "markPrice": repr(mark),
                        "unRealizedProfit": repr(position.qty * (mark - position.entry)),
                        "liquidationPrice": "0",
                        "leverage": str(self.account.leverage.get(symbol, 20)),
                        "maxNotionalValue": "1000000",
                        "marginType": self.account.margin_type.get(symbol, "cross"),
                        "isolatedMargin": "0",
                        "isAutoAddMargin": "false",
                        "positionSide": "BOTH",
                        "notional": repr(position.qty * mark),
                        "isolatedWallet": "0",
                        "initialMargin": "0",
                        "maintMargin": "0",
                        "updateTime": self.now_ms,
                    }
                )
            return FakeResponse(200, rows)

    def _asset(self) -> dict[str, Any]:
        wallet = self.account.wallet
        upnl = self.equity_unlocked() - wallet
        return {
            "accountAlias": "fake",
            "asset": "USDT",
            "walletBalance": repr(wallet),
            "balance": repr(wallet),
            "unrealizedProfit": repr(upnl),
            "marginBalance": repr(wallet + upnl),
            "crossWalletBalance": repr(wallet),
            "crossUnPnl": repr(upnl),
            "availableBalance": repr(wallet + upnl),
            "maxWithdrawAmount": repr(wallet),
            "initialMargin": "0",
            "maintMargin": "0",
            "marginAvailable": True,
            "updateTime": self.now_ms,
        }

    def _balance(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            return FakeResponse(200, [self._asset()])

    def _account_info(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        with self._lock:
            self._settle()
            asset = self._asset()
            return FakeResponse(
                200,
                {
                    "totalWalletBalance": asset["walletBalance"],
                    "totalUnrealizedProfit": asset["unrealizedProfit"],
                    "totalMarginBalance": asset["marginBalance"],
                    "availableBalance": asset["availableBalance"],
                    "maxWithdrawAmount": asset["maxWithdrawAmount"],
                    "assets": [asset],
                    "positions": [],
                },
            )

    def _user_trades(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        params = request.params
        with self._lock:
            rows = [t for t in self.trades if t["symbol"] == params.get("symbol")]
            if "orderId" in params:
                rows = [t for t in rows if str(t["orderId"]) == params["orderId"]]
            if "startTime" in params:
                rows = [t for t in rows if t["time"] >= int(params["startTime"])]
            return FakeResponse(200, rows[-int(params.get("limit", 500)) :])

    def _set_leverage(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        symbol, leverage = request.params.get("symbol", ""), int(request.params["leverage"])
        with self._lock:
            self.account.leverage[symbol] = leverage
        return FakeResponse(
            200, {"leverage": leverage, "maxNotionalValue": "1000000", "symbol": symbol}
        )

    def _set_margin_type(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        symbol = request.params.get("symbol", "")
        wanted = request.params.get("marginType", "").lower()
        wanted = "cross" if wanted == "crossed" else wanted
        with self._lock:
            if self.account.margin_type.get(symbol, "cross") == wanted:
                return _error(-4046, "No need to change margin type.")
            self.account.margin_type[symbol] = wanted
        return FakeResponse(200, {"code": 200, "msg": "success"})

    def _leverage_bracket(self, request: FakeRequest) -> FakeResponse:
        bracket = {
            "bracket": 1,
            "initialLeverage": 125,
            "notionalCap": 1_000_000,
            "notionalFloor": 0,
            "maintMarginRatio": 0.004,
            "cum": 0.0,
        }
        return FakeResponse(200, [{"symbol": s, "brackets": [bracket]} for s in self.markets])

    def _no_spot(self, request: FakeRequest) -> FakeResponse:
        if (denied := self._signed(request)) is not None:
            return denied
        return FakeResponse(200, [])

    def _income(self, request: FakeRequest) -> FakeResponse:
        # the account's income history (Binance caps a page at 1000 rows, oldest first)
        if (denied := self._signed(request)) is not None:
            return denied
        params = request.params
        with self._lock:
            self._settle()
            rows = [r for r in self.income if params.get("symbol") in (None, r["symbol"])]
            if "incomeType" in params:
                rows = [r for r in rows if r["incomeType"] == params["incomeType"]]
            if "startTime" in params:
                rows = [r for r in rows if r["time"] >= int(params["startTime"])]
            if "endTime" in params:
                rows = [r for r in rows if r["time"] <= int(params["endTime"])]
            return FakeResponse(200, rows[: int(params.get("limit", 100))])

    def _order_json(self, order: VenueOrder) -> dict[str, Any]:
        average = order.cum_quote / order.executed if order.executed else 0.0
        return {
            "orderId": order.order_id,
            "symbol": order.symbol,
            "status": order.status,
            "clientOrderId": order.client_id,
            "price": "0",
            "avgPrice": repr(average),
            "origQty": repr(order.qty),
            "executedQty": repr(order.executed),
            "cumQuote": repr(order.cum_quote),
            "timeInForce": "GTC",
            "type": "MARKET",
            "reduceOnly": order.reduce_only,
            "closePosition": False,
            "side": order.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": "MARKET",
            "time": order.time_ms,
            "updateTime": self.now_ms,
        }


_ = FUNDING_INTERVAL_MS  # the settlement grid the funding rows follow
