"""A fake Binance USDT-M futures venue served over HTTP on 127.0.0.1, for driving the real ccxt.

``FakeBinanceUsdm`` answers the public market-data endpoints ccxt's ``binanceusdm`` calls
(``exchangeInfo``, ``time``, ``klines``, ``markPriceKlines``, ``fundingRate``) with Binance's
JSON shapes and parameter semantics, from deterministic synthetic data generated from a seed.
It keeps a log of every request and plays a queue of scripted faults (429, 418, 503, slow
responses, Binance error bodies) before normal answers.

Extension point: the server, the route table, the fault queue and the log are
``tests.fake_http.FakeVenue``'s. A trading venue later adds routes (``POST /fapi/v1/order``,
``GET /fapi/v2/balance``, ...) in a subclass's ``build_routes`` or with ``add_route``.
The generic faults (``slow``, ``unavailable``) are re-exported here next to Binance's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.fake_http import (
    FakeRequest,
    FakeResponse,
    FakeVenue,
    ScriptedResponse,
    slow,
    unavailable,
)

__all__ = [
    "FakeBinanceUsdm",
    "FakeMarket",
    "FakeRequest",
    "FakeResponse",
    "ScriptedResponse",
    "binance_error",
    "ip_banned",
    "rate_limited",
    "slow",
    "unavailable",
]

# Binance kline intervals and their length in ms
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
FUNDING_INTERVAL_MS = 8 * 3_600_000
KLINES_MAX_LIMIT = 1500
FUNDING_MAX_LIMIT = 1000
_CHUNK_BARS = 4096


@dataclass(frozen=True, slots=True)
class FakeMarket:
    """One perpetual contract the fake lists (Binance ``exchangeInfo`` essentials)."""

    symbol: str
    base_asset: str
    start_price: float
    price_decimals: int
    quantity_decimals: int
    listing_ms: int


DEFAULT_LISTING_MS = 1_567_965_600_000  # 2019-09-08T18:00:00Z, BTCUSDT's real onboard hour
DEFAULT_MARKETS: tuple[FakeMarket, ...] = (
    FakeMarket("BTCUSDT", "BTC", 42_000.0, 1, 3, DEFAULT_LISTING_MS),
    FakeMarket("ETHUSDT", "ETH", 2_300.0, 2, 3, 1_574_830_800_000),
    FakeMarket("SOLUSDT", "SOL", 100.0, 3, 0, 1_599_998_400_000),
)


def rate_limited(retry_after_seconds: int = 1, *, path: str | None = None) -> ScriptedResponse:
    """Return a Binance 429 (request weight exceeded) with a Retry-After header."""
    body = {"code": -1003, "msg": "Too many requests; current limit is 2400 requests per minute."}
    headers = {"Retry-After": str(retry_after_seconds)}
    return ScriptedResponse(FakeResponse(429, body, headers), path=path)


def ip_banned(retry_after_seconds: int = 2, *, path: str | None = None) -> ScriptedResponse:
    """Return a Binance 418 (IP auto-banned after repeated 429s) with a Retry-After header."""
    body = {"code": -1003, "msg": "Way too many requests; IP banned until 1700000000000."}
    return ScriptedResponse(
        FakeResponse(418, body, {"Retry-After": str(retry_after_seconds)}), path=path
    )


def binance_error(
    code: int, message: str, *, status: int = 400, path: str | None = None
) -> ScriptedResponse:
    """Return a Binance error body such as ``{"code": -1121, "msg": "Invalid symbol."}``."""
    return ScriptedResponse(FakeResponse(status, {"code": code, "msg": message}), path=path)


def _error(code: int, message: str, status: int = 400) -> FakeResponse:
    return FakeResponse(status, {"code": code, "msg": message})


def _stable_int(*parts: object) -> int:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(slots=True)
class _Candles:
    """Served strings of closed bars of one (symbol, interval), grown on demand."""

    open: list[str] = field(default_factory=list)
    high: list[str] = field(default_factory=list)
    low: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    volume: list[str] = field(default_factory=list)


class FakeBinanceUsdm(FakeVenue):
    """A threaded HTTP fake of Binance USDT-M futures public market data on 127.0.0.1.

    Parameters
    ----------
    seed : int
        Seeds every synthetic candle and funding rate; the same seed serves the same data.
    now_ms : int
        The venue's clock (``/fapi/v1/time``); bars opening after it do not exist yet and the
        bar containing it is still forming (served with partial values, like Binance).
    markets : tuple of FakeMarket
        The listed perpetuals.

    Attributes ``outages`` (``[(start_ms, stop_ms), ...]``: no bars open inside, as after an
    exchange outage), ``honour_end_time`` (False: ignore ``endTime`` like some venues do) and
    ``publish_delay_ms`` (a closed bar is served only that long after its end: late
    publication) may be changed while serving. ``regimes`` (``[(start_ms, drift_per_hour),
    ...]``, set before the first bar is served) adds a drift to the log return of every bar
    opening at or after ``start_ms`` (the last regime started wins; none: no drift): a
    planted regime switch, e.g. a rising market that starts falling. The clock is
    controllable: ``advance(ms)`` moves ``now_ms`` forward, and new bars appear as it passes
    their ends.
    """

    name = "fake-binance"

    def __init__(
        self,
        *,
        seed: int = 7,
        now_ms: int = 1_735_689_600_000,
        markets: tuple[FakeMarket, ...] = DEFAULT_MARKETS,
    ) -> None:
        self.seed = seed
        self.now_ms = now_ms
        self.markets = {market.symbol: market for market in markets}
        self.outages: list[tuple[int, int]] = []
        self.honour_end_time = True
        self.publish_delay_ms = 0
        self.regimes: list[tuple[int, float]] = []
        self._candles: dict[tuple[str, str, str], _Candles] = {}
        super().__init__()

    def advance(self, ms: int) -> int:
        """Move the venue's clock forward by ``ms`` (>= 0) and return the new ``now_ms``."""
        if ms < 0:
            raise ValueError(f"the venue's clock only moves forward, asked {ms} ms")
        with self._lock:
            self.now_ms += int(ms)
            return self.now_ms

    # ---------------------------------------------------------------- extension point
    def build_routes(self) -> None:
        """Register the endpoints; subclasses call ``super().build_routes()`` and add theirs."""
        super().build_routes()
        self.add_route("GET", "/fapi/v1/ping", lambda request: FakeResponse(200, {}))
        self.add_route("GET", "/fapi/v1/time", self._time)
        self.add_route("GET", "/fapi/v1/exchangeInfo", self._exchange_info)
        self.add_route("GET", "/fapi/v1/klines", self._klines)
        self.add_route("GET", "/fapi/v1/markPriceKlines", self._mark_price_klines)
        self.add_route("GET", "/fapi/v1/fundingRate", self._funding_rate)

    # ---------------------------------------------------------------- synthetic data
    def candles(
        self, symbol: str, interval: str, start_ms: int, stop_ms: int, *, price: str = "trade"
    ) -> dict[str, np.ndarray]:
        """Return the closed bars with open in ``[start_ms, stop_ms)`` exactly as served.

        Values are ``float(s)`` of the very strings the endpoints send, so a correct client
        stores arrays equal to these byte for byte. Keys: timestamp (int64 ms) and
        open/high/low/close/volume (float64).
        """
        rows = self.kline_rows(
            symbol, interval, start_ms, stop_ms - 1, None, price, closed_only=True
        )
        return {
            "timestamp": np.array([row[0] for row in rows], dtype=np.int64),
            "open": np.array([float(row[1]) for row in rows], dtype=np.float64),
            "high": np.array([float(row[2]) for row in rows], dtype=np.float64),
            "low": np.array([float(row[3]) for row in rows], dtype=np.float64),
            "close": np.array([float(row[4]) for row in rows], dtype=np.float64),
            "volume": np.array([float(row[5]) for row in rows], dtype=np.float64),
        }

    def funding(self, symbol: str, start_ms: int, stop_ms: int) -> dict[str, np.ndarray]:
        """Return the settlements with fundingTime in ``[start_ms, stop_ms)`` exactly as served."""
        rows = self._funding_rows(symbol, start_ms, stop_ms - 1, None)
        return {
            "timestamp": np.array([row["fundingTime"] for row in rows], dtype=np.int64),
            "funding_rate": np.array([float(row["fundingRate"]) for row in rows], dtype=np.float64),
        }

    def _series(self, market: FakeMarket, interval: str, price: str, n_bars: int) -> _Candles:
        key = (market.symbol, interval, price)
        with self._lock:
            series = self._candles.setdefault(key, _Candles())
            while len(series.close) < n_bars:
                self._grow(series, market, interval, price)
            return series

    def _grow(self, series: _Candles, market: FakeMarket, interval: str, price: str) -> None:
        chunk = len(series.close) // _CHUNK_BARS
        rng = np.random.default_rng([self.seed, _stable_int(market.symbol, interval, price), chunk])
        decimals, tick = market.price_decimals, 10.0**-market.price_decimals
        previous = float(series.close[-1]) if series.close else market.start_price
        steps = rng.normal(0.0, 0.006, _CHUNK_BARS)
        if self.regimes:
            steps = steps + self._drift(market, interval, chunk)
        path = previous * np.exp(np.cumsum(steps))
        close = np.maximum(np.round(path, decimals), tick)
        open_ = np.concatenate(([round(previous, decimals)], close[:-1]))
        wicks = np.abs(rng.normal(0.0, 0.003, (2, _CHUNK_BARS)))
        # rounding a value at or beyond a grid price never crosses it: high >= max(open, close)
        high = np.round(np.maximum(open_, close) * (1.0 + wicks[0]), decimals)
        low = np.maximum(np.round(np.minimum(open_, close) * (1.0 - wicks[1]), decimals), tick)
        volume = np.round(rng.lognormal(3.0, 0.8, _CHUNK_BARS), market.quantity_decimals)
        if price == "mark":
            volume[:] = 0.0
        for column, values, places in (
            (series.open, open_, decimals),
            (series.high, high, decimals),
            (series.low, low, decimals),
            (series.close, close, decimals),
            (series.volume, volume, market.quantity_decimals),
        ):
            column.extend(f"{value:.{places}f}" for value in values.tolist())

    def _drift(self, market: FakeMarket, interval: str, chunk: int) -> np.ndarray:
        # each bar's drift: the regime in force at its open time, scaled to the interval
        interval_ms = INTERVAL_MS[interval]
        first_bar = -(-market.listing_ms // interval_ms) + chunk * _CHUNK_BARS
        open_ms = (first_bar + np.arange(_CHUNK_BARS, dtype=np.int64)) * interval_ms
        drift = np.zeros(_CHUNK_BARS)
        for start_ms, per_hour in sorted(self.regimes):
            drift[open_ms >= start_ms] = per_hour * interval_ms / 3_600_000
        return drift

    def kline_rows(
        self,
        symbol: str,
        interval: str,
        first_ms: int | None,
        last_ms: int | None,
        limit: int | None,
        price: str = "trade",
        *,
        closed_only: bool = False,
    ) -> list[list[Any]]:
        """Return the kline rows (Binance JSON shape) the endpoint serves for these parameters.

        Binance semantics: bars with ``first_ms <= open <= last_ms`` (either bound optional),
        at most ``limit``, from ``first_ms`` forward when given, else the newest; bars inside
        an outage do not exist; the forming bar is included unless ``closed_only``.
        """
        market = self.markets[symbol]
        interval_ms = INTERVAL_MS[interval]
        now_ms = self.now_ms
        listing_bar = -(-market.listing_ms // interval_ms)  # first full bar after listing
        forming_bar = now_ms // interval_ms
        newest_bar = forming_bar - 1 if closed_only else forming_bar
        if self.publish_delay_ms > 0:
            # late publication: a bar ending less than publish_delay_ms ago is not served yet
            newest_bar = min(newest_bar, (now_ms - self.publish_delay_ms) // interval_ms - 1)
        lo = listing_bar if first_ms is None else max(listing_bar, -(-first_ms // interval_ms))
        hi = newest_bar if last_ms is None else min(newest_bar, last_ms // interval_ms)
        bars = [bar for bar in range(lo, hi + 1) if not self._in_outage(bar * interval_ms)]
        if limit is not None:
            bars = bars[:limit] if first_ms is not None else bars[-limit:]
        if not bars:
            return []
        series = self._series(market, interval, price, bars[-1] - listing_bar + 1)
        rows = []
        for bar in bars:
            i = bar - listing_bar
            row = [series.open[i], series.high[i], series.low[i], series.close[i], series.volume[i]]
            if bar == forming_bar:
                row = self._forming(row, (now_ms - bar * interval_ms) / interval_ms, market)
            rows.append(_kline_json(bar * interval_ms, interval_ms, row, price))
        return rows

    def _in_outage(self, open_ms: int) -> bool:
        return any(start <= open_ms < stop for start, stop in self.outages)

    @staticmethod
    def _forming(row: list[str], fraction: float, market: FakeMarket) -> list[str]:
        # The forming bar so far: part of the move and part of the volume, as a live venue shows
        decimals, open_ = market.price_decimals, float(row[0])
        close = round(open_ + fraction * (float(row[3]) - open_), decimals)
        high, low = max(open_, close), min(open_, close)
        volume = round(float(row[4]) * fraction, market.quantity_decimals)
        prices = [f"{value:.{decimals}f}" for value in (open_, high, low, close)]
        return [*prices, f"{volume:.{market.quantity_decimals}f}"]

    def _funding_rows(
        self, symbol: str, first_ms: int | None, last_ms: int | None, limit: int | None
    ) -> list[dict[str, Any]]:
        market = self.markets[symbol]
        first_slot = -(-market.listing_ms // FUNDING_INTERVAL_MS)
        # A settlement lands a few ms after its slot (Binance's real jitter); visible once past
        last_slot = self.now_ms // FUNDING_INTERVAL_MS
        lo = (
            first_slot
            if first_ms is None
            else max(first_slot, -(-(first_ms - 20) // FUNDING_INTERVAL_MS))
        )
        hi = last_slot if last_ms is None else min(last_slot, last_ms // FUNDING_INTERVAL_MS)
        rows = []
        for slot in range(lo, hi + 1):
            entropy = _stable_int(self.seed, symbol, "funding", slot)
            funding_ms = slot * FUNDING_INTERVAL_MS + entropy % 13
            if (first_ms is not None and funding_ms < first_ms) or funding_ms > self.now_ms:
                continue
            if last_ms is not None and funding_ms > last_ms:
                continue
            rate = ((entropy >> 8) % 40_001 - 10_000) / 1e8  # -0.0001 .. 0.0003
            rows.append(
                {
                    "symbol": symbol,
                    "fundingTime": funding_ms,
                    "fundingRate": f"{rate:.8f}",
                    "markPrice": f"{market.start_price:.{market.price_decimals}f}",
                }
            )
        if limit is not None:
            rows = rows[:limit] if first_ms is not None else rows[-limit:]
        return rows

    # ---------------------------------------------------------------- endpoints
    def _time(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"serverTime": self.now_ms})

    def _exchange_info(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(
            200,
            {
                "timezone": "UTC",
                "serverTime": self.now_ms,
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 2400,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 1200,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "SECOND",
                        "intervalNum": 10,
                        "limit": 300,
                    },
                ],
                "exchangeFilters": [],
                "assets": [
                    {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}
                ],
                "symbols": [_symbol_json(market) for market in self.markets.values()],
            },
        )

    def _klines(self, request: FakeRequest) -> FakeResponse:
        return self._candles_endpoint(request, "trade")

    def _mark_price_klines(self, request: FakeRequest) -> FakeResponse:
        return self._candles_endpoint(request, "mark")

    def _candles_endpoint(self, request: FakeRequest, price: str) -> FakeResponse:
        params = request.params
        symbol, interval = params.get("symbol"), params.get("interval")
        if not symbol:
            return _error(
                -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if symbol not in self.markets:
            return _error(-1121, "Invalid symbol.")
        if interval not in INTERVAL_MS:
            return _error(-1120, "Invalid interval.")
        window = _window(params, default_limit=500, max_limit=KLINES_MAX_LIMIT)
        if isinstance(window, FakeResponse):
            return window
        first_ms, last_ms, limit = window
        if not self.honour_end_time:
            last_ms = None
        return FakeResponse(200, self.kline_rows(symbol, interval, first_ms, last_ms, limit, price))

    def _funding_rate(self, request: FakeRequest) -> FakeResponse:
        params = request.params
        symbol = params.get("symbol")
        if symbol is not None and symbol not in self.markets:
            return _error(-1121, "Invalid symbol.")
        window = _window(params, default_limit=100, max_limit=FUNDING_MAX_LIMIT)
        if isinstance(window, FakeResponse):
            return window
        first_ms, last_ms, limit = window
        symbols = [symbol] if symbol is not None else list(self.markets)
        rows = [
            row for name in symbols for row in self._funding_rows(name, first_ms, last_ms, limit)
        ]
        rows.sort(key=lambda row: row["fundingTime"])
        return FakeResponse(200, rows[:limit] if first_ms is not None else rows[-limit:])


def _window(
    params: Mapping[str, str], *, default_limit: int, max_limit: int
) -> tuple[int | None, int | None, int] | FakeResponse:
    try:
        first_ms = int(params["startTime"]) if "startTime" in params else None
        last_ms = int(params["endTime"]) if "endTime" in params else None
        limit = int(params.get("limit", default_limit))
    except ValueError:
        return _error(-1100, "Illegal characters found in a parameter.")
    if not 1 <= limit <= max_limit:
        return _error(-1130, "Data sent for parameter 'limit' is not valid.")
    if first_ms is not None and last_ms is not None and first_ms > last_ms:
        return _error(-1023, "Start time is greater than end time.")
    return first_ms, last_ms, limit


def _kline_json(open_ms: int, interval_ms: int, row: list[str], price: str) -> list[Any]:
    open_, high, low, close, volume = row
    if price == "mark":
        return [
            open_ms,
            open_,
            high,
            low,
            close,
            "0",
            open_ms + interval_ms - 1,
            "0",
            interval_ms // 1000,
            "0",
            "0",
            "0",
        ]
    quote_volume = f"{float(volume) * float(close):.5f}"
    taker_base = f"{float(volume) / 2:.3f}"
    taker_quote = f"{float(quote_volume) / 2:.5f}"
    trades = int(float(volume) * 37) + 1
    return [
        open_ms,
        open_,
        high,
        low,
        close,
        volume,
        open_ms + interval_ms - 1,
        quote_volume,
        trades,
        taker_base,
        taker_quote,
        "0",
    ]


def _symbol_json(market: FakeMarket) -> dict[str, Any]:
    tick = f"{10.0**-market.price_decimals:.{market.price_decimals}f}"
    step = (
        "1"
        if market.quantity_decimals == 0
        else f"{10.0**-market.quantity_decimals:.{market.quantity_decimals}f}"
    )
    return {
        "symbol": market.symbol,
        "pair": market.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4_133_404_800_000,
        "onboardDate": market.listing_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": market.base_asset,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": market.price_decimals,
        "quantityPrecision": market.quantity_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": ["PoW"],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "4529764",
                "tickSize": tick,
            },
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000", "stepSize": step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": step, "maxQty": "120", "stepSize": step},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }
