"""Lifecycle acceptance on the fake venue's accelerated clock (real ccxt on 127.0.0.1).

One always-long strategy climbs promoted → paper → demo → live, each account earning its own
record on the venue's live closed bars: paper (the model), demo (orders on the venue's demo),
live (`evolve live --mode live` with every gate satisfied). Refused moves name the missing
evidence. The venue's market rises (drift ``UP`` per hour, the rule earns) until ``SWITCH``,
then falls (``DOWN``): the decay monitor of the live account breaches at the day's end and
demotes the strategy live → paper, whose venue leg the live runner then flattens.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

import fitness
import primitives
from evolve.cli.app import main
from evolve.config import load_lifecycle_config
from execution.exchange.fetch import fetch_dataset
from execution.lifecycle import DecayMonitor, LifecycleConfig
from execution.runner import StrategyRun
from execution.state import StateStore
from tests import live_stack
from tests.fake_exchange import FakeMarket
from tests.integration.cli import run
from tests.paper_fixtures import write_spec

HOUR, DAY = 3_600_000, 86_400_000
START = live_stack.START_MS  # the venue's clock at the start: 2025-01-01T00:00Z (+ grace)
LISTING = START - 20 * DAY
SWITCH = START + 6 * DAY + 18 * HOUR  # the market turns
UP, DOWN = 0.001, -0.03  # drift of the log price per hour
MARKETS = (FakeMarket("BTCUSDT", "BTC", 20_000.0, 1, 3, LISTING),)
ALWAYS_LONG = "long_only(delta_positive(atr(14)))"
DATASET = "fake/BTCUSDT-1h"
CONFIG = """\
[lifecycle]
min_record_days = 2
max_record_days = 3
cusum_h = 6.0
n_bootstrap = 200
"""
RISK = """\
[risk]
max_order_notional = 1e9
max_position_notional = 1e9
max_gross_leverage = 5.0
max_orders_per_minute = 1000
price_band = 0.05
daily_loss_limit = 0.9
drawdown_alert = 0.5
drawdown_caution = 0.6
drawdown_emergency = 0.7
"""


def _rows(state: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(state) as db:
        return db.execute(sql).fetchall()


def _newest_closed(now_ms: int) -> int:
    return (now_ms - live_stack.GRACE_MS) // HOUR * HOUR - HOUR


def _clock(venue: object, state: Path, until_ms: int, failures: list[str]) -> None:
    """Advance the venue one hour each time the CLI runner has processed the newest closed
    bar; once the clock reaches ``until_ms`` and that bar is done, halt the account."""
    deadline = 600  # x 0.05 s: never hang the suite
    while deadline > 0:
        deadline -= 1
        try:
            last = _rows(state, "SELECT value FROM meta WHERE key = 'last_bar'")
        except sqlite3.OperationalError:
            last = []
        if last and int(last[0][0]) >= _newest_closed(venue.now_ms):  # type: ignore[attr-defined]
            if venue.now_ms >= until_ms:  # type: ignore[attr-defined]
                break
            venue.advance(HOUR)  # type: ignore[attr-defined]
            deadline = 600
        threading.Event().wait(0.05)
    else:
        failures.append(f"the live runner stalled at {last}")
    store = StateStore(state)
    try:
        store.add_halt("test: stop the live account")
    finally:
        store.close()


@pytest.fixture
def venue():
    fake = live_stack.venue(markets=MARKETS)
    fake.regimes = [(LISTING, UP), (SWITCH, DOWN)]
    try:
        yield fake
    finally:
        fake.stop()


def test_lifecycle_when_driven_on_the_venue_clock_then_moves_are_evidenced_and_decay_demotes(
    venue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    costs = fitness.CostModel(
        taker_fee=venue.fee_rate, slippage=venue.slippage, slippage_volatility_multiplier=0.0
    )
    spec_path, spec = write_spec(
        tmp_path / "specs", ALWAYS_LONG, costs, symbols=(live_stack.SYMBOL,)
    )
    config, risk = tmp_path / "lifecycle.toml", tmp_path / "risk.toml"
    config.write_text(CONFIG, "utf-8")
    risk.write_text(RISK, "utf-8")
    monitor = DecayMonitor(LifecycleConfig(**load_lifecycle_config(config).model_dump()))
    paper, demo, live = (tmp_path / f"{name}.sqlite" for name in ("paper", "demo", "live"))
    # the baseline: the venue's own history before the start, fetched through ccxt
    fetch_dataset(
        exchange_id="binanceusdm",
        symbol=live_stack.SYMBOL,
        timeframe="1h",
        since_ms=LISTING,
        until_ms=START,
        home=home,
        name=DATASET,
        client=live_stack.client(venue),
    )

    def deploy(*args: str) -> tuple[int, str, str]:
        common = ("--home", str(home), "--config", str(config))
        return run(capsys, "deploy", str(spec_path), *common, *args)

    code, _, err = deploy("--to", "demo", "--state", str(paper))
    assert code == 2 and "skips paper" in err
    code, out, err = deploy("--to", "paper", "--state", str(paper), "--baseline", DATASET)
    assert code == 0 and "promoted -> paper" in out, err

    # paper: the model on the venue's closed bars; a day is too short a record
    strategy = StrategyRun(spec.id, spec.expression, costs, 1.0, spec.to_json())
    paper_runner = live_stack.paper_runner(venue, paper, strategy, after_step=monitor)
    assert live_stack.drive(venue, paper_runner, 20) == 20
    code, _, err = deploy("--to", "demo", "--state", str(demo), "--record", str(paper))
    assert code == 2
    assert "missing evidence for paper -> demo" in err and "record_length" in err
    assert "complete days in paper, need" in err and "cap 3" in err  # the config's cap
    live_stack.drive(venue, paper_runner, 52)
    code, out, err = deploy("--to", "demo", "--state", str(demo), "--record", str(paper))
    assert code == 0, err
    assert "ok   record_length" in out and "ok   consistency" in out and "ok   funding" in out

    # demo: orders on the venue (its demo account) behind the model, monitored
    demo_runner = live_stack.runner(
        venue, demo, text=ALWAYS_LONG, costs=costs, after_step=monitor, spec_json=spec.to_json()
    )
    live_stack.drive(venue, demo_runner, 89)  # to day 6, 17:00
    assert venue.position_qty("BTCUSDT") > 0.0  # the demo account holds the long
    code, _, err = deploy("--to", "live", "--state", str(live), "--record", str(paper))
    assert code == 2 and "expected a demo account's" in err  # a paper record is not enough
    code, out, err = deploy("--to", "live", "--state", str(live), "--record", str(demo))
    assert code == 0 and "demo -> live" in out, err
    assert run(capsys, "kill", "--state", str(demo))[0] == 0  # stop the demo: it flattens
    demo_runner.step_once()
    demo_runner.store.close()
    assert venue.position_qty("BTCUSDT") == 0.0
    code, out, _ = run(capsys, "deploy", str(spec_path), "--to", "paper", "--state", str(demo))
    assert code == 0 and "demo -> paper" in out  # down needs no evidence

    # live: every gate satisfied (flag, keys from the environment, confirm token, a demo
    # record, the ledger's live state); the live account trades until the monitor demotes
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_URL", venue.base_url)
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_KEY", live_stack.API_KEY)
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_SECRET", live_stack.SECRET)
    monkeypatch.delenv("EVOLVE_LIVE_CONFIRM", raising=False)
    argv = ["live", str(spec_path), "--mode", "live", "--live", "--state", str(live)]
    argv += ["--record", str(demo), "--min-record-bars", "48", "--risk", str(risk)]
    argv += ["--config", str(config), "--home", str(home)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refused; missing: EVOLVE_LIVE_CONFIRM=" in err and "track record" not in err
    monkeypatch.setenv("EVOLVE_LIVE_CONFIRM", err.split("fingerprint ")[1].split()[0])
    trades_before = len(venue.trades)
    failures: list[str] = []
    until = START + 7 * DAY + HOUR + live_stack.GRACE_MS + 1
    clock = threading.Thread(target=_clock, args=(venue, live, until, failures), daemon=True)
    clock.start()
    assert main(argv) == 0  # halted by the test once the day after the switch has closed
    clock.join(timeout=30)
    assert not failures, failures
    capsys.readouterr()

    orders = _rows(live, "SELECT bar_time, qty, status FROM live_orders ORDER BY bar_time")
    assert orders[0][1] > 0.0 and orders[-1][1] < 0.0, orders  # bought, then sold
    assert len(venue.trades) > trades_before and venue.position_qty("BTCUSDT") == 0.0
    moves = _rows(
        live,
        "SELECT from_state, to_state, actor, bar_time, reason FROM lifecycle_transitions "
        "ORDER BY id",
    )
    assert [m[:3] for m in moves] == [
        ("promoted", "paper", "deploy"),
        ("paper", "demo", "deploy"),
        ("demo", "live", "deploy"),
        ("live", "paper", "monitor"),
    ]
    assert moves[0][4].startswith("[demo.sqlite] [paper.sqlite]")  # the history followed
    assert moves[3][3] == START + 6 * DAY + 23 * HOUR  # the first day end after the switch
    assert moves[3][4].startswith("decay: ") and "drawdown" in moves[3][4], moves[3][4]
    assert orders[-1][0] == moves[3][3]  # flattened in the step of the demotion
    kinds = [k for (k,) in _rows(live, "SELECT kind FROM events")]
    assert "decay" in kinds and "lifecycle" in kinds

    code, out, err = run(capsys, "status", "--state", str(live), "--json")
    assert code == 0, err
    [item] = json.loads(out)["lifecycle"]
    assert (item["state"], item["from_state"], item["actor"]) == ("paper", "live", "monitor")
    code, out, _ = run(capsys, "status", "--state", str(live))
    assert f"lifecycle {spec.id}: paper" in out and "live -> paper by monitor" in out
    code, out, err = run(capsys, "report", "--account", str(live))
    assert code == 0, err
    page = live.with_name("live.html").read_text("utf-8")
    assert "live → paper by monitor" in page and ">decay<" in page

    code, out, err = run(capsys, "retire", str(spec_path), "--state", str(live))
    assert code == 0 and "paper -> retired" in out, err
    code, _, err = deploy("--to", "live", "--state", str(live), "--record", str(demo))
    assert code == 2 and "retired" in err
    assert primitives.compile(ALWAYS_LONG).id == spec.id
