"""The promotion review report as one self-contained HTML page (Jinja2 templates, autoescaped).

The first screen holds the verdict, the baselines over the same holdout, and one row per
cluster of near-identical candidates with the numbers that decided; each cluster's details
follow collapsed (``<details>``). No network is needed to view it: CSS is inline, charts are
inline SVG (:mod:`evolve.reports.charts.figures`), there is no script, font, image or link to
fetch. Output is byte-identical for identical evidence. Stable ids: ``header``, ``verdict``,
``reasons``, ``baselines``, ``summary`` (table ``summary-table``), ``clusters``,
``cluster-<anchor>``, ``candidate-<anchor>`` with its blocks (see
:mod:`evolve.reports.candidate_section`), ``search``, ``pbo``, ``spa``, ``null-model``,
``evidence`` and ``sign-off``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from evolve.promotion.document import CandidateDocument, PromotionDocument
from evolve.reports.baselines import HoldoutLine, baselines, candidate_line, daily_max_drawdown
from evolve.reports.blocks import Block, Cell, Figure, Table, Text, cells
from evolve.reports.candidate_section import candidate_blocks
from evolve.reports.charts import figures
from evolve.reports.clusters import Cluster, clusters_of
from evolve.reports.gates import failed_gates, failure_reasons, gate_cell, verdict
from evolve.reports.templating import ENVIRONMENT, template_source
from evolve.reports.text import (
    NOT_COMPUTED,
    SIGN_OFF,
    elements,
    finite_or_none,
    fmt,
    get,
    objects,
    probability,
    search_statistics_rows,
)

_SPA_KEYS = ("p_consistent", "p_lower", "p_upper")


@dataclass(frozen=True, slots=True)
class ClusterView:
    """A cluster as the page shows it: its summary line and, when opened, its blocks."""

    cluster: Cluster
    summary: str
    members: Table | None
    blocks: list[Block]


def _stage_values(candidate: CandidateDocument) -> tuple[Any, Any]:
    extra = candidate.model_dump()
    dsr = get(extra, "stage", "selection", "dsr")
    psr = get(extra, "stage", "confirmation", "psr")
    if get(extra, "stage") is None:
        dsr, psr = get(extra, "statistics", "dsr"), get(extra, "statistics", "psr")
    return dsr, psr


def _dash(text: str) -> str:
    """Return "—" for a number the document lacks (the note under the table says why)."""
    return "—" if text == NOT_COMPUTED else text


def _row(document: PromotionDocument, cluster: Cluster) -> list[Cell]:
    candidate = cluster.shown
    extra = candidate.model_dump()
    dsr, psr = _stage_values(candidate)
    similar = f" +{len(cluster.others)} similar" if cluster.others else ""
    failed = "; ".join(gate_cell(g) for g in failed_gates(candidate)) or "—"
    return [
        Cell(fmt(candidate.rank, "count")),
        Cell(candidate.id + similar, href=f"#cluster-{cluster.anchor}"),
        Cell(str(extra.get("pretty") or candidate.id), code=True, css="expr"),
        Cell(
            "✓ promoted" if candidate.promoted else "✗ rejected",
            css="pass" if candidate.promoted else "fail",
        ),
        Cell(_dash(probability(dsr))),
        Cell(_dash(probability(psr))),
        Cell(_dash(fmt(get(extra, "statistics", "holdout_annual_sharpe"), "ratio"))),
        Cell(_dash(fmt(get(extra, "statistics", "n_holdout_trades"), "count"))),
        Cell(_dash(fmt(daily_max_drawdown(document, candidate), "percent"))),
        Cell(failed, css="gates"),
    ]


def _dsr_sample(document: PromotionDocument) -> str:
    for candidate in document.candidates:
        sample = get(candidate.model_dump(), "stage", "selection", "sample")
        if sample:
            return f"stage 1, on the {sample} sample the hall of fame was selected on"
    return "on the holdout (this promotion.json predates the two-stage test)"


def _summary(document: PromotionDocument, clusters: list[Cluster]) -> Table:
    headers = [
        "rank",
        "candidate",
        "expression",
        "verdict",
        "DSR",
        "holdout PSR",
        "holdout Sharpe (ann.)",
        "holdout trades",
        "holdout max DD (daily)",
        "failed gates: value vs threshold",
    ]
    rows = [_row(document, cluster) for cluster in clusters]
    classes = ["promoted" if c.shown.promoted else "" for c in clusters]
    return Table(
        headers, rows, numeric=(0, 4, 5, 6, 7, 8), row_classes=classes, table_id="summary-table"
    )


def _members(document: PromotionDocument, cluster: Cluster) -> Table | None:
    if not cluster.others and not cluster.missing:
        return None
    rows = []
    for member in cluster.members:
        extra = member.model_dump()
        dsr, psr = _stage_values(member)
        rows.append(
            [
                Cell(fmt(member.rank, "count")),
                Cell(member.id, code=True),
                Cell(str(extra.get("pretty") or member.id), code=True, css="expr"),
                Cell("✓" if member.promoted else "✗", css="pass" if member.promoted else "fail"),
                Cell(probability(dsr)),
                Cell(probability(psr)),
                Cell(fmt(get(extra, "statistics", "holdout_annual_sharpe"), "ratio")),
                Cell("; ".join(gate_cell(g) for g in failed_gates(member)) or "—", css="gates"),
            ]
        )
    rows += [
        [Cell("?"), Cell(m, code=True), *cells("not in candidates", "", "", "", "", "")]
        for m in cluster.missing
    ]
    headers = ["rank", "id", "expression", "promoted", "DSR", "PSR", "Sharpe", "failed gates"]
    return Table(headers, rows, numeric=(0, 4, 5, 6), table_id=f"members-{cluster.anchor}")


def _cluster_view(document: PromotionDocument, cluster: Cluster) -> ClusterView:
    candidate = cluster.shown
    failed = failed_gates(candidate)
    state = (
        "promoted"
        if candidate.promoted
        else f"rejected by {len(failed)} gate{'s' if len(failed) != 1 else ''}"
    )
    size = f" · {len(cluster.members)} members" if len(cluster.members) > 1 else ""
    summary = f"#{fmt(candidate.rank, 'count')} · {candidate.id} · {state}{size}"
    return ClusterView(
        cluster,
        summary,
        _members(document, cluster),
        candidate_blocks(document, candidate, cluster.anchor),
    )


def _baseline_table(
    document: PromotionDocument, clusters: list[Cluster]
) -> tuple[Table | None, list[str]]:
    lines, missing = baselines(document)
    strategies: list[HoldoutLine] = []
    promoted = [c for c in document.candidates if c.promoted]
    chosen = promoted or [clusters[0].representative] if clusters else []
    for candidate in chosen:
        line = candidate_line(document, candidate)
        if line is not None:
            name = (
                f"{candidate.id} ({'promoted' if candidate.promoted else 'best ranked, rejected'})"
            )
            strategies.append(
                HoldoutLine(
                    name,
                    line.holdout_return,
                    line.holdout_sharpe,
                    line.max_drawdown,
                    line.n_days,
                    line.source,
                )
            )
    rows = [
        cells(
            line.name,
            fmt(line.holdout_return, "signed_percent"),
            fmt(line.holdout_sharpe, "ratio"),
            fmt(line.max_drawdown, "percent"),
            fmt(line.n_days, "count"),
        )
        for line in [*strategies, *lines]
    ]
    if not rows:
        return None, missing
    headers = ["over the holdout", "return", "Sharpe (ann.)", "max drawdown", "days"]
    return Table(headers, rows, numeric=(1, 2, 3, 4), table_id="baselines-table"), missing


def _headline(document: PromotionDocument) -> str:
    promoted = [c.id for c in document.candidates if c.promoted]
    if promoted:
        return f"{verdict(document)}: {', '.join(promoted)}"
    return verdict(document)


def _spa(search: Mapping[str, Any]) -> Block:
    benchmarks = get(search, "spa", "benchmark")
    if not isinstance(benchmarks, Mapping) or not benchmarks:
        return Block("spa", "SPA p-values", (Text("The SPA test is absent from promotion.json."),))
    rows = [
        cells(str(name).replace("_", " "), *(probability(get(p, k)) for k in _SPA_KEYS))
        for name, p in benchmarks.items()
    ]
    table = Table(
        ["benchmark", "p consistent", "p lower", "p upper (White)"], rows, numeric=(1, 2, 3)
    )
    note = (
        "Hansen's test of superior predictive ability: the p-value that the search's best is no "
        "better than the benchmark once every trial is accounted for (consistent p is the one "
        f"gated; small is good). {fmt(get(search, 'spa', 'n_bootstrap'), 'count')} stationary "
        f"bootstrap resamples, mean block {fmt(get(search, 'spa', 'mean_block'), 'number')}."
    )
    return Block("spa", "SPA p-values", (table, Text(note)))


def _null_model(search: Mapping[str, Any]) -> Block:
    block = get(search, "null_model")
    finite = [
        float(v)
        for v in elements(get(block, "best_holdout_sharpes"))
        if finite_or_none(v) is not None
    ]
    if not finite:
        text = (
            "No search was repeated on random data (evolve promote --null-runs K), so the "
            "holdout Sharpes are not compared with what luck alone finds."
        )
        return Block("null-model", "Null model", (Text(text),))
    chart = figures.Chart("Best holdout Sharpe of searches on random data", "null", 2.2)
    svg = figures.histogram(
        chart,
        finite,
        bins=max(5, min(20, len(finite))),
        x_label="holdout Sharpe",
        label="null runs",
    )
    method = get(block, "method") or "not recorded"
    note = f"{fmt(get(block, 'n_runs'), 'count')} runs; method: {method}."
    return Block("null-model", "Null model", (Figure([Markup(svg)]), Text(note)))


def _search(document: PromotionDocument) -> tuple[Table, list[Block]]:
    search = document.search
    rows = [
        cells(*row)
        for row in search_statistics_rows({"search": search})
        if row[1] != "not computed"
    ]
    table = Table(["statistic", "value", "what it means"], rows, numeric=(1,))
    logits = [
        float(v) for v in elements(get(search, "pbo", "logits")) if finite_or_none(v) is not None
    ]
    if logits:
        chart = figures.Chart(
            "PBO: logits of the in-sample best's out-of-sample rank",
            "pbo",
            2.4,
            spans=[
                figures.Span(min(min(logits), -0.5) - 0.5, 0.0, "overfit region (λ ≤ 0)", "#f8dcd8")
            ],
            markers=[figures.Marker(0.0, "λ = 0: median")],
        )
        svg = figures.histogram(
            chart,
            logits,
            bins=30,
            x_label="λ = ln(ω / (1 − ω)), ω = relative out-of-sample rank",
            label="CSCV splits",
        )
        pbo = Block("pbo", "Probability of backtest overfitting", (Figure([Markup(svg)]),))
    else:
        pbo = Block(
            "pbo",
            "Probability of backtest overfitting",
            (Text("PBO logits are absent from promotion.json."),),
        )
    return table, [pbo, _spa(search), _null_model(search)]


def _evidence(document: PromotionDocument) -> dict[str, Any]:
    extra = document.model_dump()
    facts = [
        ("Run id", document.run_id),
        ("Seed", extra.get("seed")),
        ("Config hash", extra.get("config_hash")),
        ("Generated at", extra.get("generated_at")),
        ("Evidence schema version", document.schema_version),
    ]
    shown = [(k, str(v), True) for k, v in facts if v is not None]
    data = [
        [
            *(Cell(str(d.get(k) or "—")) for k in ("name", "symbol", "timeframe", "first", "last")),
            Cell(str(d.get("content_hash") or "—"), code=True, css="hash"),
        ]
        for d in objects(extra.get("data"))
    ]
    versions = extra.get("package_versions")
    version_rows = (
        [cells(str(k), str(v)) for k, v in sorted(versions.items())]
        if isinstance(versions, Mapping)
        else []
    )
    return {
        "facts": shown,
        "data": Table(
            ["dataset", "symbol", "timeframe", "first", "last", "content hash"],
            data,
            table_id="data-hashes",
        )
        if data
        else None,
        "versions": Table(["package", "version"], version_rows, table_id="package-versions")
        if version_rows
        else None,
    }


def render_html(document: PromotionDocument) -> str:
    """Return the review report of a promotion as one self-contained HTML document.

    Parameters
    ----------
    document : PromotionDocument
        The validated ``promotion.json`` (:func:`evolve.promotion.document.load_document`).

    Returns
    -------
    str
        ``<!DOCTYPE html>…``: verdict, baselines and the cluster table first; then one
        collapsed section per cluster, the search statistics, the evidence and the sign-off.
    """
    clusters = clusters_of(document)
    search_table, search_blocks = _search(document)
    baseline_table, baseline_missing = _baseline_table(document, clusters)
    extra = document.model_dump()
    return ENVIRONMENT.get_template("report.html.j2").render(
        document=document,
        run_id=document.run_id,
        generated_at=extra.get("generated_at"),
        seed=extra.get("seed"),
        headline=_headline(document),
        reasons=failure_reasons(document),
        any_promoted=any(c.promoted for c in document.candidates),
        baselines=baseline_table,
        baselines_missing=baseline_missing,
        summary=_summary(document, clusters) if clusters else None,
        dsr_sample=_dsr_sample(document),
        clusters=[_cluster_view(document, c) for c in clusters],
        n_candidates=len(document.candidates),
        search_table=search_table,
        search_blocks=search_blocks,
        evidence=_evidence(document),
        sign_off=SIGN_OFF,
        css=template_source("report.css"),
    )
