"""The live feed with the real ccxt client against the fake venue on an accelerated clock."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import fitness
import primitives
from execution.exchange.client import ExchangeClient, RetryPolicy
from execution.feed.live import LiveFeed
from execution.runner import Runner, StrategyRun
from execution.state import StateStore
from tests.fake_exchange import FakeBinanceUsdm, FakeMarket

HOUR_MS = 3_600_000
START_MS = 1_735_689_600_000  # 2025-01-01T00:00Z
MARKETS = (FakeMarket("BTCUSDT", "BTC", 20_000.0, 1, 3, START_MS - 400 * HOUR_MS),)
SYMBOL = "BTC/USDT:USDT"
GRACE_MS = 5_000
TEXT = "pos_from(gt(close, sma(close, 5)), lt(close, sma(close, 20)))"


@pytest.fixture
def venue() -> Iterator[FakeBinanceUsdm]:
    with FakeBinanceUsdm(now_ms=START_MS + GRACE_MS + 1, markets=MARKETS) as fake:
        yield fake


def _runner(venue: FakeBinanceUsdm, state: Path, costs: fitness.CostModel) -> Runner:
    client = ExchangeClient(
        "binanceusdm",
        api_url=venue.base_url,
        rate_limit_ms=1,
        timeout_ms=2_000,
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.0),
        sleep=lambda s: None,
        rng=random.Random(1),
        clock_ms=lambda: venue.now_ms,
        environ={},
    )
    feed = LiveFeed(client, [SYMBOL], "1h", history_bars=300, grace_seconds=GRACE_MS / 1000)
    compiled = primitives.compile(TEXT)
    strategy = StrategyRun(compiled.id, compiled.text, costs)
    return Runner(StateStore(state), feed, [strategy], equity=10_000.0)


def _rows(state: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(state) as db:
        return db.execute(sql).fetchall()


def _drive(venue: FakeBinanceUsdm, runner: Runner, hours: int) -> int:
    steps = 0
    for _ in range(hours):
        venue.advance(HOUR_MS)
        steps += runner.step_once()
    return steps


def test_live_paper_when_clock_advances_then_one_bar_per_step_and_equity_equals_simulate(
    venue: FakeBinanceUsdm, tmp_path: Path
) -> None:
    costs = fitness.CostModel(latency_bars=1)
    runner = _runner(venue, tmp_path / "a.sqlite", costs)
    assert _drive(venue, runner, 120) == 120
    marks = _rows(tmp_path / "a.sqlite", "SELECT bar_time, equity FROM equity_marks ORDER BY 1")
    times = np.array([m[0] for m in marks])
    assert len(times) == 120
    assert np.all(np.diff(times) == HOUR_MS)  # one bar per step, none skipped
    # parity: the served bars and funding, the full-history targets, fitness.simulate
    first = int(times[0])
    history_start = first - 299 * HOUR_MS
    bars = venue.candles("BTCUSDT", "1h", history_start, int(times[-1]) + HOUR_MS)
    settlements = venue.funding("BTCUSDT", history_start, int(times[-1]) + HOUR_MS)
    rate = fitness.align_funding(
        bars["timestamp"], HOUR_MS, settlements["timestamp"], settlements["funding_rate"]
    )
    series = fitness.BarSeries(**bars, funding_rate=rate, symbol="BTCUSDT", timeframe="1h")
    target = primitives.compile(TEXT).positions(series)
    k = int(np.searchsorted(bars["timestamp"], first))
    expected = fitness.simulate(
        series.open[k:], series.close[k:], rate[k:], target[k:], costs, 10_000.0
    ).equity
    equity = np.array([m[1] for m in marks])
    assert np.max(np.abs(equity - expected) / expected) <= 1e-9


def test_live_paper_when_bar_published_late_then_taken_when_it_appears(
    venue: FakeBinanceUsdm, tmp_path: Path
) -> None:
    runner = _runner(venue, tmp_path / "a.sqlite", fitness.CostModel())
    _drive(venue, runner, 5)
    venue.publish_delay_ms = 60_000  # later than the 5 s grace
    venue.advance(HOUR_MS)
    assert not runner.step_once()  # closed by the clock, not yet published
    venue.advance(60_000)
    assert runner.step_once()  # published a minute late: one bar, a normal step
    assert not _rows(tmp_path / "a.sqlite", "SELECT * FROM events WHERE kind = 'gap'")


def test_live_paper_when_a_bar_is_missing_then_no_decision_there_and_position_held(
    venue: FakeBinanceUsdm, tmp_path: Path
) -> None:
    state = tmp_path / "a.sqlite"
    runner = _runner(venue, state, fitness.CostModel())
    _drive(venue, runner, 10)
    missing = (venue.now_ms // HOUR_MS) * HOUR_MS  # the bar opening now never gets published
    venue.outages = [(missing, missing + HOUR_MS)]
    _drive(venue, runner, 5)
    decided = {row[0] for row in _rows(state, "SELECT bar_time FROM decisions")}
    assert missing not in decided
    assert missing + HOUR_MS in decided
    # the bar after the gap has no decision one bar before it: no fill there
    assert not _rows(state, f"SELECT * FROM fills WHERE bar_time = {missing + HOUR_MS}")


def test_live_paper_when_outage_of_several_bars_then_stale_event_and_no_increase(
    venue: FakeBinanceUsdm, tmp_path: Path
) -> None:
    state = tmp_path / "a.sqlite"
    runner = _runner(venue, state, fitness.CostModel())
    _drive(venue, runner, 25)
    venue.publish_delay_ms = 4 * HOUR_MS  # bars keep coming, 4 intervals late: stale data
    _drive(venue, runner, 25)
    assert _rows(state, "SELECT * FROM events WHERE kind = 'stale'")
    decisions = _rows(
        state, "SELECT bar_time, target, model_target, reduce_only FROM decisions ORDER BY 1"
    )
    previous = 0.0
    stale_decisions = 0
    for _, target, _, reduce_only in decisions:
        target = 0.0 if target is None else target
        if reduce_only:
            stale_decisions += 1
            assert target == 0.0 or (target * previous > 0 and abs(target) <= abs(previous))
        previous = target
    assert stale_decisions > 0


def test_live_paper_when_restarted_after_downtime_then_gap_held_and_trading_resumes(
    venue: FakeBinanceUsdm, tmp_path: Path
) -> None:
    state = tmp_path / "a.sqlite"
    runner = _runner(venue, state, fitness.CostModel())
    _drive(venue, runner, 20)
    runner.store.close()
    venue.advance(6 * HOUR_MS)  # down for 6 bars
    runner = _runner(venue, state, fitness.CostModel())
    assert runner.step_once()
    gap = _rows(state, "SELECT data FROM events WHERE kind = 'gap'")
    assert len(gap) == 1 and "bars" in str(gap[0][0])
    assert _drive(venue, runner, 10) == 10
    times = [row[0] for row in _rows(state, "SELECT bar_time FROM equity_marks ORDER BY 1")]
    assert np.all(np.diff(times) == HOUR_MS)  # missed bars held and marked, none lost
    # no fill at a bar the runner was down for
    last_before = times[19]
    filled = [row[0] for row in _rows(state, "SELECT bar_time FROM fills")]
    assert not [t for t in filled if last_before < t <= last_before + 6 * HOUR_MS]
