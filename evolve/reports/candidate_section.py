"""One candidate's section of the HTML review report: verdict, charts, tables, lineage.

Reads one entry of the evidence's ``candidates`` list (promotion.json); any missing or null
field renders as "not computed". Every block has a stable id ``<block>-<candidate id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evolve.numbers import finite_or_none
from evolve.reports.charts import svg
from evolve.reports.text import (
    METRIC_KINDS,
    NOT_COMPUTED,
    Kind,
    Markup,
    comparison_symbol,
    elements,
    failed_gates,
    fmt,
    fmt_metric,
    gate_explanation,
    gate_label,
    gate_values,
    get,
    h,
    html_table,
    label,
    objects,
    pass_mark,
    slug,
)

SPLITS = ("train", "validation", "holdout")
_FOLD_FIRST = ("segment", "kind", "symbol", "sharpe", "total_return", "max_drawdown", "n_trades")


def candidate_anchors(candidates: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return each candidate's unique id suffix: its strategy id, else ``rank-<n>``.

    Ids are reduced to ``[A-Za-z0-9_-]``; a repeat gets ``-2``, ``-3``… so element ids stay unique.
    """
    anchors: list[str] = []
    for index, candidate in enumerate(candidates):
        identifier = get(candidate, "id")
        base = slug(identifier) if identifier else f"rank-{index + 1}"
        anchor, repeat = base, 2
        while anchor in anchors:
            anchor, repeat = f"{base}-{repeat}", repeat + 1
        anchors.append(anchor)
    return anchors


def segment_spans(evidence: Mapping[str, Any]) -> list[svg.Span]:
    """Return the discovery/validation/holdout calendar spans to shade behind time charts."""
    spans = []
    for segment in objects(get(evidence, "segments")):
        start, stop = (
            finite_or_none(get(segment, "start_ms")),
            finite_or_none(get(segment, "stop_ms")),
        )
        kind = str(get(segment, "kind") or get(segment, "name") or "segment")
        if start is not None and stop is not None:
            spans.append(svg.Span(start, stop, kind, svg.SPAN_COLORS.get(kind, "#ececec")))
    return spans


def _numbers(values: Any) -> list[float]:
    return [float("nan") if finite_or_none(v) is None else float(v) for v in elements(values)]


def _xy(block: Any) -> tuple[list[float], list[float]]:
    x, y = _numbers(get(block, "timestamp_ms")), _numbers(get(block, "equity"))
    return (x, y) if len(x) == len(y) else ([], [])


def _drawdown(equity: list[float]) -> list[float]:
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return []
    peak = np.fmax.accumulate(values)  # fmax skips NaN marks instead of spreading them
    with np.errstate(invalid="ignore", divide="ignore"):
        drawdown = np.where(peak > 0, values / peak - 1.0, np.nan)
    return drawdown.tolist()


def _section(block_id: str, title: str, *content: str) -> str:
    return (
        f'<section class="block" id="{h(block_id)}"><h3>{h(title)}</h3>{"".join(content)}</section>'
    )


def _note(text: str) -> str:
    return f'<p class="note">{h(text)}</p>'


def _figure(chart: str) -> str:
    return f'<figure class="chart-figure">{chart}</figure>'


def _expression(candidate: Mapping[str, Any], anchor: str) -> str:
    pretty = get(candidate, "pretty") or NOT_COMPUTED
    canonical = get(candidate, "expression") or NOT_COMPUTED
    promoted = get(candidate, "promoted") is True
    rows = [
        ("Pretty", Markup(f'<code class="expression">{h(pretty)}</code>')),
        ("Canonical", Markup(f'<code class="expression">{h(canonical)}</code>')),
        ("Lookback", f"{fmt(get(candidate, 'lookback_bars'), 'count')} bars"),
        ("Spec", get(candidate, "spec_path") or f"none written{'' if promoted else ' (rejected)'}"),
    ]
    items = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in rows)
    return f'<dl class="facts" id="expression-{anchor}">{items}</dl>'


def _verdict(evidence: Mapping[str, Any], candidate: Mapping[str, Any], anchor: str) -> str:
    if get(candidate, "promoted") is True:
        return (
            f'<div class="verdict promoted" id="verdict-{anchor}"><strong>Promoted.</strong> '
            'Every gate passed; its spec was written with state "promoted".</div>'
        )
    failed = failed_gates(candidate)
    if not failed:
        return (
            f'<div class="verdict rejected" id="verdict-{anchor}"><strong>Not promoted</strong>'
            " although no gate failed; see the gate table.</div>"
        )
    reasons = "".join(f"<li>{h(gate_explanation(g, evidence, candidate))}</li>" for g in failed)
    return (
        f'<div class="verdict rejected" id="verdict-{anchor}"><strong>Rejected</strong> by '
        f"{len(failed)} gate{'s' if len(failed) != 1 else ''}:<ul>{reasons}</ul></div>"
    )


