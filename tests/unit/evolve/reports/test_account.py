"""The account page (``evolve report --account``): autoescaped, deterministic."""

from __future__ import annotations

from pathlib import Path

from evolve.reports.account import render_account_report
from execution.state import StateStore

HOSTILE = "<script>alert(1)</script>"
DAY_MS = 86_400_000


def _state(path: Path) -> Path:
    store = StateStore(path)
    with store.step():
        store.set_meta("account_id", f"acct {HOSTILE}")
        store.set_meta("initial_equity", 1000.0)
        store.add_strategy(HOSTILE, 0, "gt(close, sma(close, 5)) & <b>", 1.0, 1000.0, "{}")
        for day in range(3):
            store.add_mark(day * DAY_MS, 1000.0 + day, 0.0, 0.0)
            store.add_strategy_mark(HOSTILE, "BTCUSDT", day * DAY_MS, 1000.0 + day, 0.1)
        store.add_event("risk", f"message {HOSTILE}", bar_time=0)
    store.close()
    return path


def test_render_account_report_when_names_hold_markup_then_page_escapes_them(
    tmp_path: Path,
) -> None:
    page = render_account_report(_state(tmp_path / "state.sqlite"))

    assert "<script" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; — promoted" in page
    assert "message &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "acct &lt;script&gt;" in page
    assert page.count("<svg") == 2


def test_render_account_report_when_rendered_twice_then_bytes_are_identical(
    tmp_path: Path,
) -> None:
    state = _state(tmp_path / "state.sqlite")

    assert render_account_report(state) == render_account_report(state)
