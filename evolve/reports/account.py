"""``evolve report --account STATE``: one self-contained HTML page of a trading account.

Reads the account's state file (read-only): equity, each strategy against its holdout
baseline's expectation band, fills with realised against modelled slippage, funding, events
and lifecycle transitions with their evidence. Charts are matplotlib SVG inlined in the page
(:mod:`evolve.reports.charts.figures`, deterministic bytes); the page is rendered from
``templates/account.html.j2`` by the reports' Jinja2 environment
(:mod:`evolve.reports.templating`, autoescaped): every name, reason and message from the state
file is escaped by the template, no Python code here writes markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from evolve.reports.blocks import Cell, Figure, Part, Table, Text
from evolve.reports.charts import figures
from evolve.reports.templating import ENVIRONMENT

DAY_MS = 86_400_000
MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class Summary:
    """The account's first line: what it trades, its equity, and whether it is halted."""

    timeframe: str
    symbols: str
    equity: str
    initial: str
    last_bar: str
    halt: str | None


@dataclass(frozen=True, slots=True)
class StrategyView:
    """One strategy: its lifecycle state, weight, expression, baseline and equity chart."""

    name: str
    state: str
    weight: str
    expression: str
    baseline: str | None
    chart: Part


@dataclass(frozen=True, slots=True)
class TransitionView:
    """One lifecycle transition and its evidence checks ``(name, detail, passed)``."""

    wall: str
    bar: str
    strategy: str
    from_state: str
    to_state: str
    actor: str
    reason: str
    checks: list[tuple[str, str, bool]]


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _table(
    headers: list[str], rows: list[list[Any]], text_columns: tuple[int, ...] = ()
) -> list[Part]:
    """Return the last ``MAX_ROWS`` rows as a table (with a note when cut), or "none"."""
    if not rows:
        return [Text("none")]
    shown = [
        [Cell(f"{value:.6g}" if isinstance(value, float) else str(value)) for value in row]
        for row in rows[-MAX_ROWS:]
    ]
    numeric = tuple(i for i in range(len(headers)) if i not in text_columns)
    table = Table(headers, shown, numeric=numeric)
    return [Text(f"last {MAX_ROWS} of {len(rows)}"), table] if len(rows) > MAX_ROWS else [table]


def _chart(
    key: str, times_ms: list[int], label: str, values: list[float], band: Any = None
) -> Part:
    chart = figures.Chart(f"{label} equity", key, 3.2)
    bands: tuple[figures.Band, ...] = ()
    series = [figures.Series(label, times_ms, values)]
    if band is not None:
        bands = (figures.Band("backtest band (±2σ)", times_ms, band[0], band[1]),)
        series.insert(0, figures.Series("expected", times_ms, band[2], "#889aaa", dashed=True))
    svg = figures.line_chart(chart, series, y_label="equity", bands=bands)
    return Figure([Markup(svg)])  # matplotlib's SVG, cleaned by figures (no script, local ids)


def _band(baseline: Any, start_equity: float, n_days: int) -> tuple[Any, Any, Any]:
    days = np.arange(1, n_days + 1, dtype=np.float64)
    drift = math.log1p(baseline.mean_daily) - 0.5 * baseline.std_daily**2
    centre = math.log(start_equity) + drift * days
    spread = 2.0 * baseline.std_daily * np.sqrt(days)
    return np.exp(centre - spread), np.exp(centre + spread), np.exp(centre)


