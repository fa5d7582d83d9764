"""Per-strategy attribution of venue fills and funding (EXECUTION §3, DESIGN §7): an account of
three strategies on the fake venue, netted per symbol, whose venue P&Ls sum to the account's."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from execution.live_runner import LiveRunner
from execution.state.attribution import UNATTRIBUTED
from tests import live_stack
from tests.fake_trading import FakeBinanceTrading

STRATEGIES = (
    (live_stack.TEXT, 0.5),
    ("pos_from(lt(close, sma(close, 5)), gt(close, sma(close, 20)))", 0.3),  # opposite of the 1st
    ("pos_from(gt(close, sma(close, 10)), lt(close, sma(close, 10)))", 0.2),
)
MARKET = "BTCUSDT"


def _account_equity_parts(runner: LiveRunner, venue: FakeBinanceTrading) -> dict[str, float]:
    return runner.attribution.equities({live_stack.SYMBOL: venue.mark_price(MARKET)})


def _funding_booked(runner: LiveRunner) -> float:
    rows = runner.store.query("SELECT COALESCE(SUM(amount), 0) AS a FROM live_funding")
    return float(rows[0]["a"])


def _assert_sums(runner: LiveRunner, venue: FakeBinanceTrading) -> dict[str, float]:
    parts = _account_equity_parts(runner, venue)
    venue_equity = venue.equity() + math.fsum(a for _, a in venue.funding_paid)  # not yet booked
    assert math.isclose(math.fsum(parts.values()), venue_equity, rel_tol=1e-9, abs_tol=0.0), (
        parts,
        venue_equity,
    )
    held = runner.attribution.holdings(live_stack.SYMBOL)
    assert abs(math.fsum(held.values()) - venue.position_qty(MARKET)) <= 1e-9
    return parts


def test_attribution_when_three_strategies_net_and_partially_fill_then_pnls_sum_to_venue_equity(
    tmp_path: Path,
) -> None:
    venue = live_stack.venue()
    try:
        runner = live_stack.runner(venue, tmp_path / "a.sqlite", strategies=STRATEGIES)
        live_stack.drive(venue, runner, 25)
        venue.order_faults.append("partial")
        live_stack.drive(venue, runner, 35)
        parts = _assert_sums(runner, venue)
        assert set(parts) == {s.id for s in runner.strategies}
        with sqlite3.connect(tmp_path / "a.sqlite") as db:
            netted = db.execute(
                "SELECT COUNT(*) FROM (SELECT client_id FROM live_order_shares GROUP BY client_id "
                "HAVING MIN(qty) < 0 AND MAX(qty) > 0)"
            ).fetchone()[0]
            partial = db.execute(
                "SELECT COUNT(*) FROM (SELECT client_id FROM live_fills GROUP BY client_id "
                "HAVING COUNT(*) > 1)"
            ).fetchone()[0]
            fills = db.execute("SELECT trade_id, qty, fee FROM live_fills").fetchall()
            split = {
                r[0]: (r[1], r[2])
                for r in db.execute(
                    "SELECT trade_id, SUM(qty), SUM(fee) FROM live_fill_parts GROUP BY trade_id"
                )
            }
        assert netted >= 1 and partial >= 1 and len(fills) >= 5
        for trade_id, qty, fee in fills:  # the parts sum to each fill
            assert abs(split[trade_id][0] - qty) <= 1e-12 and abs(split[trade_id][1] - fee) <= 1e-12
    finally:
        venue.stop()


def test_attribution_when_a_foreign_fill_is_adopted_then_unattributed_and_closed(
    tmp_path: Path,
) -> None:
    venue = live_stack.venue()
    try:
        runner = live_stack.runner(venue, tmp_path / "a.sqlite", strategies=STRATEGIES)
        live_stack.drive(venue, runner, 24)
        runner.trading.submit(live_stack.SYMBOL, 0.01, "manual-order-1", reduce_only=False)
        runner.reconcile()  # the fill of an order the runner did not send
        held = runner.attribution.holdings(live_stack.SYMBOL)
        assert abs(held[UNATTRIBUTED] - 0.01) <= 1e-12
        _assert_sums(runner, venue)
        live_stack.drive(venue, runner, 2)  # the unattributed leg's target is 0: closed
        # the closing order is lot-rounded and its rounding shared pro rata: under one lot left
        lot = runner.trading.lot_step(live_stack.SYMBOL)
        assert abs(runner.attribution.holdings(live_stack.SYMBOL)[UNATTRIBUTED]) < lot
        _assert_sums(runner, venue)
    finally:
        venue.stop()


def test_attribution_when_halted_then_every_strategy_is_flattened(tmp_path: Path) -> None:
    venue = live_stack.venue()
    try:
        runner = live_stack.runner(venue, tmp_path / "a.sqlite", strategies=STRATEGIES)
        live_stack.drive(venue, runner, 30)
        assert any(abs(q) > 0 for q in runner.attribution.holdings(live_stack.SYMBOL).values())
        runner.store.add_halt("test halt")
        runner.step_once()
        assert venue.position_qty(MARKET) == 0.0
        for qty in runner.attribution.holdings(live_stack.SYMBOL).values():
            assert abs(qty) <= 1e-12
        _assert_sums(runner, venue)
    finally:
        venue.stop()