def _curves(evidence: Mapping[str, Any], candidate: Mapping[str, Any], anchor: str) -> str:
    spans = segment_spans(evidence)
    x, equity = _xy(get(candidate, "curve"))
    equity_title = "Equity (start = 1), combined over symbols"
    drawdown_title = "Drawdown below the running peak"
    if not any(finite_or_none(v) is not None for v in equity):
        equity_chart = svg.empty_chart(equity_title, NOT_COMPUTED)
        drawdown_chart = svg.empty_chart(drawdown_title, NOT_COMPUTED)
    else:
        series = [svg.Series("strategy", x, equity)]
        hold_x, hold = _xy(get(candidate, "buy_and_hold"))
        if hold_x:
            series.append(svg.Series("buy and hold", hold_x, hold, dashed=True))
        equity_chart = svg.line_chart(series, title=equity_title, y_label="equity", spans=spans)
        drawdown_chart = svg.area_chart(
            svg.Series("drawdown", x, _drawdown(equity), color="#c0392b"),
            title=drawdown_title,
            y_label="drawdown",
            y_percent=True,
            spans=spans,
        )
    return _section(f"equity-{anchor}", "Equity", _figure(equity_chart)) + _section(
        f"drawdown-{anchor}", "Drawdown", _figure(drawdown_chart)
    )


def _metrics(candidate: Mapping[str, Any], anchor: str) -> str:
    splits = [s for s in SPLITS if isinstance(get(candidate, "metrics", s), Mapping)]
    names: list[str] = []
    for split in splits:
        names += [n for n in get(candidate, "metrics", split) if n not in names]
    if not names:
        return _section(f"metrics-{anchor}", "Metrics by split", _note(NOT_COMPUTED))
    rows = [
        [label(n), *(fmt_metric(n, get(candidate, "metrics", s, n)) for s in splits)] for n in names
    ]
    table = html_table(["metric", *splits], rows, numeric=range(1, len(splits) + 1))
    return _section(f"metrics-{anchor}", "Metrics by split", table)


def _fold_table(candidate: Mapping[str, Any], anchor: str) -> str:
    rows_in = objects(get(candidate, "fold_table"))
    if not rows_in:
        return _section(f"folds-{anchor}", "Fold × symbol", _note(NOT_COMPUTED))
    columns = [c for c in _FOLD_FIRST if any(c in r for r in rows_in)]
    columns += sorted({c for r in rows_in for c in r} - set(columns))
    rows = [[fmt_metric(c, r.get(c)) for c in columns] for r in rows_in]
    numeric = [i for i, c in enumerate(columns) if c in METRIC_KINDS]
    table = html_table([label(c) for c in columns], rows, numeric=numeric)
    return _section(f"folds-{anchor}", "Fold × symbol", table)


def _gate_table(candidate: Mapping[str, Any], anchor: str) -> str:
    """Return the gate table block: name, value, comparison, threshold, pass/fail, detail."""
    gates = objects(get(candidate, "gates"))
    if not gates:
        return _section(f"gates-{anchor}", "Gates", _note(NOT_COMPUTED))
    rows, classes = [], []
    for gate in gates:
        value, threshold = gate_values(gate)
        name = str(gate.get("name", ""))
        symbol = comparison_symbol(gate)
        detail = gate.get("detail") or ""
        rows.append(
            [gate_label(name), value, symbol, threshold, pass_mark(gate.get("passed")), detail]
        )
        classes.append("" if gate.get("passed") is True else "failed")
    headers = ["gate", "value", "pass if", "threshold", "result", "detail"]
    table = html_table(headers, rows, row_classes=classes, numeric=(1, 3))
    return _section(f"gates-{anchor}", "Gates", table)


