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
