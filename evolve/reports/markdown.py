"""The promotion review as Markdown (promotion.md): short enough for a ticket, the same numbers.

Verdict and failure counts, the baselines over the holdout, one row per cluster with the
numbers that decided, why the best candidate was rejected (or which were promoted), the search
statistics, the evidence hashes and the sign-off line; details and charts are in report.html.
GitHub-flavoured tables; every cell is escaped, so ``|``, ``<`` or backticks stay intact.
"""

from __future__ import annotations

import re
from typing import Any

from evolve.promotion.document import PromotionDocument
from evolve.reports.baselines import baselines, candidate_line, daily_max_drawdown
from evolve.reports.clusters import Cluster, clusters_of
from evolve.reports.gates import failed_gates, failure_reasons, gate_cell, gate_explanation, verdict
from evolve.reports.text import SIGN_OFF, fmt, get, probability, search_statistics_rows

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?\w+;)")


def md_text(value: Any) -> str:
    """Return ``value`` as one line of Markdown: no line breaks, raw HTML tags or entities."""
    text = _ENTITY.sub("&amp;", " ".join(str(value).split()))
    return _TAG_START.sub("&lt;", text)


def md_cell(value: Any) -> str:
    """Return ``value`` escaped for a table cell (``|`` would end the cell)."""
    return md_text(value).replace("\\", "\\\\").replace("|", "\\|")


def md_code(value: Any, *, in_table: bool = False) -> str:
    """Return ``value`` as an inline code span, fenced with more backticks than it contains."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    code = f"{fence}{padded}{fence}"
    # GFM splits table cells on | even inside code spans; \| renders as | there
    return code.replace("|", "\\|") if in_table else code


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _header(document: PromotionDocument) -> list[str]:
    extra = document.model_dump()
    stamp = " · ".join(
        part
        for part in (
            f"Generated {md_text(extra['generated_at'])}" if extra.get("generated_at") else "",
            f"seed {md_text(extra['seed'])}" if extra.get("seed") is not None else "",
            "figures and details in [report.html](report.html)",
        )
        if part
    )
    promoted = [c.id for c in document.candidates if c.promoted]
    head = verdict(document) + (f": {', '.join(promoted)}" if promoted else "")
    lines = [
        f"# Promotion review — run {md_text(document.run_id)}",
        "",
        stamp,
        "",
        f"**{md_text(head)}.**",
        "",
    ]
    reasons = failure_reasons(document)
    if reasons:
        lines += ["Failed gates across candidates:" if promoted else "Nothing was promoted:", ""]
        lines += [f"- {md_text(reason)}" for reason in reasons] + [""]
    return lines


def _baselines(document: PromotionDocument, clusters: list[Cluster]) -> list[str]:
    lines, missing = baselines(document)
    chosen = [c for c in document.candidates if c.promoted] or [
        c.representative for c in clusters[:1]
    ]
    rows = []
    for candidate in chosen:
        line = candidate_line(document, candidate)
        if line is not None:
            state = "promoted" if candidate.promoted else "best ranked, rejected"
            rows.append([md_cell(f"{candidate.id} ({state})"), *_line_cells(line)])
    rows += [[md_cell(line.name), *_line_cells(line)] for line in lines]
    out = ["## Against the baselines, over the same holdout", ""]
    if rows:
        out += _table(["over the holdout", "return", "Sharpe (ann.)", "max drawdown", "days"], rows)
    if missing:
        out += [f"Not shown: {md_text('; '.join(missing))}.", ""]
    return out


def _line_cells(line: Any) -> list[str]:
    return [
        fmt(line.holdout_return, "signed_percent"),
        fmt(line.holdout_sharpe, "ratio"),
        fmt(line.max_drawdown, "percent"),
        fmt(line.n_days, "count"),
    ]


def _summary(document: PromotionDocument, clusters: list[Cluster]) -> list[str]:
    if not clusters:
        return ["## Candidates", "", "No candidates were judged.", ""]
    rows = []
    for cluster in clusters:
        c = cluster.shown
        extra = c.model_dump()
        stage = extra.get("stage")
        dsr = get(stage, "selection", "dsr") if stage else get(extra, "statistics", "dsr")
        psr = get(stage, "confirmation", "psr") if stage else get(extra, "statistics", "psr")
        similar = f" +{len(cluster.others)}" if cluster.others else ""
        representative = cluster.representative
        if representative is not c:
            failed = ", ".join(g.name for g in failed_gates(representative)) or "—"
            similar += md_cell(f" (representative {representative.id} ✗ {failed})")
        rows.append(
            [
                fmt(c.rank, "count"),
                md_code(c.id, in_table=True) + similar,
                "✓" if c.promoted else "✗",
                probability(dsr),
                probability(psr),
                fmt(get(extra, "statistics", "holdout_annual_sharpe"), "ratio"),
                fmt(get(extra, "statistics", "n_holdout_trades"), "count"),
                fmt(daily_max_drawdown(document, c), "percent"),
                md_cell("; ".join(gate_cell(g) for g in failed_gates(c)) or "—"),
            ]
        )
    headers = ["rank", "candidate", "promoted", "DSR", "holdout PSR", "holdout Sharpe (ann.)",
               "trades", "max DD (daily)", "failed gates"]  # fmt: skip
    return ["## Candidates (one row per cluster)", "", *_table(headers, rows)]


def _promoted(document: PromotionDocument) -> list[str]:
    lines: list[str] = []
    for c in document.candidates:
        if c.promoted:
            extra = c.model_dump()
            lines += [
                f"## Promoted {md_text(c.id)}",
                "",
                f"{md_code(extra.get('pretty') or c.id)} · spec "
                f"{md_code(extra.get('spec_path') or 'none')}",
                "",
            ]
    best = next((c for c in document.candidates if not c.promoted), None)
    if best is not None and not lines:
        lines += [f"## Why the best ranked ({md_text(best.id)}) was rejected", ""]
        lines += [f"- {md_text(gate_explanation(g, document, best))}" for g in failed_gates(best)]
        lines.append("")
    return lines


def _search(document: PromotionDocument) -> list[str]:
    rows = [
        [md_cell(name), md_cell(value)]
        for name, value, _ in search_statistics_rows({"search": document.search})
        if value != "not computed"
    ]
    return ["## Search statistics", "", *_table(["statistic", "value"], rows)]


def _evidence(document: PromotionDocument) -> list[str]:
    extra = document.model_dump()
    lines = ["## Evidence", ""]
    for name, value in (("Run id", document.run_id), ("Config hash", extra.get("config_hash"))):
        if value is not None:
            lines.append(f"- {name}: {md_code(value)}")
    for dataset in extra.get("data") or []:
        if isinstance(dataset, dict):
            lines.append(
                f"- Data {md_text(dataset.get('name') or '?')}: "
                f"{md_code(dataset.get('content_hash') or '?')}"
            )
    return [*lines, ""]


def render_markdown(document: PromotionDocument) -> str:
    """Return promotion.md: the verdict, baselines and the cluster table, short and in Markdown.

    The numbers are the HTML report's (same formatters); the details live in report.html.
    """
    clusters = clusters_of(document)
    lines = (
        _header(document)
        + _baselines(document, clusters)
        + _summary(document, clusters)
        + _promoted(document)
        + _search(document)
        + _evidence(document)
        + ["## Sign-off", "", SIGN_OFF, ""]
    )
    return "\n".join(lines)
