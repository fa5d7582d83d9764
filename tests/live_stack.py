"""The live stack against the fake trading venue: real ccxt client, live feed, live runner.

Shared by the live integration tests and ``benchmarks.faults``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fitness
import primitives
from execution.broker.live import LiveBroker
from execution.exchange.client import ExchangeClient, RetryPolicy
from execution.exchange.orders import TradingClient
from execution.feed.live import LiveFeed
from execution.live_runner import LiveRunner
from execution.risk import RiskLimits
from execution.runner import Runner, StrategyRun
from execution.state import StateStore
from tests.fake_exchange import FakeMarket
from tests.fake_trading import FakeBinanceTrading

HOUR_MS = 3_600_000
START_MS = 1_735_689_600_000  # 2025-01-01T00:00Z
GRACE_MS = 5_000
SYMBOL = "BTC/USDT:USDT"
MARKETS = (FakeMarket("BTCUSDT", "BTC", 20_000.0, 1, 3, START_MS - 400 * HOUR_MS),)
TEXT = "pos_from(gt(close, sma(close, 5)), lt(close, sma(close, 20)))"
API_KEY = "planted-api-key-0123456789abcdefABCDEF"
SECRET = "planted-secret-fedcba9876543210ZYXWVU"
KEYS = {"EVOLVE_BINANCEUSDM_DEMO_API_KEY": API_KEY, "EVOLVE_BINANCEUSDM_DEMO_SECRET": SECRET}
LIMITS = RiskLimits(
    max_order_notional=1e9,
    max_position_notional=1e9,
    max_gross_leverage=5.0,
    max_orders_per_minute=1000,
    price_band=0.05,
    daily_loss_limit=0.5,
    drawdown_alert=0.5,
    drawdown_caution=0.6,
    drawdown_emergency=0.7,
)


def venue(**kwargs: object) -> FakeBinanceTrading:
    """Return a started fake venue whose clock stands just after a bar closed."""
    options: dict[str, object] = {
        "now_ms": START_MS + GRACE_MS + 1,
        "markets": MARKETS,
        "min_notional": 5.0,
    }
    options.update(kwargs)
    return FakeBinanceTrading(**options).start()  # type: ignore[arg-type]


def client(fake: FakeBinanceTrading, *, timeout_ms: int = 400) -> ExchangeClient:
    return ExchangeClient(
        "binanceusdm",
        api_url=fake.base_url,
        rate_limit_ms=1,
        timeout_ms=timeout_ms,
        retry=RetryPolicy(max_attempts=3, base_delay_seconds=0.0, max_delay_seconds=5.0),
        sleep=lambda s: None,
        rng=random.Random(1),
        clock_ms=lambda: fake.now_ms,
        environ=KEYS,
        demo=True,
    )


def runner(
    fake: FakeBinanceTrading,
    state: Path,
    *,
    costs: fitness.CostModel | None = None,
    limits: RiskLimits = LIMITS,
    after_submit: Callable[[str], None] | None = None,
    text: str = TEXT,
    equity: float = 10_000.0,
    timeout_ms: int = 400,
    strategies: tuple[tuple[str, float], ...] | None = None,
    after_step: Callable[[StateStore, int], list[dict[str, Any]]] | None = None,
    spec_json: str = "{}",
) -> LiveRunner:
    costs = costs or fitness.CostModel(
        taker_fee=fake.fee_rate, slippage=fake.slippage, slippage_volatility_multiplier=0.0
    )
    exchange = client(fake, timeout_ms=timeout_ms)
    feed = LiveFeed(exchange, [SYMBOL], "1h", history_bars=300, grace_seconds=GRACE_MS / 1000)
    runs = []
    for expression, weight in strategies or ((text, 1.0),):
        compiled = primitives.compile(expression)
        runs.append(StrategyRun(compiled.id, compiled.text, costs, weight, spec_json))
    store = StateStore(state)
    broker = LiveBroker(
        TradingClient(exchange),
        store,
        not_found_limit=limits.not_found_limit,
        query_wait_seconds=0.0,
        sleep=lambda s: None,
        after_submit=after_submit,
    )
    live = LiveRunner(
        store,
        feed,
        runs,
        equity=equity,
        broker=broker,
        limits=limits,
        sleep=lambda s: None,
        wall_ms=lambda: fake.now_ms,
        after_step=after_step,
    )
    live.start()
    return live


def paper_runner(
    fake: FakeBinanceTrading,
    state: Path,
    run: StrategyRun,
    *,
    after_step: Callable[[StateStore, int], list[dict[str, Any]]] | None = None,
) -> Runner:
    """Return a paper runner on the venue's live closed bars (no orders: the model only)."""
    feed = LiveFeed(client(fake), [SYMBOL], "1h", history_bars=300, grace_seconds=GRACE_MS / 1000)
    return Runner(StateStore(state), feed, [run], equity=10_000.0, after_step=after_step)


def drive(fake: FakeBinanceTrading, live: Runner, hours: int) -> int:
    steps = 0
    for _ in range(hours):
        fake.advance(HOUR_MS)
        steps += live.step_once()
    return steps
