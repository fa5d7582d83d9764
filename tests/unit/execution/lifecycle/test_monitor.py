"""The decay monitor hook on a hand-written state file: demote or halt on a breach, once a day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution.lifecycle import (
    Baseline,
    DecayMonitor,
    Decision,
    LifecycleConfig,
    current_state,
    ensure_tables,
    put_baseline,
    record_transition,
    track_record,
)
from execution.state import StateStore

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
BASELINE = Baseline(100, 0.004, 0.02, 0.2, 0.0, 3.0, 0.15, 0.99, "test")


def _account(path: Path, daily_return: float, n_days: int) -> tuple[StateStore, int]:
    store = StateStore(path)
    ensure_tables(store)
    with store.step():
        store.set_meta("timeframe", "1h")
        store.set_meta("symbols", "X")
        store.add_strategy("s1", 0, "close", 1.0, 1000.0, json.dumps({}))
        put_baseline(store, "s1", BASELINE)
        record_transition(store, Decision("s1", "paper", "live", True, "test"), "deploy", "t", None)
        equity = 1000.0
        for hour in range(n_days * 24):
            equity *= (1.0 + daily_return) ** (1 / 24)
            store.add_strategy_mark("s1", "X", hour * HOUR_MS, equity, 0.0)
    return store, (n_days * 24 - 1) * HOUR_MS


def test_decay_monitor_when_record_collapses_then_demotes_live_to_paper(tmp_path: Path) -> None:
    store, last = _account(tmp_path / "a.sqlite", -0.01, 30)
    assert track_record(store, "s1").n_days == 30  # type: ignore[union-attr]
    with store.step():
        assert DecayMonitor()(store, last - HOUR_MS) == []  # not a day's last bar
        events = DecayMonitor()(store, last)
    assert [e["kind"] for e in events] == ["decay"]
    assert current_state(store, "s1")[0] == "paper"


def test_decay_monitor_when_halt_configured_then_account_halted(tmp_path: Path) -> None:
    store, last = _account(tmp_path / "a.sqlite", -0.01, 30)
    with store.step():
        DecayMonitor(LifecycleConfig(decay_action="halt"))(store, last)
    assert "decay" in (store.active_halt() or "")
    assert current_state(store, "s1")[0] == "live"


def test_decay_monitor_when_record_as_promised_then_nothing(tmp_path: Path) -> None:
    store, last = _account(tmp_path / "a.sqlite", 0.004, 30)
    with store.step():
        assert DecayMonitor()(store, last) == []


def test_decay_monitor_when_unknown_action_then_value_error() -> None:
    with pytest.raises(ValueError, match="decay_action"):
        DecayMonitor(LifecycleConfig(decay_action="panic"))
