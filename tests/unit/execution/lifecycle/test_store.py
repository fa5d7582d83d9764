"""The lifecycle ledger: which legs a venue account sends, and history copied between accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.lifecycle import (
    Decision,
    copy_history,
    current_state,
    ensure_tables,
    on_venue,
    record_transition,
    transitions,
)
from execution.state import StateStore


def _ledger(path: Path, *moves: tuple[str, str, str]) -> StateStore:
    store = StateStore(path)
    ensure_tables(store)
    with store.step():
        for source, target, actor in moves:
            decision = Decision("s1", source, target, True, f"{source}->{target}")
            record_transition(store, decision, actor, f"{source}->{target}", 7)
    return store


@pytest.mark.parametrize(
    ("state", "mode", "expected"),
    [
        ("live", "live", True),
        ("demo", "live", False),
        ("paper", "live", False),
        ("demo", "demo", True),
        ("live", "demo", True),
        ("paper", "demo", False),
        ("retired", "demo", False),
    ],
)
def test_on_venue_when_state_below_the_account_rung_then_leg_is_flat(
    tmp_path: Path, state: str, mode: str, expected: bool
) -> None:
    store = _ledger(tmp_path / "a.sqlite", ("promoted", state, "deploy"))

    assert on_venue(store, "s1", mode) is expected


def test_on_venue_when_ledger_has_no_row_then_the_strategy_trades(tmp_path: Path) -> None:
    store = _ledger(tmp_path / "a.sqlite")

    assert on_venue(store, "s1", "live") and on_venue(store, "s1", "demo")


def test_copy_history_when_target_empty_then_rows_copied_once_with_source_named(
    tmp_path: Path,
) -> None:
    source = _ledger(tmp_path / "paper.sqlite", ("promoted", "paper", "deploy"))
    target = _ledger(tmp_path / "demo.sqlite")

    with target.step():
        assert copy_history(source, target, "s1") == 1
    with target.step():
        assert copy_history(source, target, "s1") == 0  # the target holds the strategy now

    [row] = transitions(target, "s1")
    assert (row["from_state"], row["to_state"], row["bar_time"]) == ("promoted", "paper", None)
    assert row["reason"] == "[paper.sqlite] promoted->paper"
    assert current_state(target, "s1") == ("paper", None)