def _cost_stress(evidence: Mapping[str, Any], candidate: Mapping[str, Any], anchor: str) -> str:
    points = objects(get(candidate, "cost_stress"))
    points.sort(key=lambda p: finite_or_none(p.get("multiplier")) or 0.0)
    multipliers = _numbers([p.get("multiplier") for p in points])
    gate_multiplier = finite_or_none(get(evidence, "thresholds", "cost_stress_multiplier"))
    markers = [svg.Marker(gate_multiplier, f"gate {gate_multiplier:g}×")] if gate_multiplier else []
    charts = []
    for key, title, percent in (
        ("holdout_sharpe", "Holdout Sharpe vs cost multiplier", False),
        ("holdout_return", "Holdout return vs cost multiplier", True),
    ):
        values = _numbers([p.get(key) for p in points])
        charts.append(
            svg.line_chart(
                [svg.Series(label(key), multipliers, values, points=True)],
                title=title,
                x_axis="number",
                x_suffix="×",
                x_label="cost multiplier (fees and slippage)",
                y_percent=percent,
                markers=markers,
                baseline=0.0,
                width=380,
                height=240,
            )
        )
    rows = [
        [
            f"{fmt(p.get('multiplier'), 'number')}×",
            fmt_metric("holdout_sharpe", p.get("holdout_sharpe")),
            fmt_metric("holdout_return", p.get("holdout_return")),
            fmt_metric("holdout_psr", p.get("holdout_psr")),
        ]
        for p in points
    ]
    table = html_table(
        ["costs", "holdout Sharpe", "holdout return", "holdout PSR"], rows, numeric=(1, 2, 3)
    )
    flip = get(candidate, "funding_flip")
    flip_text = (
        f"Funding flipped (every funding rate's sign reversed): holdout Sharpe "
        f"{fmt_metric('holdout_sharpe', get(flip, 'holdout_sharpe'))}, holdout return "
        f"{fmt_metric('holdout_return', get(flip, 'holdout_return'))}."
        if isinstance(flip, Mapping)
        else f"Funding flipped: {NOT_COMPUTED}."
    )
    return _section(
        f"cost-stress-{anchor}",
        "Cost stress (1×–3× costs) and funding flip",
        f'<div class="pair">{_figure(charts[0])}{_figure(charts[1])}</div>'
        if points
        else _note(NOT_COMPUTED),
        table if points else "",
        f'<p id="funding-flip-{anchor}">{h(flip_text)}</p>',
    )


def _perturbation(candidate: Mapping[str, Any], anchor: str) -> str:
    block = get(candidate, "perturbation")
    scores = _numbers(get(block, "scores"))
    own = finite_or_none(get(block, "own_score"))
    if not isinstance(block, Mapping) or not scores:
        return _section(f"perturbation-{anchor}", "Perturbation", _note(NOT_COMPUTED))
    markers = [svg.Marker(own, f"own score {own:.3g}")] if own is not None else []
    chart = svg.histogram(
        scores,
        title="Scores of variants with jittered constants",
        x_label="score",
        markers=markers,
        label="perturbed variants",
    )
    text = (
        f"Stability {fmt(get(block, 'stability'), 'ratio')} over {len(scores):,} variants "
        f"(own score {fmt(own, 'number')}); a smooth neighbourhood keeps most variants near the "
        "own score."
    )
    return _section(f"perturbation-{anchor}", "Perturbation", _figure(chart), _note(text))


# Rows of the DSR/PSR/MinTRL block: label, statistics key, display kind, meaning and inputs
_STATISTICS_ROWS: tuple[tuple[str, str, Kind, str], ...] = (
    ("SR̂ (holdout Sharpe per {period})", "holdout_daily_sharpe", "sharpe",
     "the selected strategy's Sharpe on the untouched holdout"),
    ("T (holdout {period}s)", "n_days", "count", "return observations behind SR̂"),
    ("γ3 (skewness)", "skew", "ratio", "of the holdout returns"),
    ("γ4 (kurtosis, non-excess)", "kurtosis", "ratio", "3 for Gaussian returns"),
    ("PSR(0)", "psr", "probability",
     "Φ(SR̂·√(T−1) / √(1 − γ3·SR̂ + (γ4−1)/4·SR̂²)): chance the true Sharpe is above 0"),
    ("SR0", "sr0", "sharpe",
     "expected best Sharpe of N_eff = {n_effective} zero-skill trials with V[SR] = {variance}: "
     "√V·((1−γ)Z⁻¹[1−1/N] + γZ⁻¹[1−1/(N·e)])"),
    ("DSR = PSR(SR0)", "dsr", "probability",
     "chance the true Sharpe beats the best a search of this size finds by luck"),
    ("MinTRL (trades)", "min_trl_trades", "count",
     "minimum track record length on per-trade returns, 95% against 0"),
    ("Holdout trades", "n_holdout_trades", "count", "must reach MinTRL"),
    ("95th-percentile drawdown", "bootstrap_drawdown_p95", "percent",
     "stationary block bootstrap of daily returns; budget {budget}"),
    ("Null-model percentile", "null_percentile", "probability",
     "where the holdout Sharpe falls among the best Sharpes searches find on random data"),
)  # fmt: skip


