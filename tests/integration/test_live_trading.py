"""Live trading against the fake venue: parity with the model (and so fitness.simulate) within
lot rounding, the mode gates of ``evolve live``, and secrets that never leak."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from evolve.cli.app import main
from tests import live_stack
from tests.paper_fixtures import write_spec


def test_live_parity_when_fake_venue_fills_at_next_open_then_equity_within_lot_tolerance(
    tmp_path: Path,
) -> None:
    # Tolerance (DESIGN §7): the venue holds round(q_model) with |q_venue - q_model| <= e,
    # e = one lot (half a lot of rounding plus the model's funding at the fill bar, which the
    # sizing at the last close cannot see: |q| * |rate| << half a lot here). The equity gap at
    # bar T is then at most e * (sum |close_t - close_t-1| + sum_trades 2 * (fee + slippage)
    # * price_t + sum |rate_t| * open_t) up to T: marks, costs and funding on e contracts.
    venue = live_stack.venue()
    try:
        runner = live_stack.runner(venue, tmp_path / "a.sqlite")
        assert live_stack.drive(venue, runner, 80) == 80
        with sqlite3.connect(tmp_path / "a.sqlite") as db:
            marks = db.execute(
                "SELECT bar_time, equity, model_equity FROM live_marks ORDER BY 1"
            ).fetchall()
            trades = {r[0] for r in db.execute("SELECT bar_time FROM live_orders")}
        times = np.array([m[0] for m in marks])
        bars = venue.candles("BTCUSDT", "1h", int(times[0]) - 3_600_000, int(times[-1]) + 3_600_000)
        close = dict(zip(bars["timestamp"].tolist(), bars["close"].tolist(), strict=True))
        open_ = dict(zip(bars["timestamp"].tolist(), bars["open"].tolist(), strict=True))
        lot = runner.trading.lot_step(live_stack.SYMBOL)
        cost = 2 * (venue.fee_rate + venue.slippage)
        tolerance = 0.0
        worst = 0.0
        for t, equity, model in marks:
            # the venue's mark is read just after the next bar opened: a settlement at that
            # open is already charged there, and in the model one bar later (same amount)
            equity += sum(a for s, a in venue.funding_paid if t + 3_600_000 <= s < t + 7_200_000)
            tolerance += lot * abs(close[t] - close.get(t - 3_600_000, close[t]))
            tolerance += lot * (cost * open_[t] if t - 3_600_000 in trades else 0.0)
            tolerance += lot * 0.0003 * open_[t]  # the fake's largest funding rate
            assert abs(equity - model) <= tolerance + 1e-6, (t, equity, model, tolerance)
            worst = max(worst, abs(equity - model))
        assert len(trades) >= 3 and worst > 0.0  # it traded, and rounding showed
    finally:
        venue.stop()


def _spec(tmp_path: Path) -> Path:
    import fitness

    path, _ = write_spec(tmp_path / "specs", live_stack.TEXT, fitness.CostModel())
    return path


def _venue_env(monkeypatch: pytest.MonkeyPatch, venue: object, *, keys: bool = True) -> None:
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_URL", venue.base_url)  # type: ignore[attr-defined]
    for name in ("EVOLVE_LIVE_CONFIRM", "EVOLVE_BINANCEUSDM_API_KEY", "EVOLVE_BINANCEUSDM_SECRET"):
        monkeypatch.delenv(name, raising=False)
    if keys:
        monkeypatch.setenv("EVOLVE_BINANCEUSDM_API_KEY", live_stack.API_KEY)
        monkeypatch.setenv("EVOLVE_BINANCEUSDM_SECRET", live_stack.SECRET)


@pytest.mark.parametrize("missing", ["--live", "EVOLVE_LIVE_CONFIRM", "track record", "keys"])
def test_live_mode_when_a_gate_is_missing_then_exit_2_names_it_and_nothing_is_sent(
    missing: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    venue = live_stack.venue()
    try:
        spec = _spec(tmp_path)
        _venue_env(monkeypatch, venue, keys=missing != "keys")
        args = ["live", str(spec), "--mode", "live", "--home", str(tmp_path / "home")]
        args += ["--state", str(tmp_path / "live.sqlite"), "--min-record-bars", "0"]
        if missing == "track record":
            args[-1] = "5"
        if missing != "--live":
            args.append("--live")
        assert main(args) == 2
        err = capsys.readouterr().err
        mark = err.split("fingerprint ")[1].split()[0]
        if missing != "EVOLVE_LIVE_CONFIRM":
            monkeypatch.setenv("EVOLVE_LIVE_CONFIRM", mark)
            assert main(args) == 2
            err = capsys.readouterr().err
        line = err.strip().splitlines()[-1]
        expected = {
            "--live": "the --live flag",
            "EVOLVE_LIVE_CONFIRM": f"EVOLVE_LIVE_CONFIRM={mark}",
            "track record": "track record of spec",
            "keys": "EVOLVE_BINANCEUSDM_API_KEY in the environment",
        }[missing]
        assert "refused; missing:" in line and expected in line
        assert venue.request_log() == []  # nothing reached the venue
    finally:
        venue.stop()


def test_kill_and_unhalt_commands_when_run_then_halt_row_written_and_cleared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from execution.state import StateStore

    state = tmp_path / "a.sqlite"
    StateStore(state).close()
    assert main(["kill", "--state", str(state)]) == 0
    store = StateStore(state)
    assert store.active_halt() == "evolve kill"
    store.close()
    assert main(["unhalt", "--state", str(state)]) == 2
    assert main(["unhalt", "--confirm", "--state", str(state)]) == 0
    store = StateStore(state)
    assert store.active_halt() is None
    store.close()


def test_secrets_when_planted_then_never_in_logs_events_db_files_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_DEMO_API_KEY", live_stack.API_KEY)
    monkeypatch.setenv("EVOLVE_BINANCEUSDM_DEMO_SECRET", live_stack.SECRET)
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    venue = live_stack.venue()
    try:
        venue.order_faults.extend(["reject_before", "reject_margin", "lost_response"])
        runner = live_stack.runner(venue, tmp_path / "state.sqlite", text=live_stack.TEXT)
        live_stack.drive(venue, runner, 30)
        try:
            runner.trading.client._call(
                "fail", runner.trading.exchange.fetch_order, "1", live_stack.SYMBOL
            )
        except Exception as e:  # the exception text of a signed request that failed
            texts.append(str(e))
        assert runner.trading.client.exchange.apiKey == live_stack.API_KEY  # really planted
        runner.store.close()
    finally:
        venue.stop()
        root.removeHandler(handler)
        root.setLevel(previous)
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    assert log_file.stat().st_size > 0
    for text in texts:
        assert live_stack.API_KEY not in text
        assert live_stack.SECRET not in text
