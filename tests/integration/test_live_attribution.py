"""Per-strategy attribution of venue fills and funding (EXECUTION §3, DESIGN §7): an account of
three strategies on the fake venue, netted per symbol, whose venue P&Ls sum to the account's."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

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


def _assert_sums(runner: LiveRunner, venue: FakeBinanceTrading) -> dict[str, float]:
    parts = _account_equity_parts(runner, venue)
    venue_equity = venue.equity()
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


def test_funding_when_read_from_the_venue_then_booked_once_by_holdings_at_settlement(
    tmp_path: Path,
) -> None:
    venue = live_stack.venue()
    try:
        runner = live_stack.runner(venue, tmp_path / "a.sqlite", strategies=STRATEGIES)
        live_stack.drive(venue, runner, 60)
        paid = [(t, a) for t, a in venue.funding_paid if a != 0.0]
        booked = sorted(runner.attribution.rows("live_funding"), key=lambda r: r["time_ms"])
        assert len(booked) == len(paid) >= 3  # every settlement on a held position, once
        for row, (settle_ms, amount) in zip(booked, paid, strict=True):
            assert row["time_ms"] == settle_ms and row["amount"] == -amount
            assert row["qty_held"] == pytest.approx(venue_qty_at(runner, settle_ms), abs=1e-12)
            parts = {
                r["strategy"]: r["amount"]
                for r in runner.attribution.rows("live_funding_parts")
                if r["tran_id"] == row["tran_id"]
            }
            held = runner.attribution.holdings(live_stack.SYMBOL, settle_ms)
            assert math.fsum(parts.values()) == pytest.approx(row["amount"], abs=1e-12)
            for strategy, part in parts.items():  # pro rata to the signed holdings then
                assert part == pytest.approx(row["amount"] * held[strategy] / row["qty_held"])
        _assert_sums(runner, venue)
        assert runner.sync_funding() == 0  # idempotent by the venue's transaction id
        runner.store.close()
        again = live_stack.runner(venue, tmp_path / "a.sqlite", strategies=STRATEGIES)
        assert len(again.attribution.rows("live_funding")) == len(paid)
        _assert_sums(again, venue)
    finally:
        venue.stop()


def venue_qty_at(runner: LiveRunner, at_ms: int) -> float:
    rows = runner.store.query(
        "SELECT COALESCE(SUM(qty), 0) FROM live_fills WHERE time_ms <= ?", (at_ms,)
    )
    return float(rows[0][0])
