"""``evolve status`` on a demo account: venue position against the model, the last risk denial,
the halt state; read only (the file is unchanged and the runner keeps writing)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from benchmarks import faults
from evolve.cli.status import read_status
from execution.live_runner import LiveRunner
from execution.risk import RiskLimits
from execution.state import StateStore
from tests import live_stack
from tests.fake_trading import FakeBinanceTrading
from tests.integration.cli import run


def _trade_until_positioned(
    venue: FakeBinanceTrading, state: Path, limits: RiskLimits = live_stack.LIMITS
) -> LiveRunner:
    runner = live_stack.runner(venue, state, text=faults.FLIPPY, limits=limits)
    for _ in range(30):
        live_stack.drive(venue, runner, 1)
        if venue.position_qty("BTCUSDT") != 0.0:
            break
    return runner


def test_status_when_demo_account_then_venue_position_matches_model_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venue = live_stack.venue()
    try:
        state = tmp_path / "a.sqlite"
        runner = _trade_until_positioned(venue, state)
        before = hashlib.sha256(state.read_bytes()).hexdigest()
        live = read_status(state)["live"]
        assert hashlib.sha256(state.read_bytes()).hexdigest() == before  # status only reads
        assert live["mode"] == "demo" and not live["halted"]
        (row,) = live["positions"]
        assert row["symbol"] == live_stack.SYMBOL
        assert row["venue_qty"] == venue.position_qty("BTCUSDT") != 0.0
        assert row["model_target_qty"] == pytest.approx(row["venue_qty"], abs=1e-12)
        assert row["difference"] == pytest.approx(0.0, abs=1e-12)
        # the mark of the last bar (read from the venue before that bar's orders)
        assert live["mark_bar"] == runner.last_bar and live["venue_equity"] > 0.0
        assert live["last_denial"] is None and live["unresolved_orders"] == []
        code, out, _ = run(capsys, "status", "--state", str(state))
        assert code == 0
        assert "demo venue" in out and "last risk denial: none" in out and "trading" in out
        code, out, _ = run(capsys, "status", "--state", str(state), "--json")
        assert json.loads(out)["live"]["positions"][0]["venue_qty"] == row["venue_qty"]
        live_stack.drive(venue, runner, 1)  # the runner still writes after status read it
        runner.store.close()
    finally:
        venue.stop()


def test_status_when_order_denied_then_last_denial_shown_with_check_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venue = live_stack.venue()
    try:
        state = tmp_path / "a.sqlite"
        limits = dataclasses.replace(live_stack.LIMITS, max_order_notional=1.0)
        runner = _trade_until_positioned(venue, state, limits=limits)
        assert venue.position_qty("BTCUSDT") == 0.0  # every opening order was denied
        runner.store.close()
        live = read_status(state)["live"]
        assert live["last_denial"].startswith("max_order_notional: ")
        assert live["last_denial_bar"] is not None
        (row,) = live["positions"]
        assert row["venue_qty"] == 0.0 and row["model_target_qty"] != 0.0
        assert row["difference"] == -row["model_target_qty"]
        code, out, _ = run(capsys, "status", "--state", str(state))
        assert code == 0 and "last risk denial: max_order_notional: " in out
    finally:
        venue.stop()


def test_status_when_killed_then_halt_reason_and_outcome_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venue = live_stack.venue()
    try:
        state = tmp_path / "a.sqlite"
        runner = _trade_until_positioned(venue, state)
        killer = StateStore(state)
        killer.add_halt("evolve kill")
        killer.close()
        assert not runner.step_once()  # the runner flattens and halts
        runner.store.close()
        live = read_status(state)["live"]
        assert live["halted"] and live["halt_reason"] == "evolve kill"
        assert live["halt_outcome"] == "halted"
        assert live["positions"][0]["venue_qty"] == 0.0
        code, out, _ = run(capsys, "status", "--state", str(state))
        assert code == 0 and "HALTED: evolve kill (halted)" in out
    finally:
        venue.stop()


def test_status_when_paper_account_then_no_live_section(tmp_path: Path) -> None:
    state = tmp_path / "p.sqlite"
    store = StateStore(state)
    store.close()
    assert read_status(state)["live"] is None
