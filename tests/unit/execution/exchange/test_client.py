"""The ccxt adapter against the real ccxt.binanceusdm client and a fake venue on 127.0.0.1."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Iterator

import ccxt
import pytest

from execution.errors import ExchangeError, ExchangeInputError, TemporaryExchangeError
from execution.exchange.client import ExchangeClient, RetryPolicy, SecretRedactingFilter, redact
from tests.fake_exchange import (
    FakeBinanceUsdm,
    FakeMarket,
    binance_error,
    ip_banned,
    rate_limited,
    slow,
    unavailable,
)

HOUR_MS = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NOW_MS = START_MS + 3_000 * HOUR_MS + 1_800_000  # half-way through a bar
MARKETS = (FakeMarket("BTCUSDT", "BTC", 42_000.0, 1, 3, START_MS - 24 * HOUR_MS),)
KLINES = "/fapi/v1/klines"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
RETRY = RetryPolicy(max_attempts=3, base_delay_seconds=0.5, max_delay_seconds=8.0, jitter=0.5)


@pytest.fixture
def fake() -> Iterator[FakeBinanceUsdm]:
    with FakeBinanceUsdm(now_ms=NOW_MS, markets=MARKETS) as venue:
        yield venue


def make_client(fake: FakeBinanceUsdm, sleeps: list[float], **overrides: object) -> ExchangeClient:
    settings: dict[str, object] = {
        "api_url": fake.base_url,
        "rate_limit_ms": 1,
        "timeout_ms": 2_000,
        "retry": RETRY,
        "ohlcv_page_limit": 100,
        "sleep": sleeps.append,
        "rng": random.Random(11),
        "environ": {},
    }
    settings.update(overrides)
    return ExchangeClient("binanceusdm", **settings)  # type: ignore[arg-type]


def fetch_one_page(client: ExchangeClient) -> list[list[float]]:
    return client.fetch_ohlcv_page("BTC/USDT:USDT", "1h", START_MS, START_MS + 99 * HOUR_MS)


# ---------------------------------------------------------------- construction and calls
def test_client_when_api_url_given_then_every_endpoint_goes_to_the_fake(fake):
    sleeps: list[float] = []
    with make_client(fake, sleeps) as client:
        market = client.market("BTC/USDT:USDT")
        rows = fetch_one_page(client)

    assert all(url.startswith(fake.base_url) for url in client.exchange.urls["api"].values())
    assert (market.symbol, market.market_id, market.is_swap) == ("BTC/USDT:USDT", "BTCUSDT", True)
    assert [r.path for r in fake.request_log()] == ["/fapi/v1/exchangeInfo", KLINES]
    served = fake.candles("BTCUSDT", "1h", START_MS, START_MS + 100 * HOUR_MS)
    assert [row[0] for row in rows] == served["timestamp"].tolist()
    assert [row[4] for row in rows] == served["close"].tolist()


def test_client_when_api_url_in_environment_then_used(fake):
    environ = {"EVOLVE_BINANCEUSDM_API_URL": fake.base_url}
    with ExchangeClient("binanceusdm", environ=environ, rate_limit_ms=1) as client:
        client.market("BTC/USDT:USDT")
    assert [r.path for r in fake.request_log()] == ["/fapi/v1/exchangeInfo"]


def test_fetch_ohlcv_page_when_called_then_sends_explicit_start_end_and_limit(fake):
    with make_client(fake, []) as client:
        fetch_one_page(client)

    params = fake.request_log(KLINES)[0].params
    assert params == {
        "symbol": "BTCUSDT",
        "interval": "1h",
        "startTime": str(START_MS),
        "endTime": str(START_MS + 99 * HOUR_MS),
        "limit": "100",
    }


def test_fetch_funding_page_when_called_then_returns_settlements_as_served(fake):
    with make_client(fake, []) as client:
        rows = client.fetch_funding_page("BTC/USDT:USDT", START_MS, START_MS + 79 * HOUR_MS)

    served = fake.funding("BTCUSDT", START_MS, START_MS + 79 * HOUR_MS + 1)
    assert [time for time, _ in rows] == served["timestamp"].tolist()
    assert [rate for _, rate in rows] == served["funding_rate"].tolist()
    assert len(rows) == 10  # 00:00, 08:00, 16:00 ... settlements at 0 h, 8 h, ..., 72 h


def test_now_ms_when_server_is_behind_local_clock_then_returns_server_time(fake):
    with make_client(fake, []) as client:
        assert client.now_ms() == NOW_MS
    with make_client(fake, [], clock_ms=lambda: NOW_MS - 5) as client:
        assert client.now_ms() == NOW_MS - 5


# ---------------------------------------------------------------- rejected input, no retry
def test_market_when_symbol_unknown_then_exchange_input_error(fake):
    with make_client(fake, []) as client, pytest.raises(ExchangeInputError, match="DOGE/USDT"):
        client.market("DOGE/USDT:USDT")


def test_fetch_ohlcv_page_when_timeframe_unknown_then_exchange_input_error(fake):
    with make_client(fake, []) as client, pytest.raises(ExchangeInputError, match="'7m'"):
        client.fetch_ohlcv_page("BTC/USDT:USDT", "7m", START_MS, START_MS + HOUR_MS)
    assert fake.request_log(KLINES) == []


def test_client_when_exchange_id_unknown_then_exchange_input_error():
    with pytest.raises(ExchangeInputError, match="nosuchexchange"):
        ExchangeClient("nosuchexchange")


def test_fetch_when_invalid_symbol_error_then_exchange_input_error_without_retry(fake):
    sleeps: list[float] = []
    fake.enqueue(binance_error(-1121, "Invalid symbol.", path=KLINES))
    with make_client(fake, sleeps) as client, pytest.raises(ExchangeInputError, match="-1121"):
        fetch_one_page(client)
    assert len(fake.request_log(KLINES)) == 1
    assert sleeps == []


def test_fetch_when_futures_only_error_code_then_classified_by_futures_table(fake):
    # -1023 is only in ccxt's USDT-M table, which a loopback host would otherwise miss
    fake.enqueue(binance_error(-1023, "Start time is greater than end time.", path=KLINES))
    with make_client(fake, []) as client, pytest.raises(ExchangeInputError, match="-1023"):
        fetch_one_page(client)


def test_fetch_when_unknown_error_code_then_final_exchange_error(fake):
    sleeps: list[float] = []
    fake.enqueue(binance_error(-4999, "Something odd.", path=KLINES))
    with make_client(fake, sleeps) as client, pytest.raises(ExchangeError) as caught:
        fetch_one_page(client)
    assert not isinstance(caught.value, TemporaryExchangeError | ExchangeInputError)
    assert len(fake.request_log(KLINES)) == 1
    assert sleeps == []


# ---------------------------------------------------------------- temporary, retried
@pytest.mark.parametrize(
    ("fault", "expected_sleep"),
    [
        (rate_limited(retry_after_seconds=3, path=KLINES), 3.0),  # Retry-After beats backoff
        (ip_banned(retry_after_seconds=2, path=KLINES), 2.0),
    ],
    ids=["429", "418"],
)
def test_fetch_when_rate_limited_then_waits_retry_after_and_succeeds(fake, fault, expected_sleep):
    sleeps: list[float] = []
    fake.enqueue(fault)
    with make_client(fake, sleeps) as client:
        rows = fetch_one_page(client)

    assert len(rows) == 100
    assert sleeps == [expected_sleep]
    assert len(fake.request_log(KLINES)) == 2


@pytest.mark.parametrize(
    "fault",
    [
        unavailable(path=KLINES),
        slow(1.0, path=KLINES),
        binance_error(-1003, "Too many", path=KLINES),
    ],
    ids=["503", "read-timeout", "weight-exceeded"],
)
def test_fetch_when_temporary_failure_then_backs_off_and_succeeds(fake, fault):
    sleeps: list[float] = []
    fake.enqueue(fault)
    with make_client(fake, sleeps, timeout_ms=500) as client:
        rows = fetch_one_page(client)

    assert len(rows) == 100
    assert len(fake.request_log(KLINES)) == 2
    # first backoff: base 0.5 s scaled into [1 - jitter, 1] = [0.25, 0.5]
    assert len(sleeps) == 1
    assert 0.25 <= sleeps[0] <= 0.5


def test_fetch_when_failures_exceed_attempts_then_temporary_error_after_growing_backoff(fake):
    sleeps: list[float] = []
    fake.enqueue(*[unavailable(path=KLINES)] * 3)
    with (
        make_client(fake, sleeps) as client,
        pytest.raises(TemporaryExchangeError, match="3 times"),
    ):
        fetch_one_page(client)

    assert len(fake.request_log(KLINES)) == 3
    # attempt k waits within [0.5 * c, c] with c = 0.5 * 2**(k-1): [0.25, 0.5] then [0.5, 1.0]
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_fetch_when_retry_after_exceeds_budget_then_stops_at_once(fake):
    sleeps: list[float] = []
    fake.enqueue(ip_banned(retry_after_seconds=600, path=KLINES))
    with make_client(fake, sleeps) as client, pytest.raises(TemporaryExchangeError, match="600 s"):
        fetch_one_page(client)
    assert sleeps == []
    assert len(fake.request_log(KLINES)) == 1


def test_retry_policy_delay_when_attempts_grow_then_doubles_up_to_the_cap():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=5.0, jitter=0.5)
    draws = random.Random(4)
    expected_draws = random.Random(4)

    delays = [policy.delay_seconds(attempt, draws) for attempt in range(1, 6)]

    ceilings = [1.0, 2.0, 4.0, 5.0, 5.0]  # hand-computed: min(5, 2**(k-1))
    expected = [c * (1.0 - 0.5 * expected_draws.random()) for c in ceilings]
    assert delays == pytest.approx(expected, rel=1e-12)


def test_retry_policy_when_jitter_zero_then_exact_exponential_delays():
    policy = RetryPolicy(base_delay_seconds=0.25, max_delay_seconds=100.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay_seconds(k, rng) for k in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay_seconds": 2.0, "max_delay_seconds": 1.0}, {"jitter": 1.5}],
)
def test_retry_policy_when_out_of_range_then_value_error(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


# ---------------------------------------------------------------- rate limit
def test_client_when_rate_limit_configured_then_ccxt_throttle_spaces_requests(fake):
    with make_client(fake, [], rate_limit_ms=25, ohlcv_page_limit=50) as client:
        assert client.exchange.enableRateLimit is True
        assert client.exchange.rateLimit == 25
        client.market("BTC/USDT:USDT")
        for page in range(8):
            since = START_MS + page * 50 * HOUR_MS
            client.fetch_ohlcv_page("BTC/USDT:USDT", "1h", since, since + 49 * HOUR_MS)

    times = [r.received_monotonic for r in fake.request_log(KLINES)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # klines with limit <= 99 cost 1 weight: at most one request per 25 ms on average
    assert times[-1] - times[0] >= 7 * 0.025 - 0.005
    assert min(gaps) >= 0.015


def test_client_when_pages_are_heavier_then_throttle_scales_with_their_cost(fake):
    with make_client(fake, [], rate_limit_ms=10, ohlcv_page_limit=1000) as client:
        client.market("BTC/USDT:USDT")
        for page in range(3):
            since = START_MS + page * 1000 * HOUR_MS
            client.fetch_ohlcv_page("BTC/USDT:USDT", "1h", since, since + 999 * HOUR_MS)

    times = [r.received_monotonic for r in fake.request_log(KLINES)]
    # ccxt weighs a 1000-row klines request as cost 5: 5 * 10 ms between requests
    assert times[-1] - times[0] >= 2 * 0.050 - 0.005


# ---------------------------------------------------------------- credentials and redaction
def test_client_when_keys_in_environment_then_used_and_never_logged(fake, caplog):
    environ = {"EVOLVE_BINANCEUSDM_API_KEY": API_KEY, "EVOLVE_BINANCEUSDM_SECRET": SECRET}
    caplog.set_level(logging.DEBUG)
    with make_client(fake, [], environ=environ) as client:
        assert (client.exchange.apiKey, client.exchange.secret) == (API_KEY, SECRET)
        # historicalTrades sends the key header; ccxt logs request headers at DEBUG
        with pytest.raises(ccxt.BaseError):
            client.exchange.fapiPublicGetHistoricalTrades({"symbol": "BTCUSDT"})

    sent = fake.request_log("/fapi/v1/historicalTrades")[0].headers
    assert sent["X-MBX-APIKEY"] == API_KEY  # the key really was in the request ccxt logged
    assert "X-MBX-APIKEY" in caplog.text
    assert API_KEY not in caplog.text
    assert SECRET not in caplog.text


def test_client_when_no_keys_in_environment_then_none_set(fake):
    with make_client(fake, [], environ={"EVOLVE_OTHER_API_KEY": API_KEY}) as client:
        assert not client.exchange.apiKey
        assert not client.exchange.secret


def test_redaction_filter_when_record_contains_key_then_masks_it():
    redactor = SecretRedactingFilter()
    redactor.add_secrets([SECRET])
    record = logging.LogRecord(
        "ccxt.base.exchange", logging.DEBUG, __file__, 1, "%s %s, Request: %s %s",
        ("GET", f"https://fapi.binance.com/fapi/v1/order?timestamp=1&signature=abc123def&x={SECRET}",
         {"X-MBX-APIKEY": API_KEY, "User-Agent": "python"}, None),
        None,
    )  # fmt: skip

    assert redactor.filter(record) is True
    message = record.getMessage()
    assert API_KEY not in message
    assert SECRET not in message
    assert "abc123def" not in message
    assert "'X-MBX-APIKEY': '***'" in message
    assert "signature=***" in message
    assert "User-Agent': 'python'" in message  # the rest of the record is left alone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apiKey=abc&symbol=BTCUSDT", "apiKey=***&symbol=BTCUSDT"),
        ('{"secret": "s3cr3t", "symbol": "X"}', '{"secret": "***", "symbol": "X"}'),
        ("Authorization: Bearer tok.en", "Authorization: Bearer ***"),
        ("design=ok assignment=fine", "design=ok assignment=fine"),
    ],
)
def test_redact_when_text_has_secret_fields_then_values_masked(text, expected):
    assert redact(text) == expected
