"""``fetch_dataset`` end to end: the real ccxt.binanceusdm, a fake venue on 127.0.0.1, the store."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from execution.errors import ExchangeInputError, TemporaryExchangeError
from execution.exchange.client import ExchangeClient, RetryPolicy
from execution.exchange.fetch import FetchProgress, fetch_dataset
from fitness import BarSeries, DataError, GapError, load_bars, load_funding, read_dataset_info
from tests.fake_exchange import (
    FakeBinanceUsdm,
    FakeMarket,
    FakeResponse,
    ScriptedResponse,
    binance_error,
    rate_limited,
    slow,
    unavailable,
)

HOUR_MS = 3_600_000
START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
N_CLOSED = 21_000  # closed 1h bars from START_MS to the venue's "now"
NOW_MS = START_MS + N_CLOSED * HOUR_MS + 1_800_000  # half-way through the forming bar
FORMING_MS = START_MS + N_CLOSED * HOUR_MS  # open of the bar still forming at NOW_MS
LISTING_MS = START_MS - 50 * HOUR_MS
MARKETS = (FakeMarket("BTCUSDT", "BTC", 20_000.0, 1, 3, LISTING_MS),)
SYMBOL = "BTC/USDT:USDT"
NAME = "binanceusdm/BTCUSDT-1h"
KLINES = "/fapi/v1/klines"
FUNDING = "/fapi/v1/fundingRate"
RETRY = RetryPolicy(max_attempts=3, base_delay_seconds=0.5, max_delay_seconds=10.0)
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class InterruptFetchError(Exception):
    """Raised by a progress callback to interrupt a fetch."""


@pytest.fixture
def fake() -> Iterator[FakeBinanceUsdm]:
    with FakeBinanceUsdm(now_ms=NOW_MS, markets=MARKETS) as venue:
        yield venue


def make_client(fake: FakeBinanceUsdm, sleeps: list[float] | None = None, **overrides: object):
    settings: dict[str, object] = {
        "api_url": fake.base_url,
        "rate_limit_ms": 1,
        "timeout_ms": 2_000,
        "retry": RETRY,
        "sleep": (sleeps if sleeps is not None else []).append,
        "rng": random.Random(3),
        "environ": {},
    }
    settings.update(overrides)
    return ExchangeClient("binanceusdm", **settings)  # type: ignore[arg-type]


def fetch(fake: FakeBinanceUsdm, home: Path, client: ExchangeClient | None = None, **kwargs):
    arguments: dict[str, object] = {
        "exchange_id": "binanceusdm",
        "symbol": SYMBOL,
        "timeframe": "1h",
        "since_ms": START_MS,
        "until_ms": None,
        "home": home,
        "client": client or make_client(fake),
    }
    arguments.update(kwargs)
    return fetch_dataset(**arguments)  # type: ignore[arg-type]


def naive_funding_column(bar_timestamp: np.ndarray, times: np.ndarray, rates: np.ndarray):
    # DESIGN §1 by hand: a settlement belongs to the bar whose [open, open + 1h) contains it
    column = [0.0] * len(bar_timestamp)
    for time, rate in zip(times.tolist(), rates.tolist(), strict=True):
        for index, open_ms in enumerate(bar_timestamp.tolist()):
            if open_ms <= time < open_ms + HOUR_MS:
                column[index] += rate
                break
        else:
            raise AssertionError(f"settlement {time} has no bar")
    return np.array(column)


def assert_stored_equals_served(fake: FakeBinanceUsdm, home: Path, first_ms: int, stop_ms: int):
    bars = load_bars(NAME, home=home)
    served = fake.candles("BTCUSDT", "1h", first_ms, stop_ms)
    for column in COLUMNS:
        assert getattr(bars, column).tobytes() == served[column].tobytes(), column
    end_ms = int(bars.timestamp[-1]) + HOUR_MS
    funding = load_funding(NAME, home=home)
    served_funding = fake.funding("BTCUSDT", int(bars.timestamp[0]), end_ms)
    assert funding is not None
    assert funding.timestamp.tobytes() == served_funding["timestamp"].tobytes()
    assert funding.funding_rate.tobytes() == served_funding["funding_rate"].tobytes()
    # aligned column checked with a loop over the settlements inside the last 200 bars only
    tail = bars.timestamp[-200:]
    inside = served_funding["timestamp"] >= tail[0]
    expected = naive_funding_column(
        tail, served_funding["timestamp"][inside], served_funding["funding_rate"][inside]
    )
    assert bars.funding_rate[-200:].tobytes() == expected.tobytes()
    return bars


def klines_starts(fake: FakeBinanceUsdm) -> list[int]:
    return [int(request.params["startTime"]) for request in fake.request_log(KLINES)]


# ---------------------------------------------------------------- full fetch
def test_fetch_when_full_history_then_stored_equals_served_byte_for_byte(fake, tmp_path):
    info = fetch(fake, tmp_path)

    bars = assert_stored_equals_served(fake, tmp_path, START_MS, NOW_MS)
    assert bars.n_bars == N_CLOSED >= 20_000
    assert len(fake.request_log(KLINES)) == 21  # pages of 1000 bars: >= 10 pages
    assert klines_starts(fake) == [START_MS + page * 1000 * HOUR_MS for page in range(21)]
    last_closed_ms = (NOW_MS // HOUR_MS - 1) * HOUR_MS
    assert int(bars.timestamp[-1]) == last_closed_ms  # the forming bar is not stored
    assert np.all(np.diff(bars.timestamp) == HOUR_MS)
    assert info.manifest["n_funding"] == N_CLOSED // 8
    served = fake.candles("BTCUSDT", "1h", START_MS, NOW_MS)
    expected = BarSeries.from_arrays(
        *(served[column] for column in COLUMNS), bars.funding_rate, symbol="BTCUSDT", timeframe="1h"
    )
    assert info.manifest["content_hash"] == expected.content_hash
    assert info.manifest["exchange"] == "binanceusdm"
    assert info.manifest["market_symbol"] == SYMBOL
    assert info.manifest["requested_since_ms"] == START_MS
    assert info.manifest["requested_until_ms"] is None
    assert info.manifest["fetched_at"] == "2025-05-25T00:30:00Z"


def test_fetch_when_progress_observed_then_reports_both_kinds_monotonically(fake, tmp_path):
    reports: list[FetchProgress] = []

    fetch(fake, tmp_path, since_ms=FORMING_MS - 2_500 * HOUR_MS, on_progress=reports.append)

    ohlcv = [report for report in reports if report.kind == "ohlcv"]
    funding = [report for report in reports if report.kind == "funding"]
    assert [report.n_rows for report in ohlcv] == [0, 1000, 2000, 2500]
    assert ohlcv[-1].fetched_until_ms == ohlcv[-1].until_ms == FORMING_MS
    assert funding[-1].n_rows == 312  # the 8h slots from hour 18504 to hour 20992 after START
    until = [report.fetched_until_ms for report in funding]
    assert until == sorted(until)


def test_fetch_when_until_given_then_stops_before_it(fake, tmp_path):
    until_ms = START_MS + 1_500 * HOUR_MS + 1  # exclusive and off the grid: bar 1500 opens before
    info = fetch(fake, tmp_path, until_ms=until_ms)

    assert info.manifest["n_bars"] == 1_501
    assert info.manifest["last_timestamp_ms"] == START_MS + 1_500 * HOUR_MS
    assert_stored_equals_served(fake, tmp_path, START_MS, until_ms)


def test_fetch_when_since_before_listing_then_starts_at_first_listed_bar(fake, tmp_path):
    info = fetch(fake, tmp_path, since_ms=LISTING_MS - 500 * HOUR_MS, until_ms=START_MS)

    assert info.manifest["first_timestamp_ms"] == LISTING_MS
    assert info.manifest["n_bars"] == 50


def test_fetch_when_no_closed_bars_in_range_then_input_error_and_nothing_stored(fake, tmp_path):
    with pytest.raises(ExchangeInputError, match="no closed"):
        fetch(fake, tmp_path, since_ms=NOW_MS - 10 * 60_000)
    assert not (tmp_path / "datasets").exists()


# ---------------------------------------------------------------- closed bars only
def test_fetch_when_venue_serves_forming_bar_then_it_is_not_stored_until_closed(fake, tmp_path):
    fake.honour_end_time = False  # the venue answers past endTime, forming bar included
    since_ms = NOW_MS - 1_200 * HOUR_MS
    forming_ms = (NOW_MS // HOUR_MS) * HOUR_MS
    assert fake.kline_rows("BTCUSDT", "1h", forming_ms, None, 10)[0][0] == forming_ms

    first = fetch(fake, tmp_path, since_ms=since_ms)
    fake.now_ms += 2 * HOUR_MS  # the forming bar closes (with values other than its partial ones)
    second = fetch(fake, tmp_path, since_ms=since_ms)

    assert first.manifest["last_timestamp_ms"] == forming_ms - HOUR_MS
    assert second.manifest["last_timestamp_ms"] == forming_ms + HOUR_MS
    assert_stored_equals_served(fake, tmp_path, -(-since_ms // HOUR_MS) * HOUR_MS, fake.now_ms)


# ---------------------------------------------------------------- faults
def test_fetch_when_rate_limited_then_backs_off_and_completes(fake, tmp_path):
    sleeps: list[float] = []
    fake.enqueue(rate_limited(retry_after_seconds=1, path=KLINES))

    fetch(fake, tmp_path, client=make_client(fake, sleeps), since_ms=NOW_MS - 2_500 * HOUR_MS)

    assert sleeps == [1.0]  # Retry-After honoured through the injected sleep
    assert len(fake.request_log(KLINES)) == 3 + 1  # three pages plus the refused one
    assert_stored_equals_served(fake, tmp_path, NOW_MS - 2_500 * HOUR_MS, NOW_MS)


@pytest.mark.parametrize(
    "fault",
    [unavailable(path=KLINES), slow(2.0, path=KLINES), unavailable(path=FUNDING)],
    ids=["503-klines", "timeout-klines", "503-funding"],
)
def test_fetch_when_temporary_failure_then_retried_and_completes(fake, tmp_path, fault):
    sleeps: list[float] = []
    since_ms = FORMING_MS - 1_500 * HOUR_MS
    fake.candles("BTCUSDT", "1h", since_ms, NOW_MS)  # generate the data before timing requests
    fake.enqueue(fault)

    fetch(fake, tmp_path, client=make_client(fake, sleeps, timeout_ms=1_000), since_ms=since_ms)

    assert len(sleeps) == 1
    assert fake.pending_faults == 0
    # the refused request, then 2 klines pages or 1 funding page plus the empty one ending it
    assert len(fake.request_log(fault.path)) == 3
    assert_stored_equals_served(fake, tmp_path, since_ms, NOW_MS)


def test_fetch_when_invalid_symbol_error_then_input_error_without_retry(fake, tmp_path):
    sleeps: list[float] = []
    fake.enqueue(binance_error(-1121, "Invalid symbol.", path=KLINES))

    with pytest.raises(ExchangeInputError, match="Invalid symbol"):
        fetch(fake, tmp_path, client=make_client(fake, sleeps))

    assert len(fake.request_log(KLINES)) == 1
    assert sleeps == []
    assert not (tmp_path / "datasets").exists()


def test_fetch_when_symbol_not_listed_then_input_error_before_any_candle_request(fake, tmp_path):
    with pytest.raises(ExchangeInputError, match="ETH/USDT:USDT"):
        fetch(fake, tmp_path, symbol="ETH/USDT:USDT")
    assert fake.request_log(KLINES) == []


def test_fetch_when_page_is_malformed_then_data_error_and_nothing_stored(fake, tmp_path):
    rows = fake.kline_rows("BTCUSDT", "1h", START_MS, None, 5)
    rows[3][2], rows[3][3] = rows[3][3], rows[3][2]  # high and low swapped: high < low
    fake.enqueue(ScriptedResponse(FakeResponse(200, rows), path=KLINES))

    with pytest.raises(DataError, match=r"page from 2023-01-01T00:00:00Z row 4.*high"):
        fetch(fake, tmp_path)
    assert not (tmp_path / "datasets").exists()


# ---------------------------------------------------------------- resume
def test_fetch_when_interrupted_then_resume_equals_uninterrupted(fake, tmp_path):
    def stop_after_13_pages(progress: FetchProgress) -> None:
        if progress.kind == "ohlcv" and progress.n_rows == 13_000:
            raise InterruptFetchError

    with pytest.raises(InterruptFetchError):
        fetch(fake, tmp_path / "a", on_progress=stop_after_13_pages, save_every_pages=5)
    saved = read_dataset_info(NAME, home=tmp_path / "a")
    partial = assert_stored_equals_served(
        fake, tmp_path / "a", START_MS, START_MS + 10_000 * HOUR_MS
    )
    fake.clear_log()
    resumed = fetch(fake, tmp_path / "a", save_every_pages=5)
    resume_starts = klines_starts(fake)
    uninterrupted = fetch(fake, tmp_path / "b")

    assert saved.manifest["n_bars"] == partial.n_bars == 10_000  # two saves of 5 pages survived
    assert resume_starts[0] == START_MS + 10_000 * HOUR_MS  # right after the last stored bar
    assert resume_starts == sorted(set(resume_starts))
    assert resumed.manifest["content_hash"] == uninterrupted.manifest["content_hash"]
    assert resumed.manifest["funding_hash"] == uninterrupted.manifest["funding_hash"]
    bars = assert_stored_equals_served(fake, tmp_path / "a", START_MS, NOW_MS)
    assert np.all(np.diff(bars.timestamp) == HOUR_MS)  # no duplicates, no holes


def test_fetch_when_retries_exhausted_mid_fetch_then_resume_completes(fake, tmp_path):
    since_ms = NOW_MS - 7_000 * HOUR_MS

    def fail_after_4_pages(progress: FetchProgress) -> None:
        if progress.kind == "ohlcv" and progress.n_rows == 4_000:
            fake.enqueue(*[unavailable(path=KLINES)] * RETRY.max_attempts)

    with pytest.raises(TemporaryExchangeError, match="3 times"):
        fetch(fake, tmp_path, since_ms=since_ms, on_progress=fail_after_4_pages, save_every_pages=3)
    stored = load_bars(NAME, home=tmp_path)
    fake.clear_log()
    fetch(fake, tmp_path, since_ms=since_ms, save_every_pages=3)

    assert stored.n_bars == 3_000
    assert klines_starts(fake)[0] == int(stored.timestamp[-1]) + HOUR_MS
    assert_stored_equals_served(fake, tmp_path, -(-since_ms // HOUR_MS) * HOUR_MS, NOW_MS)


def test_fetch_when_rerun_with_nothing_new_then_no_candle_request_and_unchanged(fake, tmp_path):
    first = fetch(fake, tmp_path, since_ms=NOW_MS - 100 * HOUR_MS)
    fake.clear_log()

    again = fetch(fake, tmp_path, since_ms=NOW_MS - 100 * HOUR_MS)

    assert fake.request_log(KLINES) == []
    assert fake.request_log(FUNDING) == []
    assert again.manifest == first.manifest


def test_fetch_when_since_moves_earlier_then_history_is_prepended_without_holes(fake, tmp_path):
    later_ms = START_MS + 3_000 * HOUR_MS
    fetch(fake, tmp_path, since_ms=later_ms, until_ms=later_ms + 1_000 * HOUR_MS)
    fake.clear_log()

    info = fetch(fake, tmp_path, since_ms=START_MS, until_ms=later_ms + 1_000 * HOUR_MS)

    assert klines_starts(fake) == [START_MS, START_MS + 1_000 * HOUR_MS, START_MS + 2_000 * HOUR_MS]
    assert info.manifest["requested_since_ms"] == START_MS
    bars = assert_stored_equals_served(fake, tmp_path, START_MS, later_ms + 1_000 * HOUR_MS)
    assert np.all(np.diff(bars.timestamp) == HOUR_MS)


def test_fetch_when_page_overlaps_stored_bars_with_same_values_then_deduplicated(fake, tmp_path):
    later_ms = FORMING_MS - 300 * HOUR_MS
    fetch(fake, tmp_path, since_ms=later_ms, until_ms=FORMING_MS - 100 * HOUR_MS)
    fake.honour_end_time = False  # the head page runs on into the stored bars and past them

    fetch(fake, tmp_path, since_ms=later_ms - 200 * HOUR_MS)

    assert klines_starts(fake)[-2:] == [later_ms - 200 * HOUR_MS, FORMING_MS - 100 * HOUR_MS]
    bars = assert_stored_equals_served(fake, tmp_path, later_ms - 200 * HOUR_MS, FORMING_MS)
    assert np.all(np.diff(bars.timestamp) == HOUR_MS)


def test_fetch_when_page_contradicts_stored_bar_then_data_error_and_store_unchanged(fake, tmp_path):
    later_ms = FORMING_MS - 300 * HOUR_MS
    first = fetch(fake, tmp_path, since_ms=later_ms, until_ms=FORMING_MS - 100 * HOUR_MS)
    rows = fake.kline_rows("BTCUSDT", "1h", later_ms - 200 * HOUR_MS, None, 400)
    revised = rows[250]  # a stored bar (index 50 of the dataset), "revised" by the venue
    revised[4] = f"{float(revised[4]) + 0.1:.1f}"
    revised[2] = f"{max(float(revised[2]), float(revised[4])):.1f}"
    fake.enqueue(ScriptedResponse(FakeResponse(200, rows), path=KLINES))

    with pytest.raises(DataError, match=r"row 251, column close.*2025-05-14T14:00:00Z"):
        fetch(fake, tmp_path, since_ms=later_ms - 200 * HOUR_MS)

    assert read_dataset_info(NAME, home=tmp_path).manifest == first.manifest


# ---------------------------------------------------------------- gaps
def test_fetch_when_venue_had_an_outage_then_gap_policy_decides(fake, tmp_path):
    since_ms = FORMING_MS - 2_000 * HOUR_MS
    fake.outages.append((FORMING_MS - 704 * HOUR_MS, FORMING_MS - 701 * HOUR_MS))

    with pytest.raises(GapError):
        fetch(fake, tmp_path, since_ms=since_ms)
    info = fetch(fake, tmp_path, since_ms=since_ms, gaps="split")

    assert info.manifest["gaps"]["count"] == 1
    assert info.manifest["gaps"]["missing_bars"] == 3
    bars = assert_stored_equals_served(fake, tmp_path, since_ms, NOW_MS)
    assert len(bars.segments) == 2
    # the settlement inside the outage is kept raw but settles on no bar
    funding = load_funding(NAME, home=tmp_path)
    assert funding is not None
    assert FORMING_MS - 704 * HOUR_MS <= int(funding.timestamp[162]) < FORMING_MS - 703 * HOUR_MS
    assert bars.funding_rate.sum() == pytest.approx(
        funding.funding_rate.sum() - funding.funding_rate[162]
    )


def test_fetch_when_fill_flat_fetch_resumes_then_equals_uninterrupted(fake, tmp_path):
    since_ms = FORMING_MS - 2_000 * HOUR_MS
    fake.outages.append((FORMING_MS - 704 * HOUR_MS, FORMING_MS - 701 * HOUR_MS))

    fetch(
        fake,
        tmp_path / "a",
        since_ms=since_ms,
        until_ms=FORMING_MS - 600 * HOUR_MS,
        gaps="fill_flat",
    )
    resumed = fetch(fake, tmp_path / "a", since_ms=since_ms, gaps="fill_flat")
    one_shot = fetch(fake, tmp_path / "b", since_ms=since_ms, gaps="fill_flat")

    assert resumed.manifest["content_hash"] == one_shot.manifest["content_hash"]
    assert resumed.manifest["gaps"] == one_shot.manifest["gaps"]
    assert resumed.manifest["n_bars"] == 2_000
    assert resumed.manifest["gaps"]["gaps"][0]["filled"] is True


def test_fetch_when_existing_dataset_is_another_market_then_data_error(fake, tmp_path):
    fetch(fake, tmp_path, since_ms=NOW_MS - 50 * HOUR_MS, name="mine/BTC")
    fake_eth = FakeMarket("ETHUSDT", "ETH", 2_000.0, 2, 3, LISTING_MS)
    fake.markets[fake_eth.symbol] = fake_eth

    with pytest.raises(DataError, match="another --name"):
        fetch(
            fake, tmp_path, symbol="ETH/USDT:USDT", since_ms=NOW_MS - 50 * HOUR_MS, name="mine/BTC"
        )


# ---------------------------------------------------------------- through the command line
def test_cli_data_fetch_when_api_url_in_environment_then_fetches_from_it(
    fake, tmp_path, monkeypatch, capsys
):
    from evolve.cli.app import main

    monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_URL", fake.base_url)
    argv = ["data", "fetch", "--exchange", "binanceusdm", "--symbol", SYMBOL, "--timeframe"]
    argv += ["1h", "--since", "2025-05-01", "--home", str(tmp_path)]

    code = main(argv)

    assert code == 0, capsys.readouterr().err
    since_ms = 1_746_057_600_000  # 2025-05-01T00:00:00Z
    bars = assert_stored_equals_served(fake, tmp_path, since_ms, NOW_MS)
    assert bars.n_bars == (FORMING_MS - since_ms) // HOUR_MS


def test_cli_data_fetch_when_exchange_rejects_symbol_then_exit_2_with_message(
    fake, tmp_path, monkeypatch, capsys
):
    from evolve.cli.app import main

    monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_URL", fake.base_url)
    fake.enqueue(binance_error(-1121, "Invalid symbol.", path=KLINES))
    argv = ["data", "fetch", "--exchange", "binanceusdm", "--symbol", SYMBOL, "--timeframe"]
    argv += ["1h", "--since", "2025-05-01", "--home", str(tmp_path)]

    code = main(argv)

    assert code == 2
    assert "Invalid symbol" in capsys.readouterr().err
    assert len(fake.request_log(KLINES)) == 1