def _strategy(store: Any, index: int, row: dict[str, Any]) -> StrategyView:
    from execution import lifecycle
    from execution.lifecycle.store import strategy_equity

    name = str(row["strategy"])
    state, _ = lifecycle.current_state(store, name)
    baseline = lifecycle.get_baseline(store, name)
    curve = strategy_equity(store, name)
    detail = (
        None
        if baseline is None
        else f"baseline: {baseline.n_days} days from {baseline.source}, daily Sharpe "
        f"{baseline.sharpe_daily:.3f}, bootstrap {baseline.drawdown_quantile:.0%} drawdown "
        f"{baseline.drawdown_limit:.3f}"
    )
    chart: Part = Text("no bars yet")
    if curve:
        ends: dict[int, tuple[int, float]] = {}
        for t, value in curve:
            ends[t // DAY_MS] = (t, value)
        times = [ends[d][0] for d in sorted(ends)]
        values = [ends[d][1] for d in sorted(ends)]
        band = None if baseline is None else _band(baseline, float(row["capital"]), len(values))
        chart = _chart(f"strategy-{index}", times, name, values, band)
    return StrategyView(
        name, str(state), f"{row['weight']:.4g}", str(row["expression"]), detail, chart
    )


def _transitions(store: Any) -> list[TransitionView]:
    from execution import lifecycle

    return [
        TransitionView(
            _time(item["wall_ms"]),
            _time(item["bar_time"]),
            str(item["strategy"]),
            str(item["from_state"]),
            str(item["to_state"]),
            str(item["actor"]),
            str(item["reason"]),
            [(str(c["name"]), str(c["detail"]), bool(c["passed"])) for c in item["evidence"]],
        )
        for item in lifecycle.transitions(store)
    ]


def _fills(store: Any) -> list[Part]:
    columns = {str(r[1]) for r in store.query("PRAGMA table_info(fills)")}
    realised = "realised_slippage_cost" if "realised_slippage_cost" in columns else "slippage_cost"
    rows = store.query(
        f"SELECT bar_time, strategy, symbol, qty, price, fee, slippage_cost, {realised} "
        "FROM fills ORDER BY bar_time, strategy, symbol"
    )
    shown = [[_time(r[0]), r[1], r[2], *[float(v) for v in r[3:]]] for r in rows]
    note: list[Part] = (
        []
        if realised != "slippage_cost"
        else [Text("paper fills: realised slippage is the model by construction")]
    )
    headers = ["bar", "strategy", "symbol", "qty", "price", "fee", "modelled slip.", "realised"]
    return note + _table(headers, shown, (0, 1, 2))


def _funding(store: Any) -> list[Part]:
    totals = store.query(
        "SELECT strategy, symbol, COUNT(*), SUM(amount) FROM funding GROUP BY strategy, symbol"
    )
    return _table(
        ["strategy", "symbol", "settlements", "paid"],
        [[r[0], r[1], int(r[2]), float(r[3])] for r in totals],
        (0, 1),
    )


def _events(store: Any) -> list[Part]:
    rows = store.query("SELECT wall_ms, bar_time, kind, message FROM events ORDER BY id")
    halts = store.query("SELECT wall_ms, reason, active FROM halts ORDER BY id")
    parts = _table(
        ["time", "bar", "kind", "message"],
        [[_time(r[0]), _time(r[1]), r[2], r[3]] for r in rows],
        (0, 1, 2, 3),
    )
    if halts:
        parts += _table(
            ["halted at", "reason", "active"],
            [[_time(h[0]), h[1], bool(h[2])] for h in halts],
            (0, 1),
        )
    return parts


def _summary(store: Any, curve: list[tuple[int, float]]) -> Summary:
    initial = float(store.get_meta("initial_equity") or "nan")
    last = curve[-1][1] if curve else initial
    return Summary(
        store.get_meta("timeframe") or "-",
        store.get_meta("symbols") or "-",
        f"{last:,.2f}",
        f"{initial:,.2f}",
        _time(curve[-1][0] if curve else None),
        store.active_halt(),
    )


def render_account_report(state_path: Path) -> str:
    """Return the account report's HTML (self-contained: inline CSS and SVG, no scripts).

    Parameters
    ----------
    state_path : Path
        The account's SQLite state file, opened read-only.

    Returns
    -------
    str
        ``<!DOCTYPE html>…``, byte-identical for an identical state file.
    """
    from execution.state import StateStore

    store = StateStore(Path(state_path), readonly=True)
    try:
        curve = store.equity_curve()
        context = {
            "account_id": store.get_meta("account_id") or "(not started)",
            "summary": _summary(store, curve),
            "account_chart": (
                _chart("account", [t for t, _ in curve], "account", [e for _, e in curve])
                if curve
                else Text("no bars yet")
            ),
            "strategies": [_strategy(store, i, row) for i, row in enumerate(store.strategies())],
            "transitions": _transitions(store),
            "fills": _fills(store),
            "funding": _funding(store),
            "events": _events(store),
        }
    finally:
        store.close()
    return ENVIRONMENT.get_template("account.html.j2").render(**context)


def write_account_report(state_path: Path, out: Path) -> Path:
    """Write the account report to ``out`` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_account_report(state_path), encoding="utf-8")
    return out
