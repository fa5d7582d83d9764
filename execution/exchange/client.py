"""Thin ccxt adapter: build a rate-limited client, page OHLCV and funding, retry, map errors.

The only module that talks to ccxt. Every call goes through :meth:`ExchangeClient._call`, which
retries temporary failures (network, rate limit, 5xx, timeout) with exponential backoff and
jitter and maps ccxt's exception tree onto ``execution.errors`` (freqtrade's taxonomy). Keys
come only from ``EVOLVE_<EXCHANGE>_API_KEY`` / ``EVOLVE_<EXCHANGE>_SECRET``; a logging filter
redacts keys, secrets and signatures from ccxt's and urllib3's debug records.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt

from execution.errors import ExchangeError, ExchangeInputError, TemporaryExchangeError

__all__ = [
    "ExchangeClient",
    "FundingPage",
    "MarketInfo",
    "OhlcvPage",
    "RetryPolicy",
    "SecretRedactingFilter",
    "install_redaction",
    "redact",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Loggers that may print request headers (API key) or signed URLs at DEBUG
_REDACTED_LOGGERS = ("ccxt.base.exchange", "urllib3.connectionpool")
_SECRET_FIELD = re.compile(
    r"""(?ix)
    ((?<![\w-])["']?(?:x-mbx-apikey|x-api-key|api[-_]?key|api[-_]?secret|secret|signature|sign|
    passphrase|password|authorization|ok-access-key|ok-access-sign|ok-access-passphrase|
    x-bapi-api-key|x-bapi-sign)["']?\s*[:=]\s*["']?(?:bearer\s+|basic\s+)?)
    ([^"'\s&,}]+)
    """
)
_MASK = "***"
# Binance-family error codes are classified by a per-market table chosen from the URL's host;
# on an overridden host that lookup finds nothing, so the table is merged into the common one
_MARKET_TABLE_BY_EXCHANGE = {"binanceusdm": "linear", "binancecoinm": "inverse", "binance": "spot"}
_TEMPORARY_ERRORS: tuple[type[Exception], ...] = (ccxt.NetworkError,)
_INPUT_ERRORS: tuple[type[Exception], ...] = (ccxt.BadRequest,)  # BadSymbol is a BadRequest
# Failures that came with an HTTP response, whose Retry-After header is honoured
_ANSWERED_ERRORS: tuple[type[Exception], ...] = (
    ccxt.DDoSProtection,
    ccxt.RateLimitExceeded,
    ccxt.ExchangeNotAvailable,
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with key/secret/signature values and the given secrets masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return _SECRET_FIELD.sub(lambda match: match.group(1) + _MASK, text)


class SecretRedactingFilter(logging.Filter):
    """Rewrite log records so no API key, secret or request signature reaches a handler."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Also mask these literal values wherever they appear."""
        self._secrets.update(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(secrets: Iterable[str] = (), *, loggers: Iterable[str] = ()) -> None:
    """Attach a :class:`SecretRedactingFilter` to ccxt's and urllib3's loggers (idempotent)."""
    values = tuple(secrets)
    for name in (*_REDACTED_LOGGERS, *loggers):
        target = logging.getLogger(name)
        existing = [f for f in target.filters if isinstance(f, SecretRedactingFilter)]
        redactor = existing[0] if existing else SecretRedactingFilter()
        if not existing:
            target.addFilter(redactor)
        redactor.add_secrets(values)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for temporary exchange failures.

    Attempt ``k`` (1-based) that fails waits ``min(max_delay, base_delay * 2**(k-1))`` seconds
    scaled by a factor drawn uniformly from ``[1 - jitter, 1]``, and at least the server's
    ``Retry-After``; after ``max_attempts`` failures the error is raised.
    """

    max_attempts: int = 5
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, was {self.max_attempts}")
        if self.base_delay_seconds < 0 or self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError(
                f"need 0 <= base_delay_seconds <= max_delay_seconds, was "
                f"{self.base_delay_seconds} and {self.max_delay_seconds}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be in [0, 1], was {self.jitter}")

    def delay_seconds(self, attempt: int, rng: random.Random) -> float:
        """Return the wait after failed attempt ``attempt`` (1-based), before any Retry-After."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempt - 1))
        return ceiling * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """The parts of a ccxt market the fetcher needs."""

    symbol: str  # ccxt unified, e.g. "BTC/USDT:USDT"
    market_id: str  # exchange id, e.g. "BTCUSDT"
    base: str
    quote: str
    is_swap: bool


OhlcvPage = list[list[float]]
"""Rows ``[timestamp_ms, open, high, low, close, volume]`` as ccxt parses them, oldest first."""
FundingPage = list[tuple[int, float]]
"""Rows ``(settlement_timestamp_ms, funding_rate)``, oldest first."""


class ExchangeClient:
    """A ccxt client with rate limiting, retries, error mapping and redacted logging.

    Parameters
    ----------
    exchange_id : str
        A ccxt exchange id, e.g. ``"binanceusdm"``.
    api_url : str, optional
        Replace the scheme and host of every API URL (tests point it at a local fake);
        default ``$EVOLVE_<EXCHANGE>_API_URL`` when set.
    rate_limit_ms : int, optional
        ccxt's ``rateLimit``: minimum ms between requests per unit of cost (the exchange's
        default when None). ccxt's throttle is always enabled.
    timeout_ms : int
        Per-request timeout.
    retry : RetryPolicy
        Backoff for temporary failures.
    ohlcv_page_limit, funding_page_limit : int
        Rows asked for per request (ccxt caps Binance klines at 1000).
    sleep : callable
        ``sleep(seconds)`` used for backoff (inject a recorder in tests).
    rng : random.Random, optional
        Source of jitter.
    clock_ms : callable
        Local wall clock in ms (bars closing after it are never stored).
    environ : mapping, optional
        Where keys (``EVOLVE_<EXCHANGE>_API_KEY``, ``..._SECRET``) and the API URL override
        are read from (default ``os.environ``).
    demo : bool
        Use the venue's demo trading (ccxt ``enable_demo_trading``) and the demo keys
        ``EVOLVE_<EXCHANGE>_DEMO_API_KEY`` / ``..._DEMO_SECRET``.
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        api_url: str | None = None,
        rate_limit_ms: int | None = None,
        timeout_ms: int = 10_000,
        retry: RetryPolicy | None = None,
        ohlcv_page_limit: int = 1000,
        funding_page_limit: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        environ: Mapping[str, str] | None = None,
        demo: bool = False,
    ) -> None:
        exchange_class = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
        if exchange_class is None:
            raise ExchangeInputError(
                f"exchange {exchange_id!r} is not known to ccxt {ccxt.__version__} (expected a "
                "ccxt exchange id such as 'binanceusdm'); check the --exchange spelling"
            )
        if ohlcv_page_limit < 1 or funding_page_limit < 1:
            raise ValueError("page limits must be >= 1")
        config: dict[str, Any] = {"enableRateLimit": True, "timeout": int(timeout_ms)}
        if rate_limit_ms is not None:
            config["rateLimit"] = rate_limit_ms
        environ = os.environ if environ is None else environ
        api_key, secret = _credentials(exchange_id, environ, demo=demo)
        api_url = api_url or environ.get(f"EVOLVE_{exchange_id.upper()}_API_URL") or None
        if api_key:
            config["apiKey"] = api_key
        if secret:
            config["secret"] = secret
        install_redaction((api_key, secret))
        self.exchange_id = exchange_id
        self.exchange: Any = exchange_class(config)
        self._secrets = tuple(value for value in (api_key, secret) if value)
        self.demo = demo
        if demo:
            # the venue's demo trading (Binance USD-M: demo-fapi); ccxt refuses the old sandbox
            self.exchange.enable_demo_trading(True)
        if api_url is not None:
            _override_api_url(self.exchange, api_url, exchange_id)
        self.retry = retry or RetryPolicy()
        self.ohlcv_page_limit = ohlcv_page_limit
        self.funding_page_limit = funding_page_limit
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock_ms = clock_ms

    def close(self) -> None:
        """Release the HTTP session."""
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- public calls
    def market(self, symbol: str) -> MarketInfo:
        """Return the market for a ccxt symbol (or exchange id), loading markets once.

        Raises
        ------
        ExchangeInputError
            If the exchange lists no such market.
        """
        if self.exchange.markets is None:
            self._call("load markets", self.exchange.load_markets)
        try:
            market = self.exchange.market(symbol)
        except ccxt.BadSymbol:
            examples = ", ".join(list(self.exchange.markets)[:3])
            raise ExchangeInputError(
                f"{self.exchange_id} has no market {symbol!r} (expected a ccxt symbol such as "
                f"{examples}); check --symbol"
            ) from None
        return MarketInfo(
            symbol=market["symbol"],
            market_id=market["id"],
            base=market["base"],
            quote=market["quote"],
            is_swap=bool(market.get("swap")),
        )

    def check_timeframe(self, timeframe: str) -> None:
        """Raise :class:`ExchangeInputError` if the exchange has no ``timeframe`` candles."""
        timeframes = self.exchange.timeframes or {}
        if timeframe not in timeframes:
            raise ExchangeInputError(
                f"{self.exchange_id} has no {timeframe!r} candles (expected one of "
                f"{', '.join(timeframes)}); check --timeframe"
            )

    @property
    def has_funding_history(self) -> bool:
        """Whether the exchange offers funding-rate history."""
        return bool(self.exchange.has.get("fetchFundingRateHistory"))

    def now_ms(self) -> int:
        """Return the earlier of the exchange's server time and the local clock, in ms.

        A bar is closed only when both clocks agree it ended; exchanges without a time
        endpoint use the local clock alone.
        """
        local_ms = int(self._clock_ms())
        if not self.exchange.has.get("fetchTime"):
            return local_ms
        server_ms = self._call("fetch server time", self.exchange.fetch_time)
        return min(local_ms, int(server_ms)) if server_ms else local_ms

    def fetch_ohlcv_page(
        self, symbol: str, timeframe: str, since_ms: int, until_ms: int
    ) -> OhlcvPage:
        """Return up to ``ohlcv_page_limit`` candles with ``since_ms <= open <= until_ms``.

        ``until_ms`` is inclusive (Binance's ``endTime``); ccxt ignores an old ``since`` in
        some paths unless ``until`` is passed too, so both always are.
        """
        self.check_timeframe(timeframe)
        return self._call(
            f"fetch {symbol} {timeframe} candles",
            self.exchange.fetch_ohlcv,
            symbol,
            timeframe,
            since=int(since_ms),
            limit=self.ohlcv_page_limit,
            params={"until": int(until_ms)},
        )

    def fetch_funding_page(self, symbol: str, since_ms: int, until_ms: int) -> FundingPage:
        """Return up to ``funding_page_limit`` settlements with ``since <= time <= until``."""
        rows = self._call(
            f"fetch {symbol} funding history",
            self.exchange.fetch_funding_rate_history,
            symbol,
            since=int(since_ms),
            limit=self.funding_page_limit,
            params={"until": int(until_ms)},
        )
        return [(row["timestamp"], row["fundingRate"]) for row in rows]

    # ---------------------------------------------------------------- retry and mapping
    def _call(self, what: str, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        attempts = self.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return function(*args, **kwargs)
            except _TEMPORARY_ERRORS as e:
                if attempt == attempts:
                    raise TemporaryExchangeError(
                        f"{self.exchange_id}: {what} failed {attempts} times, last with "
                        f"{type(e).__name__}: {self._clean(e)} (expected an answer within "
                        f"the retry budget); check the network or try again later — a fetch "
                        "resumes where it stopped"
                    ) from None
                delay = self._backoff_seconds(attempt, e, what)
                logger.warning(
                    "%s: %s failed (%s, attempt %d of %d); retrying in %.2f s",
                    self.exchange_id,
                    what,
                    type(e).__name__,
                    attempt,
                    attempts,
                    delay,
                )
                self._sleep(delay)
            except _INPUT_ERRORS as e:
                raise ExchangeInputError(
                    f"{self.exchange_id}: {what} was rejected as a bad request "
                    f"({type(e).__name__}: {self._clean(e)}); check --symbol and --timeframe"
                ) from None
            except ccxt.BaseError as e:
                raise ExchangeError(
                    f"{self.exchange_id}: {what} failed with {type(e).__name__}: {self._clean(e)}"
                ) from None
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _backoff_seconds(self, attempt: int, error: Exception, what: str) -> float:
        delay = self.retry.delay_seconds(attempt, self._rng)
        if not isinstance(error, _ANSWERED_ERRORS):
            return delay  # no response arrived, so no Retry-After to honour
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        try:
            retry_after = float(headers.get("Retry-After", 0.0))
        except ValueError:
            retry_after = 0.0  # the HTTP-date form: our own backoff stands
        if retry_after > self.retry.max_delay_seconds:
            raise TemporaryExchangeError(
                f"{self.exchange_id}: {what} was refused ({type(error).__name__}) and the "
                f"exchange asks to wait {retry_after:.0f} s, longer than the "
                f"{self.retry.max_delay_seconds:.0f} s retry budget; wait that long and run "
                "again — a fetch resumes where it stopped"
            ) from None
        return max(delay, retry_after)

    def _clean(self, error: BaseException) -> str:
        text = redact(str(error), self._secrets)
        return text if len(text) <= 300 else text[:297] + "..."


def _credentials(
    exchange_id: str, environ: Mapping[str, str], *, demo: bool = False
) -> tuple[str, str]:
    prefix = f"EVOLVE_{exchange_id.upper()}_" + ("DEMO_" if demo else "")
    return environ.get(prefix + "API_KEY", ""), environ.get(prefix + "SECRET", "")


def _override_api_url(exchange: Any, api_url: str, exchange_id: str) -> None:
    target = urlsplit(api_url)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise ExchangeInputError(
            f"API URL {api_url!r} (api_url or EVOLVE_{exchange_id.upper()}_API_URL) is not a "
            "URL (expected http(s)://host[:port]); fix or unset it"
        )
    base = f"{target.scheme}://{target.netloc}"

    def rebase(value: Any) -> Any:
        if isinstance(value, str):
            return base + urlsplit(value).path
        if isinstance(value, dict):
            return {key: rebase(item) for key, item in value.items()}
        return value

    exchange.urls["api"] = rebase(exchange.urls["api"])
    table = _MARKET_TABLE_BY_EXCHANGE.get(exchange_id)
    specific = exchange.exceptions.get(table, {}) if table else {}
    for kind in ("exact", "broad"):
        merged = dict(exchange.exceptions.get(kind) or {})
        merged.update(specific.get(kind) or {})
        exchange.exceptions[kind] = merged
