"""The promotion review as Markdown (promotion.md): tables only, short enough for a ticket.

The same content as the HTML report without charts (it links to report.html for them):
header and verdict, search statistics, candidate summary, per candidate the failed-gate
explanations and gate table, the evidence block and the sign-off line. GitHub-flavoured
tables; every cell is escaped, so expressions with ``|``, ``<`` or backticks stay intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evolve.reports.text import (
    NOT_COMPUTED,
    SIGN_OFF,
    candidates_of,
    comparison_symbol,
    failed_gates,
    failure_reasons,
    fmt,
    gate_explanation,
    gate_label,
    gate_values,
    get,
    objects,
    search_statistics_rows,
    verdict,
)

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


def _header(evidence: Mapping[str, Any]) -> list[str]:
    seed = get(evidence, "seed")
    lines = [
        f"# Promotion review — run {md_text(get(evidence, 'run_id') or NOT_COMPUTED)}",
        "",
        f"Generated {md_text(get(evidence, 'generated_at') or NOT_COMPUTED)} · seed "
        f"{md_text(NOT_COMPUTED if seed is None else seed)} · figures in "
        "[report.html](report.html)",
        "",
        f"**{verdict(evidence)}.**",
        "",
    ]
    reasons = failure_reasons(evidence)
    if reasons:
        promoted = any(get(c, "promoted") is True for c in candidates_of(evidence))
        lines += ["Failed gates across candidates:" if promoted else "Nothing was promoted:", ""]
        lines += [f"- {md_text(reason)}" for reason in reasons] + [""]
    return lines


def _search(evidence: Mapping[str, Any]) -> list[str]:
    search = get(evidence, "search")
    rows = [[md_cell(name), md_cell(value)] for name, value, _ in search_statistics_rows(evidence)]
    benchmarks = get(search, "spa", "benchmark")
    for name, block in benchmarks.items() if isinstance(benchmarks, Mapping) else []:
        p_value = fmt(get(block, "p_consistent"), "probability")
        rows.append([md_cell(f"SPA p consistent vs {str(name).replace('_', ' ')}"), p_value])
    if not isinstance(benchmarks, Mapping):
        rows.append(["SPA p-values", NOT_COMPUTED])
    null_model = get(search, "null_model")
    runs = get(null_model, "best_holdout_sharpes")
    null_text = (
        f"{fmt(get(null_model, 'n_runs'), 'count')} runs, best holdout Sharpes "
        + ", ".join(fmt(v, "ratio") for v in runs)
        if isinstance(runs, list) and runs
        else NOT_COMPUTED
    )
    rows.append(["Null model", md_cell(null_text)])
    return ["## Search statistics", "", *_table(["statistic", "value"], rows)]


def _summary(evidence: Mapping[str, Any]) -> list[str]:
    rows = []
    for candidate in candidates_of(evidence):
        failed = ", ".join(gate_label(str(g.get("name"))) for g in failed_gates(candidate))
        rows.append(
            [
                fmt(get(candidate, "rank"), "count"),
                md_code(get(candidate, "id") or NOT_COMPUTED, in_table=True),
                md_code(get(candidate, "pretty") or NOT_COMPUTED, in_table=True),
                "✓" if get(candidate, "promoted") is True else "✗",
                md_cell(failed or "—"),
            ]
        )
    if not rows:
        return ["## Candidates", "", "No candidates were judged.", ""]
    headers = ["rank", "id", "expression", "promoted", "failed gates"]
    return ["## Candidates", "", *_table(headers, rows)]


def _candidate(evidence: Mapping[str, Any], candidate: Mapping[str, Any], index: int) -> list[str]:
    promoted = get(candidate, "promoted") is True
    rank = fmt(get(candidate, "rank"), "count")
    title = f"#{index + 1 if rank == NOT_COMPUTED else rank} · {get(candidate, 'id') or 'no id'}"
    lines = [
        f"## {md_text(title)} — {'promoted' if promoted else 'rejected'}",
        "",
        f"Pretty: {md_code(get(candidate, 'pretty') or NOT_COMPUTED)}",
        "",
        f"Canonical: {md_code(get(candidate, 'expression') or NOT_COMPUTED)}",
        "",
    ]
    if promoted:
        spec = get(candidate, "spec_path")
        lines += [f"**Promoted**: every gate passed; spec {md_code(spec or NOT_COMPUTED)}.", ""]
    else:
        failed = failed_gates(candidate)
        lines += [f"**Rejected** by {len(failed)} gate{'s' if len(failed) != 1 else ''}:", ""]
        lines += [f"- {md_text(gate_explanation(g, evidence, candidate))}" for g in failed]
        lines.append("")
    rows = []
    for gate in objects(get(candidate, "gates")):
        value, threshold = gate_values(gate)
        rows.append(
            [
                md_cell(gate_label(str(gate.get("name", "")))),
                md_cell(value),
                comparison_symbol(gate),
                md_cell(threshold),
                "✓ pass" if gate.get("passed") is True else "✗ fail",
                md_cell(gate.get("detail") or ""),
            ]
        )
    headers = ["gate", "value", "pass if", "threshold", "result", "detail"]
    lines += _table(headers, rows) if rows else [f"Gates: {NOT_COMPUTED}.", ""]
    stats = get(candidate, "statistics")
    lines += [
        f"Holdout Sharpe per {md_text(get(evidence, 'search', 'periods') or 'period')} "
        f"{fmt(get(stats, 'holdout_daily_sharpe'), 'sharpe')} over "
        f"{fmt(get(stats, 'n_days'), 'count')} observations · PSR "
        f"{fmt(get(stats, 'psr'), 'probability')} · DSR {fmt(get(stats, 'dsr'), 'probability')}"
        f" (SR0 {fmt(get(stats, 'sr0'), 'sharpe')}) · holdout trades "
        f"{fmt(get(stats, 'n_holdout_trades'), 'count')} (MinTRL "
        f"{fmt(get(stats, 'min_trl_trades'), 'count')}) · 95th-percentile drawdown "
        f"{fmt(get(stats, 'bootstrap_drawdown_p95'), 'percent')}",
        "",
    ]
    return lines


def _evidence(evidence: Mapping[str, Any]) -> list[str]:
    lines = ["## Evidence", ""]
    for name, key in (
        ("Run id", "run_id"),
        ("Seed", "seed"),
        ("Config hash", "config_hash"),
        ("Generated at", "generated_at"),
    ):
        value = get(evidence, key)
        lines.append(f"- {name}: {md_code(NOT_COMPUTED if value is None else value)}")
    lines.append("")
    data = objects(get(evidence, "data"))
    rows = [
        [
            *(md_cell(d.get(k) or NOT_COMPUTED) for k in ("name", "timeframe", "first", "last")),
            md_code(d.get("content_hash") or NOT_COMPUTED, in_table=True),
        ]
        for d in data
    ]
    headers = ["dataset", "timeframe", "first", "last", "content hash"]
    lines += _table(headers, rows) if rows else [f"Data: {NOT_COMPUTED}.", ""]
    versions = get(evidence, "package_versions")
    if isinstance(versions, Mapping) and versions:
        listed = ", ".join(f"{md_text(k)} {md_text(v)}" for k, v in sorted(versions.items()))
        lines += [f"Package versions: {listed}.", ""]
    else:
        lines += [f"Package versions: {NOT_COMPUTED}.", ""]
    return lines


def render_markdown(evidence: Mapping[str, Any]) -> str:
    """Return promotion.md: the review report as Markdown tables, without charts.

    Parameters
    ----------
    evidence : Mapping
        The promotion evidence document (parsed ``promotion.json``); missing or null fields
        render as "not computed".

    Returns
    -------
    str
        Markdown text ending in a newline; deterministic for identical evidence.
    """
    lines = _header(evidence) + _search(evidence) + _summary(evidence)
    for index, candidate in enumerate(candidates_of(evidence)):
        lines += _candidate(evidence, candidate, index)
    lines += _evidence(evidence)
    lines += ["## Sign-off", "", SIGN_OFF, ""]
    return "\n".join(lines)
