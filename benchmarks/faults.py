"""The fault battery: every venue fault many times against the live runner (``python -m
benchmarks.faults [--runs N]``).

Each run starts a fresh fake Binance USD-M venue (real ccxt client, 127.0.0.1), trades a
frequently flipping strategy, injects one fault on the next order and drives bars until the
account has recovered. The two ``kill -9`` rows run the runner as a subprocess
(``tests.live_child``), SIGKILL it inside the window between the venue accepting an order and
the state file committing its outcome (once while the venue holds the response, once after the
response arrived), check that the order's row is still ``pending``, restart from the state file
and drive bars until settled. Per fault it prints: runs, duplicate orders (a client id accepted more
than once, with the venue's own duplicate guard off), lost fills (venue trades missing from the
state file), runs whose final position equals the intended one (venue = state file = the
model's lot-rounded target), and the time to recover (bars, and wall ms).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import live_stack
from tests.fake_exchange import FakeResponse, ScriptedResponse, ip_banned, rate_limited
from tests.fake_trading import ORDER_PATH, FakeBinanceTrading
from tests.live_child import ChildRunner

FLIPPY = "pos_from(gt(close, sma(close, 3)), lt(close, sma(close, 3)))"
MAX_BARS = 40


def _script(*responses: ScriptedResponse) -> Callable[[FakeBinanceTrading], None]:
    return lambda venue: venue.enqueue(*responses)


def _order_fault(name: str) -> Callable[[FakeBinanceTrading], None]:
    return lambda venue: venue.order_faults.append(name)


FAULTS: dict[str, Callable[[FakeBinanceTrading], None]] = {
    "429 Retry-After": _script(rate_limited(1, path=ORDER_PATH)),
    "418 Retry-After": _script(ip_banned(2, path=ORDER_PATH)),
    "5xx before accept": _order_fault("reject_before"),
    "timeout before accept": _script(
        ScriptedResponse(FakeResponse(504, "gateway"), delay_seconds=0.6, path=ORDER_PATH)
    ),
    "timeout after accept": _order_fault("timeout"),
    "response lost": _order_fault("lost_response"),
    "invisible (N+1 not-found)": lambda venue: (
        setattr(venue, "invisible_queries", 4),
        venue.order_faults.append("invisible"),
    )[-1],
    "duplicate client id": _order_fault("duplicate"),
    "partial fill": _order_fault("partial"),
    "reject margin": _order_fault("reject_margin"),
    "reject min notional": _order_fault("reject_min_notional"),
    "reject reduce-only": _order_fault("reject_reduce_only"),
}
# kill -9 of the runner *process* (a subprocess, SIGKILL), then a restart from its state file:
# "after accept": the venue accepted and filled the order and holds its response; "before
# commit": the runner has the venue's answer but has not committed it.
KILLS = ("kill -9 after accept", "kill -9 before commit")


@dataclass(frozen=True, slots=True)
class RunResult:
    duplicates: int
    lost_fills: int
    position_correct: bool
    recover_bars: int
    recover_ms: float


def _target(runner: Any) -> float:
    bar = runner.last_bar
    close = float(runner.feed.history(live_stack.SYMBOL, bar).close[-1])
    return runner.trading.round_amount(
        live_stack.SYMBOL, runner._projected_qty(live_stack.SYMBOL, bar, close)
    )


def _settled(venue: FakeBinanceTrading, runner: Any, state: Path) -> bool:
    with sqlite3.connect(state) as db:
        ledger = db.execute("SELECT qty FROM live_positions").fetchone()
        open_ = db.execute(
            "SELECT COUNT(*) FROM live_orders WHERE status IN ('pending','open','partial','lost')"
        ).fetchone()[0]
    venue_qty = venue.position_qty("BTCUSDT")
    ledger_qty = 0.0 if ledger is None else float(ledger[0])
    target = _target(runner)
    return open_ == 0 and abs(venue_qty - target) < 1e-9 and abs(ledger_qty - venue_qty) < 1e-9


def run_once(fault: str, seed: int, directory: Path) -> RunResult:
    """Run one fault once; return what the table counts."""
    if fault in KILLS:
        return run_killed(fault, seed, directory)
    venue = live_stack.venue(seed=seed)
    venue.duplicate_scope = "open"  # a blind resubmit of a filled market order would double
    venue.timeout_seconds = 0.6
    state = directory / f"{abs(hash((fault, seed)))}.sqlite"
    try:
        runner = live_stack.runner(venue, state, text=FLIPPY)
        live_stack.drive(venue, runner, 3)
        orders_before = len(venue.orders)
        FAULTS[fault](venue)
        hit_at = None
        started = time.perf_counter()
        bars = 0
        for bars in range(1, MAX_BARS + 1):
            live_stack.drive(venue, runner, 1)
            fired = (
                len(venue.orders) > orders_before or venue.pending_faults == 0
            ) and not venue.order_faults
            if fired and hit_at is None:
                hit_at = bars
            if hit_at is not None and _settled(venue, runner, state):
                break
        recover_ms = (time.perf_counter() - started) * 1000
        return _result(venue, runner, state, bars - (hit_at or bars), recover_ms)
    finally:
        venue.stop()


def _result(
    venue: FakeBinanceTrading, runner: Any, state: Path, recover_bars: int, recover_ms: float
) -> RunResult:
    with sqlite3.connect(state) as db:
        recorded = {str(r[0]) for r in db.execute("SELECT trade_id FROM live_fills")}
    lost = sum(1 for t in venue.trades if str(t["id"]) not in recorded)
    correct = _settled(venue, runner, state)
    runner.store.close()
    return RunResult(venue.duplicates(), lost, correct, recover_bars, recover_ms)


def _order_status(state: Path, client_id: str) -> str | None:
    with sqlite3.connect(state) as db:
        row = db.execute(
            "SELECT status FROM live_orders WHERE client_id = ?", (client_id,)
        ).fetchone()
    return None if row is None else str(row[0])


def run_killed(fault: str, seed: int, directory: Path) -> RunResult:
    """SIGKILL a runner process inside the submit/commit window, restart, drive to settled.

    Raises ``RuntimeError`` if the kill missed the window (the killed order's row must still
    say ``pending``: journaled before the submit, its outcome never committed).
    """
    venue = live_stack.venue(seed=seed)
    venue.duplicate_scope = "open"  # a blind resubmit of a filled market order would double
    state = directory / f"{abs(hash((fault, seed)))}.sqlite"
    child = ChildRunner(venue, state, FLIPPY, directory / f"{state.stem}.log")
    try:
        for _ in range(3):
            venue.advance(live_stack.HOUR_MS)
            child.send(f"step {venue.now_ms}")
            child.expect("ok")
        if fault == "kill -9 after accept":
            venue.order_faults.append("hold")
        else:
            child.send("arm")
            child.expect("armed")
        started = time.perf_counter()
        client_id = None
        for _ in range(MAX_BARS):
            venue.advance(live_stack.HOUR_MS)
            child.send(f"step {venue.now_ms}")
            line = child.wait(60.0, also=venue.held.is_set)
            if line is None or line.startswith("submitted"):
                child.kill()
                client_id = line.split()[1] if line else max(venue.orders.items())[1].client_id
                break
        else:
            raise RuntimeError(f"{fault}: no order in {MAX_BARS} bars")
        venue.release.set()
        if _order_status(state, client_id) != "pending":
            raise RuntimeError(f"{fault}: the kill missed the window of {client_id}")
        runner = live_stack.runner(venue, state, text=FLIPPY)  # the restart
        bars = 0
        while bars < MAX_BARS and not _settled(venue, runner, state):
            live_stack.drive(venue, runner, 1)
            bars += 1
        recover_ms = (time.perf_counter() - started) * 1000
        return _result(venue, runner, state, bars, recover_ms)
    finally:
        if child.process.poll() is None:
            child.kill()
        venue.release.set()
        venue.stop()


def run_battery(runs: int, faults: list[str] | None = None) -> list[dict[str, Any]]:
    """Return one table row per fault."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fault in faults or [*FAULTS, *KILLS]:
            results = [run_once(fault, 100 + i, Path(tmp)) for i in range(runs)]
            rows.append(
                {
                    "fault": fault,
                    "runs": runs,
                    "duplicate_orders": sum(r.duplicates for r in results),
                    "lost_fills": sum(r.lost_fills for r in results),
                    "final_position_correct": sum(r.position_correct for r in results),
                    "max_recover_bars": max(r.recover_bars for r in results),
                    "mean_recover_ms": sum(r.recover_ms for r in results) / runs,
                }
            )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'fault':<28} {'runs':>4} {'dup orders':>10} {'lost fills':>10} "
        f"{'final pos ok':>12} {'recover bars':>12} {'recover ms':>10}"
    ]
    for r in rows:
        lines.append(
            f"{r['fault']:<28} {r['runs']:>4} {r['duplicate_orders']:>10} {r['lost_fills']:>10} "
            f"{r['final_position_correct']:>8}/{r['runs']:<3} {r['max_recover_bars']:>12} "
            f"{r['mean_recover_ms']:>10.0f}"
        )
    return "\n".join(lines)


DESCRIPTION = """\
The fault battery: every venue fault many times against the live runner on a fake Binance
USD-M venue (real ccxt client, 127.0.0.1), including two kill -9 rows. Prints per fault the
duplicate orders, lost fills, runs ending at the intended position and the time to recover;
exits 1 when any run duplicated an order, lost a fill or ended at another position."""

EPILOG = """\
examples:
  python -m benchmarks.faults              20 runs of each fault
  python -m benchmarks.faults --quick      5 runs of each fault
  python -m benchmarks.faults --runs 100   a longer battery"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.faults",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=20, metavar="N", help="runs of each fault (20)")
    parser.add_argument("--quick", action="store_true", help="5 runs per fault (overrides --runs)")
    args = parser.parse_args(argv)
    rows = run_battery(5 if args.quick else args.runs)
    print(format_table(rows))
    bad = [r for r in rows if r["duplicate_orders"] or r["lost_fills"]]
    bad += [r for r in rows if r["final_position_correct"] != r["runs"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
