"""The promotion review report as one self-contained HTML page, rendered from promotion.json.

No network is needed to view it: CSS is inline, charts are inline SVG
(:mod:`evolve.reports.charts.svg`), there is no script, font, image or link to fetch. Output
is deterministic (byte-identical for identical evidence). Sections carry stable ids:
``header``, ``search``, ``summary``,
``candidate-<id>`` (with ``gates-<id>`` etc., see :mod:`evolve.reports.candidate_section`),
``evidence`` and ``sign-off``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evolve.numbers import finite_or_none
from evolve.reports.candidate_section import candidate_anchors, candidate_section
from evolve.reports.charts import svg
from evolve.reports.text import (
    NOT_COMPUTED,
    SIGN_OFF,
    Markup,
    candidates_of,
    elements,
    failed_gates,
    failure_reasons,
    fmt,
    gate_label,
    get,
    h,
    html_table,
    objects,
    search_statistics_rows,
    verdict,
)

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  background: #fff; margin: 0 auto; max-width: 1120px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-top: 8px; border-top: 2px solid #ccc; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 12.5px; }
code.expression { display: block; white-space: pre-wrap; word-break: break-word;
  background: #f5f5f5; padding: 4px 6px; border-radius: 3px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid #d6d6d6; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td { background: #fdecea; }
.pass { color: #1e7b3c; font-weight: 600; white-space: nowrap; }
.fail { color: #b3261e; font-weight: 600; white-space: nowrap; }
.badge { font-size: 13px; padding: 2px 8px; border-radius: 10px; vertical-align: middle; }
.badge.promoted { background: #d6efd9; color: #1e5c31; }
.badge.rejected { background: #fbd9d5; color: #8c1d13; }
.verdict { padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.verdict.promoted { background: #eaf6ec; border-left: 4px solid #2e8b57; }
.verdict.rejected { background: #fdf0ee; border-left: 4px solid #c0392b; }
.verdict ul { margin: 4px 0 0; }
.headline { font-size: 18px; font-weight: 600; }
.note { color: #555; margin: 4px 0; }
.muted { color: #888; font-size: 12px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; word-break: break-all; }
figure.chart-figure { margin: 6px 0; }
svg.chart { max-width: 100%; height: auto; display: block; }
.pair { display: flex; flex-wrap: wrap; gap: 8px; }
ul.lineage { list-style: none; padding-left: 0; }
ul.lineage li { margin: 2px 0; padding-left: 8px; border-left: 2px solid #ccc; }
nav ol { margin: 4px 0; }
#data-hashes td { white-space: nowrap; }
#sign-off p { font-size: 16px; white-space: pre; margin: 24px 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  section.candidate { break-before: page; }
  figure, table, .verdict { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _spa(search: Any) -> str:
    benchmarks = get(search, "spa", "benchmark")
    if not isinstance(benchmarks, Mapping) or not benchmarks:
        return f'<p class="note" id="spa">SPA test: {NOT_COMPUTED}.</p>'
    rows = [
        [str(name).replace("_", " "), *(fmt(get(p, k), "probability") for k in _SPA_KEYS)]
        for name, p in benchmarks.items()
    ]
    table = html_table(
        ["benchmark", "p consistent", "p lower", "p upper (White)"], rows, numeric=(1, 2, 3)
    )
    note = (
        "Hansen's test of superior predictive ability: the p-value that the search's best is no "
        "better than the benchmark once every trial is accounted for (consistent p is the one "
        f"gated; small is good). {fmt(get(search, 'spa', 'n_bootstrap'), 'count')} stationary "
        f"bootstrap resamples, mean block {fmt(get(search, 'spa', 'mean_block'), 'number')}."
    )
    return f'<div id="spa"><h3>SPA p-values</h3>{table}<p class="note">{h(note)}</p></div>'


_SPA_KEYS = ("p_consistent", "p_lower", "p_upper")


def _null_model(evidence: Mapping[str, Any]) -> str:
    block = get(evidence, "search", "null_model")
    finite = [
        v for v in elements(get(block, "best_holdout_sharpes")) if finite_or_none(v) is not None
    ]
    if not isinstance(block, Mapping) or not finite:
        return (
            f'<div id="null-model"><h3>Null model</h3><p class="note">{NOT_COMPUTED}: no search '
            "was repeated on random data, so the holdout Sharpes are not compared with what "
            "luck alone finds.</p></div>"
        )
    chart = svg.histogram(
        finite,
        title="Best holdout Sharpe of searches on random data",
        x_label="holdout Sharpe",
        bins=max(5, min(20, len(finite))),
        label="null runs",
        color="#8a8a8a",
    )
    note = f"{fmt(get(block, 'n_runs'), 'count')} runs; method: {get(block, 'method') or '?'}."
    return (
        f'<div id="null-model"><h3>Null model</h3><figure class="chart-figure">{chart}</figure>'
        f'<p class="note">{h(note)}</p></div>'
    )


def _search_section(evidence: Mapping[str, Any]) -> str:
    search = get(evidence, "search")
    table = html_table(
        ["statistic", "value", "what it means"], search_statistics_rows(evidence), numeric=(1,)
    )
    logits = [v for v in elements(get(search, "pbo", "logits")) if finite_or_none(v) is not None]
    pbo_chart = svg.histogram(
        logits,
        title="PBO: logits of the in-sample best's out-of-sample rank",
        x_label="λ = ln(ω / (1 − ω)), ω = relative out-of-sample rank",
        bins=30,
        markers=[svg.Marker(0.0, "λ = 0: median")],
        spans=[svg.Span(-1e9, 0.0, "overfit region (λ ≤ 0)", "#f8dcd8")],
        label="CSCV splits",
    )
    return (
        '<section id="search"><h2>Search statistics</h2>'
        '<p class="note">How large the search was and how much luck it could have found; the '
        "DSR, PBO and SPA gates of every candidate use these inputs.</p>"
        f'{table}<div id="pbo"><figure class="chart-figure">{pbo_chart}</figure></div>'
        f"{_spa(search)}{_null_model(evidence)}</section>"
    )


def _summary_section(evidence: Mapping[str, Any]) -> str:
    rows = []
    candidates = candidates_of(evidence)
    for candidate, anchor in zip(candidates, candidate_anchors(candidates), strict=True):
        failed = ", ".join(gate_label(str(g.get("name"))) for g in failed_gates(candidate))
        promoted = get(candidate, "promoted") is True
        rows.append(
            [
                fmt(get(candidate, "rank"), "count"),
                Markup(f'<a href="#candidate-{anchor}">{h(get(candidate, "id") or anchor)}</a>'),
                Markup(f"<code>{h(get(candidate, 'pretty') or NOT_COMPUTED)}</code>"),
                Markup(
                    '<span class="pass">✓</span>' if promoted else '<span class="fail">✗</span>'
                ),
                failed or "—",
            ]
        )
    if not rows:
        return (
            '<section id="summary"><h2>Candidates</h2><p>No candidates were judged.</p></section>'
        )
    table = html_table(
        ["rank", "id", "expression", "promoted", "failed gates"], rows, table_id="summary-table"
    )
    return f'<section id="summary"><h2>Candidates</h2>{table}</section>'


def _header(evidence: Mapping[str, Any]) -> str:
    run_id = get(evidence, "run_id") or NOT_COMPUTED
    reasons = failure_reasons(evidence)
    candidates = candidates_of(evidence)
    n_promoted = sum(1 for c in candidates if get(c, "promoted") is True)
    lead = "Nothing was promoted:" if n_promoted == 0 else "Failed gates across candidates:"
    items = "".join(f"<li>{h(reason)}</li>" for reason in reasons)
    why = f'<div id="reasons"><p>{h(lead)}</p><ul>{items}</ul></div>' if reasons else ""
    links = "".join(
        f'<li><a href="#candidate-{anchor}">{h(get(c, "id") or anchor)}</a></li>'
        for c, anchor in zip(candidates, candidate_anchors(candidates), strict=True)
    )
    return (
        f'<header id="header"><h1>Promotion review — run {h(run_id)}</h1>'
        f'<p class="muted">Generated {h(get(evidence, "generated_at") or NOT_COMPUTED)} · seed '
        f"{h(get(evidence, 'seed') if get(evidence, 'seed') is not None else NOT_COMPUTED)}</p>"
        f'<p class="headline" id="verdict">{h(verdict(evidence))}</p>{why}'
        '<nav><ol><li><a href="#search">Search statistics</a></li>'
        f'<li><a href="#summary">Candidates</a><ol>{links}</ol></li>'
        '<li><a href="#evidence">Evidence</a></li><li><a href="#sign-off">Sign-off</a></li>'
        "</ol></nav></header>"
    )


def _evidence_section(evidence: Mapping[str, Any]) -> str:
    facts = [
        ("Run id", get(evidence, "run_id")),
        ("Seed", get(evidence, "seed")),
        ("Config hash", get(evidence, "config_hash")),
        ("Generated at", get(evidence, "generated_at")),
        ("Evidence schema version", get(evidence, "schema_version")),
    ]
    items = "".join(
        f'<dt>{h(k)}</dt><dd class="mono">{h(NOT_COMPUTED if v is None else v)}</dd>'
        for k, v in facts
    )
    data = objects(get(evidence, "data"))
    data_rows = [
        [
            *(
                str(d.get(k) or NOT_COMPUTED)
                for k in ("name", "symbol", "timeframe", "first", "last")
            ),
            Markup(f"<code>{h(d.get('content_hash') or NOT_COMPUTED)}</code>"),
        ]
        for d in data
    ]
    versions = get(evidence, "package_versions")
    version_rows = sorted(versions.items()) if isinstance(versions, Mapping) else []
    return (
        f'<section id="evidence"><h2>Evidence</h2><dl class="facts">{items}</dl>'
        "<h3>Data (content hashes)</h3>"
        + (
            html_table(
                ["dataset", "symbol", "timeframe", "first", "last", "content hash"],
                data_rows,
                table_id="data-hashes",
            )
            if data_rows
            else f'<p class="note">{NOT_COMPUTED}</p>'
        )
        + "<h3>Package versions</h3>"
        + (
            html_table(["package", "version"], version_rows, table_id="package-versions")
            if version_rows
            else f'<p class="note">{NOT_COMPUTED}</p>'
        )
        + "</section>"
    )


def render_html(evidence: Mapping[str, Any]) -> str:
    """Return the review report of a promotion as one self-contained HTML document.

    Parameters
    ----------
    evidence : Mapping
        The promotion evidence document (the parsed ``promotion.json``; see the issue-6 brief
        and :mod:`evolve.reports.text`). Missing or null fields render as "not computed".

    Returns
    -------
    str
        ``<!DOCTYPE html>…``: header and verdict, search statistics, candidate summary, one
        section per candidate, evidence block and sign-off line; no external references.
    """
    run_id = get(evidence, "run_id") or NOT_COMPUTED
    listed = candidates_of(evidence)
    candidates = "".join(
        candidate_section(evidence, candidate, index, anchor)
        for index, (candidate, anchor) in enumerate(
            zip(listed, candidate_anchors(listed), strict=True)
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Promotion review — {h(run_id)}</title><style>{_CSS}</style></head><body>"
        f"{_header(evidence)}{_search_section(evidence)}{_summary_section(evidence)}"
        f"{candidates}{_evidence_section(evidence)}"
        f'<section id="sign-off"><h2>Sign-off</h2><p>{h(SIGN_OFF)}</p></section>'
        "</body></html>\n"
    )
