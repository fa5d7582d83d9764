"""``evolve report --account STATE``: one self-contained HTML page of a trading account.

Reads the account's state file (read-only): equity, each strategy against its holdout
baseline's expectation band, fills with realised against modelled slippage, funding, events
and lifecycle transitions with their evidence. Charts are matplotlib SVG inlined in the page;
the page is filled from ``templates/account.html`` (``string.Template``: Jinja2 is not a
dependency of the project).
"""

from __future__ import annotations

import html
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

TEMPLATE = Path(__file__).with_name("templates") / "account.html"
DAY_MS = 86_400_000
MAX_ROWS = 500


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _table(headers: list[str], rows: list[list[Any]], text_columns: tuple[int, ...] = ()) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows[-MAX_ROWS:]:
        cells = []
        for i, value in enumerate(row):
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            css = ' class="text"' if i in text_columns else ""
            cells.append(f"<td{css}>{html.escape(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = f'<p class="note">last {MAX_ROWS} of {len(rows)}</p>' if len(rows) > MAX_ROWS else ""
    return f"{note}<table><tr>{head}</tr>{''.join(body)}</table>"


def _svg(times_ms: list[int], series: dict[str, list[float]], band: Any = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 3.2))
    dates = np.array([datetime.fromtimestamp(t / 1000, UTC) for t in times_ms], dtype=object)
    if band is not None:
        axes.fill_between(dates, band[0], band[1], color="#cde", label="backtest band (±2σ)")
        axes.plot(dates, band[2], color="#89a", linestyle="--", linewidth=1, label="expected")
    for label, values in series.items():
        axes.plot(dates, values, linewidth=1.2, label=label)
    axes.set_ylabel("equity")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _band(baseline: Any, start_equity: float, n_days: int) -> tuple[Any, Any, Any]:
    days = np.arange(1, n_days + 1, dtype=np.float64)
    drift = math.log1p(baseline.mean_daily) - 0.5 * baseline.std_daily**2
    centre = math.log(start_equity) + drift * days
    spread = 2.0 * baseline.std_daily * np.sqrt(days)
    return np.exp(centre - spread), np.exp(centre + spread), np.exp(centre)


