"""The fault battery (every venue fault, several runs each) and the kill switch, against the
fake Binance USD-M venue with the real ccxt client. The two ``kill -9`` rows SIGKILL a runner
subprocess (``tests.live_child``) inside the submit/commit window and restart from its file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from benchmarks import faults
from execution.state import StateStore
from tests import live_stack

RUNS = 3  # the benchmark runs 20 of each (python -m benchmarks.faults)


@pytest.mark.parametrize("fault", [*faults.FAULTS, *faults.KILLS])
def test_fault_battery_when_fault_injected_then_no_duplicate_no_lost_fill_position_right(
    fault: str, tmp_path: Path
) -> None:
    results = [faults.run_once(fault, 200 + i, tmp_path) for i in range(RUNS)]
    assert [r.duplicates for r in results] == [0] * RUNS
    assert [r.lost_fills for r in results] == [0] * RUNS
    assert all(r.position_correct for r in results)
    assert max(r.recover_bars for r in results) <= 2


def test_kill_switch_when_killed_then_flat_within_one_poll_and_restart_stays_halted(
    tmp_path: Path,
) -> None:
    venue = live_stack.venue()
    try:
        state = tmp_path / "a.sqlite"
        runner = live_stack.runner(venue, state, text=faults.FLIPPY)
        for _ in range(30):
            live_stack.drive(venue, runner, 1)
            if venue.position_qty("BTCUSDT") != 0.0:
                break
        assert venue.position_qty("BTCUSDT") != 0.0
        killer = StateStore(state)  # evolve kill from another terminal
        killer.add_halt("evolve kill")
        killer.close()
        assert not runner.step_once()  # one poll
        assert venue.position_qty("BTCUSDT") == 0.0
        assert runner.halted and runner.stop_requested
        reduce_only = [o for o in venue.orders.values() if o.reduce_only]
        assert reduce_only and reduce_only[-1].status == "FILLED"
        runner.store.close()
        orders = len(venue.orders)
        restarted = live_stack.runner(venue, state, text=faults.FLIPPY)
        assert restarted.halted
        venue.advance(live_stack.HOUR_MS)
        assert not restarted.step_once()
        assert len(venue.orders) == orders  # nothing traded while halted
        with sqlite3.connect(state) as db:
            kinds = {r[0] for r in db.execute("SELECT kind FROM events")}
        assert "halted" in kinds
    finally:
        venue.stop()


def test_kill_switch_when_flatten_rejected_then_restart_sends_new_ids_never_a_sent_one(
    tmp_path: Path,
) -> None:
    venue = live_stack.venue()
    try:
        state = tmp_path / "a.sqlite"
        runner = live_stack.runner(venue, state, text=faults.FLIPPY)
        for _ in range(30):
            live_stack.drive(venue, runner, 1)
            if venue.position_qty("BTCUSDT") != 0.0:
                break
        assert venue.position_qty("BTCUSDT") != 0.0
        venue.order_faults.extend(["reject_reduce_only"] * runner.halt_attempts)
        killer = StateStore(state)
        killer.add_halt("evolve kill")
        killer.close()
        assert not runner.step_once()
        assert venue.position_qty("BTCUSDT") != 0.0  # every flatten attempt was rejected
        runner.store.close()
        restarted = live_stack.runner(venue, state, text=faults.FLIPPY)
        assert restarted.halted
        assert venue.position_qty("BTCUSDT") == 0.0
        with sqlite3.connect(state) as db:
            rows = db.execute(
                "SELECT client_id, status FROM live_orders WHERE client_id LIKE '%-h%' "
                "ORDER BY wall_ms, client_id"
            ).fetchall()
        # the rejected attempts keep their verdict; the restart's flatten has its own id
        assert [status for _, status in rows] == ["rejected"] * runner.halt_attempts + ["filled"]
        assert len({client_id for client_id, _ in rows}) == len(rows)
        assert venue.duplicates() == 0
    finally:
        venue.stop()