def _statistics(evidence: Mapping[str, Any], candidate: Mapping[str, Any], anchor: str) -> str:
    stats = get(candidate, "statistics")
    inputs = {
        "period": str(get(evidence, "search", "periods") or "period"),
        "n_effective": fmt(get(evidence, "search", "n_effective"), "count"),
        "variance": fmt(get(evidence, "search", "sharpe_variance"), "number"),
        "budget": fmt(get(evidence, "thresholds", "drawdown_budget"), "percent"),
    }
    rows = [
        [name.format(**inputs), fmt(get(stats, key), kind), meaning.format(**inputs)]
        for name, key, kind, meaning in _STATISTICS_ROWS
    ]
    table = html_table(["statistic", "value", "meaning and inputs"], rows, numeric=(1,))
    return _section(f"statistics-{anchor}", "DSR, PSR and MinTRL with their inputs", table)


def _legs(candidate: Mapping[str, Any], anchor: str) -> str:
    rows = []
    for side in ("long", "short"):
        leg = get(candidate, "legs", side)
        rows.append(
            [
                side,
                fmt_metric("pnl", get(leg, "pnl")),
                fmt_metric("n_trades", get(leg, "n_trades")),
                fmt_metric("win_rate", get(leg, "win_rate")),
            ]
        )
    table = html_table(
        ["leg", "P&L (fraction of equity)", "trades", "win rate"], rows, numeric=(1, 2, 3)
    )
    return _section(f"legs-{anchor}", "Long and short legs", table)


def _concentration(candidate: Mapping[str, Any], anchor: str) -> str:
    block = get(candidate, "concentration")
    months = objects(get(block, "monthly_pnl"))
    parts = [
        _note(
            f"Largest month {get(block, 'largest_month') or NOT_COMPUTED} supplies "
            f"{fmt(get(block, 'largest_month_share'), 'percent')} of the P&L."
        )
    ]
    if months:
        chart = svg.bar_chart(
            [str(m.get("month", "?")) for m in months],
            _numbers([m.get("pnl") for m in months]),
            title="Monthly P&L (fraction of equity)",
            y_percent=True,
        )
        parts.append(_figure(chart))
    regimes = objects(get(block, "regimes"))
    if regimes:
        rows = [
            [
                str(r.get("regime", "?")),
                fmt_metric("pnl", r.get("pnl")),
                fmt_metric("share", r.get("share")),
            ]
            for r in regimes
        ]
        parts.append(html_table(["regime", "P&L", "share of P&L"], rows, numeric=(1, 2)))
    else:
        parts.append(_note(f"Regimes: {NOT_COMPUTED}."))
    return _section(f"concentration-{anchor}", "Monthly and regime concentration", *parts)


def _lineage(candidate: Mapping[str, Any], anchor: str) -> str:
    ancestors = objects(get(candidate, "lineage"))
    if not ancestors:
        return _section(f"lineage-{anchor}", "Lineage", _note(NOT_COMPUTED))
    items = []
    for ancestor in ancestors:
        depth = int(finite_or_none(ancestor.get("depth")) or 0)
        items.append(
            f'<li style="margin-left:{1.5 * max(depth, 0):.1f}em">'
            f'<span class="gen">gen {h(fmt(ancestor.get("generation"), "count"))}</span> · '
            f"{h(ancestor.get('operator') or 'unknown operator')} · score "
            f"{h(fmt(ancestor.get('score'), 'number'))} · "
            f"<code>{h(ancestor.get('pretty') or ancestor.get('id') or NOT_COMPUTED)}</code> "
            f'<span class="muted">{h(ancestor.get("id") or "")}</span></li>'
        )
    return _section(
        f"lineage-{anchor}",
        "Lineage (the candidate, then its ancestors; indent = generations back)",
        f'<ul class="lineage">{"".join(items)}</ul>',
    )


def candidate_section(
    evidence: Mapping[str, Any], candidate: Mapping[str, Any], index: int, anchor: str
) -> str:
    """Return the ``<section id="candidate-<anchor>">`` of one candidate with every block."""
    promoted = get(candidate, "promoted") is True
    badge = (
        '<span class="badge promoted">✓ promoted</span>'
        if promoted
        else '<span class="badge rejected">✗ rejected</span>'
    )
    rank = fmt(get(candidate, "rank"), "count")
    title = f"#{rank if rank != NOT_COMPUTED else index + 1} · {get(candidate, 'id') or anchor}"
    return "".join(
        [
            f'<section class="candidate" id="candidate-{anchor}"><h2>{h(title)} {badge}</h2>',
            _expression(candidate, anchor),
            _verdict(evidence, candidate, anchor),
            _curves(evidence, candidate, anchor),
            _metrics(candidate, anchor),
            _fold_table(candidate, anchor),
            _gate_table(candidate, anchor),
            _cost_stress(evidence, candidate, anchor),
            _perturbation(candidate, anchor),
            _statistics(evidence, candidate, anchor),
            _legs(candidate, anchor),
            _concentration(candidate, anchor),
            _lineage(candidate, anchor),
            "</section>",
        ]
    )