def _strategy_section(store: Any, row: dict[str, Any]) -> str:
    from execution import lifecycle
    from execution.lifecycle.store import strategy_equity

    strategy = str(row["strategy"])
    state, _ = lifecycle.current_state(store, strategy)
    baseline = lifecycle.get_baseline(store, strategy)
    curve = strategy_equity(store, strategy)
    title = f"<h3>{html.escape(strategy)} — {html.escape(state)}, weight {row['weight']:.4g}</h3>"
    if not curve:
        return title + '<p class="note">no bars yet</p>'
    ends: dict[int, tuple[int, float]] = {}
    for t, value in curve:
        ends[t // DAY_MS] = (t, value)
    times = [ends[d][0] for d in sorted(ends)]
    values = [ends[d][1] for d in sorted(ends)]
    band = None if baseline is None else _band(baseline, float(row["capital"]), len(values))
    detail = (
        ""
        if baseline is None
        else f'<p class="note">baseline: {baseline.n_days} days from '
        f"{html.escape(baseline.source)}, daily Sharpe {baseline.sharpe_daily:.3f}, "
        f"bootstrap {baseline.drawdown_quantile:.0%} drawdown {baseline.drawdown_limit:.3f}</p>"
    )
    expression = f'<p class="note">{html.escape(str(row["expression"]))}</p>'
    return title + expression + detail + _svg(times, {strategy: values}, band)


def _transitions(store: Any) -> str:
    from execution import lifecycle

    rows = lifecycle.transitions(store)
    if not rows:
        return '<p class="note">none</p>'
    parts = []
    for item in rows:
        checks = "".join(
            f'<li class="{"ok" if c["passed"] else "fail"}">{html.escape(c["name"])}: '
            f"{html.escape(c['detail'])}</li>"
            for c in item["evidence"]
        )
        parts.append(
            f"<p><b>{_time(item['wall_ms'])}</b> (bar {_time(item['bar_time'])}) "
            f"{html.escape(item['strategy'])}: {html.escape(item['from_state'])} → "
            f"{html.escape(item['to_state'])} by {html.escape(item['actor'])} — "
            f"{html.escape(item['reason'])}</p><ul>{checks}</ul>"
        )
    return "".join(parts)


def _fills(store: Any) -> str:
    columns = {str(r[1]) for r in store.query("PRAGMA table_info(fills)")}
    realised = "realised_slippage_cost" if "realised_slippage_cost" in columns else "slippage_cost"
    rows = store.query(
        f"SELECT bar_time, strategy, symbol, qty, price, fee, slippage_cost, {realised} "
        "FROM fills ORDER BY bar_time, strategy, symbol"
    )
    shown = [[_time(r[0]), r[1], r[2], *[float(v) for v in r[3:]]] for r in rows]
    note = (
        ""
        if realised != "slippage_cost"
        else '<p class="note">paper fills: realised slippage is the model by construction</p>'
    )
    headers = ["bar", "strategy", "symbol", "qty", "price", "fee", "modelled slip.", "realised"]
    return note + _table(headers, shown, (0, 1, 2))


def _funding(store: Any) -> str:
    totals = store.query(
        "SELECT strategy, symbol, COUNT(*), SUM(amount) FROM funding GROUP BY strategy, symbol"
    )
    return _table(
        ["strategy", "symbol", "settlements", "paid"],
        [[r[0], r[1], int(r[2]), float(r[3])] for r in totals],
        (0, 1),
    )


def _events(store: Any) -> str:
    rows = store.query("SELECT wall_ms, bar_time, kind, message FROM events ORDER BY id")
    halts = store.query("SELECT wall_ms, reason, active FROM halts ORDER BY id")
    table = _table(
        ["time", "bar", "kind", "message"],
        [[_time(r[0]), _time(r[1]), r[2], r[3]] for r in rows],
        (0, 1, 2, 3),
    )
    if halts:
        table += _table(
            ["halted at", "reason", "active"],
            [[_time(h[0]), h[1], bool(h[2])] for h in halts],
            (0, 1),
        )
    return table


def render_account_report(state_path: Path) -> str:
    """Return the account report's HTML (self-contained: inline CSS and SVG, no scripts)."""
    from execution.state import StateStore

    store = StateStore(Path(state_path), readonly=True)
    try:
        account_id = store.get_meta("account_id") or "(not started)"
        curve = store.equity_curve()
        initial = float(store.get_meta("initial_equity") or "nan")
        last = curve[-1][1] if curve else initial
        summary = (
            f"timeframe {store.get_meta('timeframe') or '-'}, symbols "
            f"{store.get_meta('symbols') or '-'}; equity {last:,.2f} from {initial:,.2f}; "
            f"last bar {_time(curve[-1][0] if curve else None)}; "
            + ("<b>HALTED</b>: " + html.escape(store.active_halt() or "") if store.active_halt()
               else "running")
        )  # fmt: skip
        account_chart = (
            _svg([t for t, _ in curve], {"account": [e for _, e in curve]})
            if curve
            else '<p class="note">no bars yet</p>'
        )
        strategies = "".join(_strategy_section(store, row) for row in store.strategies())
        page = Template(TEMPLATE.read_text("utf-8")).substitute(
            account_id=html.escape(account_id),
            summary=summary,
            account_chart=account_chart,
            strategies=strategies or '<p class="note">no strategies</p>',
            transitions=_transitions(store),
            fills=_fills(store),
            funding=_funding(store),
            events=_events(store),
        )
    finally:
        store.close()
    return page


def write_account_report(state_path: Path, out: Path) -> Path:
    """Write the account report to ``out`` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_account_report(state_path), encoding="utf-8")
    return out
