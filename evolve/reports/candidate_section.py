"""One candidate's detail blocks (inside its cluster's collapsed ``<details>``).

Every block has a stable id ``<block>-<anchor>``: expression, verdict, stages, equity, drawdown,
metrics, folds, gates, cost-stress, funding-flip, perturbation, statistics, legs,
concentration, lineage. A sentence is printed only with its numbers; a block whose evidence
is absent says why in one line instead of printing "not computed" placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from markupsafe import Markup

from evolve.numbers import finite_or_none
from evolve.promotion.document import CandidateDocument, PromotionDocument
from evolve.reports.blocks import Block, Cell, Facts, Figure, Items, Part, Table, Text, cells
from evolve.reports.charts import figures
from evolve.reports.gates import (
    comparison_symbol,
    failed_gates,
    gate_explanation,
    gate_key,
    gate_label,
    gate_values,
    selection_inputs,
)
from evolve.reports.shares import concentration_parts
from evolve.reports.text import (
    METRIC_KINDS,
    NOT_COMPUTED,
    Kind,
    elements,
    fmt,
    fmt_metric,
    get,
    label,
    objects,
)

SPLITS = ("train", "validation", "holdout")
_FOLD_FIRST = ("segment", "kind", "symbol", "sharpe", "total_return", "max_drawdown", "n_trades")
ABSENT = "absent from promotion.json"


def _extra(candidate: CandidateDocument) -> Mapping[str, Any]:
    return candidate.model_dump()


def segment_spans(document: PromotionDocument) -> list[figures.Span]:
    """Return the discovery/validation/holdout calendar spans to shade behind time charts."""
    spans = []
    for segment in objects(document.model_dump().get("segments")):
        start, stop = (
            finite_or_none(get(segment, "start_ms")),
            finite_or_none(get(segment, "stop_ms")),
        )
        kind = str(get(segment, "kind") or get(segment, "name") or "segment")
        if start is not None and stop is not None:
            spans.append(figures.Span(start, stop, kind, figures.SPAN_COLORS.get(kind, "#ececec")))
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


def _expression(candidate: CandidateDocument, anchor: str) -> Block:
    extra = _extra(candidate)
    spec = extra.get("spec_path")
    facts = [
        ("Pretty", str(extra.get("pretty") or ABSENT), True),
        ("Canonical", str(extra.get("expression") or ABSENT), True),
        ("Lookback", f"{fmt(extra.get('lookback_bars'), 'count')} bars", False),
        ("Spec", str(spec) if spec else "none written (rejected)", bool(spec)),
    ]
    return Block(
        f"expression-{anchor}", "Expression", (Facts(facts, f"expression-{anchor}-facts"),)
    )


def _verdict(document: PromotionDocument, candidate: CandidateDocument, anchor: str) -> Block:
    if candidate.promoted:
        head = 'Promoted. Every gate passed; its spec was written with state "promoted".'
        return Block(f"verdict-{anchor}", "", (Text(head, ""),), "verdict promoted")
    failed = failed_gates(candidate)
    reasons = [gate_explanation(g, document, candidate) for g in failed]
    head = f"Rejected by {len(failed)} gate{'s' if len(failed) != 1 else ''}:"
    return Block(f"verdict-{anchor}", "", (Text(head, ""), Items(reasons)), "verdict rejected")


def _stages(candidate: CandidateDocument, anchor: str) -> Block | None:
    stage = _extra(candidate).get("stage")
    if not isinstance(stage, Mapping):
        return None
    selection, confirmation = get(stage, "selection"), get(stage, "confirmation")
    rows = [
        cells(
            "1 · selection",
            str(get(selection, "sample") or ABSENT),
            f"DSR {fmt(get(selection, 'dsr'), 'probability')}",
            f"Sharpe {fmt(get(selection, 'sharpe_daily'), 'sharpe')}/day over "
            f"{fmt(get(selection, 'n_days'), 'count')} days vs SR0 "
            f"{fmt(get(selection, 'sr0_daily'), 'sharpe')}/day",
        ),
        cells(
            "2 · confirmation",
            str(get(confirmation, "sample") or ABSENT),
            f"PSR(0) {fmt(get(confirmation, 'psr'), 'probability')}",
            f"α {fmt(get(confirmation, 'alpha'), 'probability')} corrected to "
            f"{fmt(get(confirmation, 'corrected_alpha'), 'number')} for "
            f"{fmt(get(confirmation, 'n_clusters'), 'count')} clusters taken to the holdout "
            f"({get(confirmation, 'method') or 'method ' + ABSENT})",
        ),
    ]
    table = Table(["stage", "sample", "statistic", "inputs"], rows)
    return Block(f"stages-{anchor}", "Two-stage test", (table,))


def _curves(document: PromotionDocument, candidate: CandidateDocument, anchor: str) -> list[Block]:
    spans = segment_spans(document)
    x, equity = _xy(_extra(candidate).get("curve"))
    eq = figures.Chart("Equity (start = 1), combined over symbols", f"eq-{anchor}", spans=spans)
    dd = figures.Chart("Drawdown below the running peak", f"dd-{anchor}", 1.8, spans=spans)
    if not any(finite_or_none(v) is not None for v in equity):
        why = f"no equity curve: {ABSENT}"
        return [
            Block(f"equity-{anchor}", "Equity", (Text(why),)),
            Block(f"drawdown-{anchor}", "Drawdown", (Text(why),)),
        ]
    series = [figures.Series("strategy", x, equity)]
    hold_x, hold = _xy(_extra(candidate).get("buy_and_hold"))
    if hold_x:
        series.append(figures.Series("buy and hold", hold_x, hold, dashed=True))
    equity_chart = figures.line_chart(eq, series, y_label="equity")
    drawdown_chart = figures.line_chart(
        dd,
        [figures.Series("drawdown", x, _drawdown(equity), color="#c0392b")],
        y_percent=True,
        fill_to=0.0,
    )
    return [
        Block(f"equity-{anchor}", "Equity", (Figure([Markup(equity_chart)]),)),
        Block(f"drawdown-{anchor}", "Drawdown", (Figure([Markup(drawdown_chart)]),)),
    ]


def _metrics(candidate: CandidateDocument, anchor: str) -> Block:
    metrics = _extra(candidate).get("metrics")
    splits = [s for s in SPLITS if isinstance(get(metrics, s), Mapping)]
    names: list[str] = []
    for split in splits:
        names += [n for n in get(metrics, split) if n not in names]
    if not names:
        return Block(f"metrics-{anchor}", "Metrics by split", (Text(f"metrics: {ABSENT}"),))
    rows = [
        [Cell(label(n)), *(Cell(fmt_metric(n, get(metrics, s, n))) for s in splits)] for n in names
    ]
    table = Table(["metric", *splits], rows, numeric=range(1, len(splits) + 1))
    return Block(f"metrics-{anchor}", "Metrics by split", (table,))


def _fold_table(candidate: CandidateDocument, anchor: str) -> Block:
    rows_in = objects(_extra(candidate).get("fold_table"))
    if not rows_in:
        return Block(f"folds-{anchor}", "Fold × symbol", (Text(f"fold table: {ABSENT}"),))
    columns = [c for c in _FOLD_FIRST if any(c in r for r in rows_in)]
    columns += sorted({c for r in rows_in for c in r} - set(columns))
    rows = [[Cell(fmt_metric(c, r.get(c))) for c in columns] for r in rows_in]
    numeric = [i for i, c in enumerate(columns) if c in METRIC_KINDS]
    table = Table(
        [label(c) for c in columns], rows, numeric=numeric, table_id=f"folds-{anchor}-table"
    )
    return Block(f"folds-{anchor}", "Fold × symbol", (table,))


def _gate_table(candidate: CandidateDocument, anchor: str) -> Block:
    if not candidate.gates:
        return Block(f"gates-{anchor}", "Gates", (Text("no gate was recorded for this candidate"),))
    rows, classes = [], []
    for gate in candidate.gates:
        value, threshold = gate_values(gate)
        if finite_or_none(gate.value) is None or finite_or_none(gate.threshold) is None:
            detail = gate.reason or gate.detail or "no reason recorded"
        else:
            detail = gate.detail
        rows.append(
            [
                Cell(gate_label(gate_key(gate))),
                Cell(value),
                Cell(comparison_symbol(gate)),
                Cell(threshold),
                Cell("✓ pass" if gate.passed else "✗ fail", css="pass" if gate.passed else "fail"),
                Cell(detail),
            ]
        )
        classes.append("" if gate.passed else "failed")
    headers = ["gate", "value", "pass if", "threshold", "result", "detail"]
    table = Table(headers, rows, numeric=(1, 3), row_classes=classes)
    return Block(f"gates-{anchor}", "Gates", (table,))


def _cost_stress(
    document: PromotionDocument, candidate: CandidateDocument, anchor: str
) -> list[Block]:
    extra = _extra(candidate)
    points = sorted(
        objects(extra.get("cost_stress")), key=lambda p: finite_or_none(p.get("multiplier")) or 0.0
    )
    gate_multiplier = finite_or_none(document.thresholds.get("cost_stress_multiplier"))
    markers = (
        [figures.Marker(gate_multiplier, f"gate {gate_multiplier:g}×")] if gate_multiplier else []
    )
    flip = extra.get("funding_flip")
    flip_sharpe, flip_return = get(flip, "holdout_sharpe"), get(flip, "holdout_return")
    flip_text = (
        f"Funding flipped (every funding rate's sign reversed): holdout Sharpe "
        f"{fmt_metric('holdout_sharpe', flip_sharpe)}, holdout return "
        f"{fmt_metric('holdout_return', flip_return)}."
        if finite_or_none(flip_sharpe) is not None or finite_or_none(flip_return) is not None
        else f"Funding flip: {ABSENT}."
    )
    flip_block = Block(f"funding-flip-{anchor}", "Funding flip", (Text(flip_text, ""),))
    if not points:
        text = Text(f"cost stress: {ABSENT}")
        return [Block(f"cost-stress-{anchor}", "Cost stress", (text,)), flip_block]
    multipliers = _numbers([p.get("multiplier") for p in points])
    charts = []
    for key, title, percent in (
        ("holdout_sharpe", "Holdout Sharpe vs cost multiplier", False),
        ("holdout_return", "Holdout return vs cost multiplier", True),
    ):
        chart = figures.Chart(title, f"cs-{key}-{anchor}", 2.3, 3.7, markers=markers)
        series = [
            figures.Series(
                label(key), multipliers, _numbers([p.get(key) for p in points]), points=True
            )
        ]
        charts.append(
            Markup(
                figures.line_chart(
                    chart, series, time_axis=False, y_percent=percent, x_label="cost multiplier (×)"
                )
            )
        )
    rows = [
        cells(
            f"{fmt(p.get('multiplier'), 'number')}×",
            fmt_metric("holdout_sharpe", p.get("holdout_sharpe")),
            fmt_metric("holdout_return", p.get("holdout_return")),
            fmt_metric("holdout_psr", p.get("holdout_psr")),
        )
        for p in points
    ]
    table = Table(
        ["costs", "holdout Sharpe", "holdout return", "holdout PSR"], rows, numeric=(1, 2, 3)
    )
    block = Block(f"cost-stress-{anchor}", "Cost stress (1×–3× costs)", (Figure(charts), table))
    return [block, flip_block]


def _perturbation(candidate: CandidateDocument, anchor: str) -> Block:
    block = _extra(candidate).get("perturbation")
    scores = [v for v in _numbers(get(block, "scores")) if v == v]
    gate = next((g for g in candidate.gates if g.name == "stability"), None)
    if not scores:
        return Block(
            f"perturbation-{anchor}", "Perturbation", (Text(f"perturbation scores: {ABSENT}"),)
        )
    own = finite_or_none(get(block, "own_score"))
    markers = [figures.Marker(own, f"own score {own:.3g}")] if own is not None else []
    chart = figures.Chart(
        "Scores of variants with jittered constants", f"pt-{anchor}", markers=markers
    )
    svg = figures.histogram(chart, scores, bins=20, x_label="score", label="perturbed variants")
    probe = finite_or_none(get(block, "probe_stability"))
    parts: list[Part] = [Figure([Markup(svg)])]
    sentence = f"{len(scores):,} variants drawn here"
    if own is not None:
        sentence += f", own score {fmt(own, 'number')}"
    if probe is not None:
        sentence += f"; their median score is {fmt(probe, 'ratio')} of the own score"
    if gate is not None and finite_or_none(gate.value) is not None:
        sentence += f". The gate uses stability {fmt(gate.value, 'ratio')} ({gate.detail})"
    parts.append(Text(sentence + "."))
    return Block(f"perturbation-{anchor}", "Perturbation", parts)


# Rows of the statistics block: label, statistics key, display kind, meaning and inputs
_STATISTICS_ROWS: tuple[tuple[str, str, Kind, str], ...] = (
    ("SR̂ (holdout Sharpe per {period})", "holdout_daily_sharpe", "sharpe",
     "the strategy's Sharpe on the untouched holdout"),
    ("T (holdout {period}s)", "n_days", "count", "return observations behind SR̂"),
    ("γ3 (skewness)", "skew", "ratio", "of the holdout returns"),
    ("γ4 (kurtosis, non-excess)", "kurtosis", "ratio", "3 for Gaussian returns"),
    ("PSR(0)", "psr", "probability",
     "Φ(SR̂·√(T−1) / √(1 − γ3·SR̂ + (γ4−1)/4·SR̂²)): chance the true Sharpe is above 0"),
    ("SR0 ({sample})", "sr0", "sharpe",
     "expected best Sharpe of N_eff = {n_effective} zero-skill trials with V[SR] = {variance}"),
    ("DSR = PSR(SR0) ({sample})", "dsr", "probability",
     "chance the true Sharpe on the {sample} record beats the best a search of this size finds "
     "by luck"),
    ("MinTRL (trades)", "min_trl_trades", "count",
     "minimum track record length on per-trade returns, 95% against 0"),
    ("Holdout trades", "n_holdout_trades", "count", "must reach MinTRL"),
    ("95th-percentile drawdown", "bootstrap_drawdown_p95", "percent",
     "stationary block bootstrap of daily returns; budget {budget}"),
    ("Null-model percentile", "null_percentile", "probability",
     "where the holdout Sharpe falls among the best Sharpes searches find on random data"),
)  # fmt: skip


def _statistics(document: PromotionDocument, candidate: CandidateDocument, anchor: str) -> Block:
    stats = _extra(candidate).get("statistics")
    sr0, variance, sample = selection_inputs(document, candidate)  # what the DSR was gated on
    inputs = {
        "period": str(get(document.search, "periods") or "period"),
        "n_effective": fmt(get(document.search, "n_effective"), "count"),
        "variance": fmt(variance, "number"),
        "sample": str(sample or "holdout"),
        "budget": fmt(document.thresholds.get("drawdown_budget"), "percent"),
    }
    rows = []
    for name, key, kind, meaning in _STATISTICS_ROWS:
        value = sr0 if key == "sr0" else get(stats, key)
        if finite_or_none(value) is None:
            continue  # a row without its number is not printed; the gate table says why
        shown = fmt(value, kind) if kind != "probability" else gate_like(value)
        rows.append(cells(name.format(**inputs), shown, meaning.format(**inputs)))
    if not rows:
        return Block(
            f"statistics-{anchor}", "DSR, PSR and MinTRL", (Text(f"statistics: {ABSENT}"),)
        )
    table = Table(["statistic", "value", "meaning and inputs"], rows, numeric=(1,))
    return Block(f"statistics-{anchor}", "DSR, PSR and MinTRL with their inputs", (table,))


def gate_like(value: Any) -> str:
    """Return a probability as the gate table shows it (3 decimals, "> 0.999")."""
    from evolve.reports.text import probability

    return probability(value, 3)


def _legs(candidate: CandidateDocument, anchor: str) -> Block:
    legs = _extra(candidate).get("legs")
    rows = [
        cells(
            side,
            fmt_metric("pnl", get(legs, side, "pnl")),
            fmt_metric("n_trades", get(legs, side, "n_trades")),
            fmt_metric("win_rate", get(legs, side, "win_rate")),
        )
        for side in ("long", "short")
        if isinstance(get(legs, side), Mapping)
    ]
    if not rows:
        return Block(f"legs-{anchor}", "Long and short legs", (Text(f"legs: {ABSENT}"),))
    missing = any(c.text == NOT_COMPUTED for r in rows for c in r)
    rows = [[Cell("—" if c.text == NOT_COMPUTED else c.text) for c in r] for r in rows]
    headers = ["leg", "P&L (fraction of equity)", "trades", "win rate"]
    parts: list[Part] = [Table(headers, rows, numeric=(1, 2, 3))]
    if missing:
        parts.append(Text("—: not computable, the leg made no closed trade on the holdout"))
    return Block(f"legs-{anchor}", "Long and short legs", parts)


def _concentration(candidate: CandidateDocument, anchor: str) -> Block:
    block = _extra(candidate).get("concentration")
    parts: list[Part] = []
    sentences, regime_table = concentration_parts(block)
    parts += [Text(s) for s in sentences]
    months = objects(get(block, "monthly_pnl"))
    if months:
        chart = figures.Chart("Monthly holdout P&L (fraction of equity)", f"mo-{anchor}", 2.2)
        svg = figures.bar_chart(
            chart,
            [str(m.get("month", "?")) for m in months],
            _numbers([m.get("pnl") for m in months]),
            y_percent=True,
        )
        parts.append(Figure([Markup(svg)]))
    if regime_table is not None:
        parts.append(regime_table)
    return Block(f"concentration-{anchor}", "Monthly and regime concentration", parts)


def _lineage(candidate: CandidateDocument, anchor: str) -> Block:
    ancestors = objects(_extra(candidate).get("lineage"))
    if not ancestors:
        return Block(f"lineage-{anchor}", "Lineage", (Text(f"lineage: {ABSENT}"),))
    rows = [
        [
            Cell(fmt(a.get("depth"), "count")),
            Cell(fmt(a.get("generation"), "count")),
            Cell(str(a.get("operator") or "unknown operator")),
            Cell(fmt(a.get("score"), "number")),
            Cell(str(a.get("pretty") or a.get("id") or ABSENT), code=True),
        ]
        for a in ancestors
    ]
    table = Table(
        ["generations back", "generation", "operator", "score", "expression"],
        rows,
        numeric=(0, 1, 3),
    )
    return Block(f"lineage-{anchor}", "Lineage (the candidate, then its ancestors)", (table,))


def candidate_blocks(
    document: PromotionDocument, candidate: CandidateDocument, anchor: str
) -> list[Block]:
    """Return every detail block of one candidate, in page order."""
    stages = _stages(candidate, anchor)
    return [
        _expression(candidate, anchor),
        _verdict(document, candidate, anchor),
        *([stages] if stages is not None else []),
        _gate_table(candidate, anchor),
        _statistics(document, candidate, anchor),
        *_curves(document, candidate, anchor),
        _metrics(candidate, anchor),
        _fold_table(candidate, anchor),
        *_cost_stress(document, candidate, anchor),
        _perturbation(candidate, anchor),
        _legs(candidate, anchor),
        _concentration(candidate, anchor),
        _lineage(candidate, anchor),
    ]
