"""promotion.md: the review as Markdown tables, escaped, deterministic, explaining rejections."""

from __future__ import annotations

import json
import re

import pytest

from evolve.reports.markdown import md_cell, md_code, md_text, render_markdown
from tests.unit.evolve.promotion.evidence_fixture import (
    PROMOTED_ID,
    REJECTED_ID,
    make_evidence,
    make_rejecting_evidence,
)


@pytest.fixture(scope="module")
def markdown() -> str:
    return render_markdown(make_evidence())


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def _tables(text: str) -> list[list[str]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_render_markdown_when_fixture_then_every_section_in_order(markdown: str) -> None:
    headings = [line for line in markdown.splitlines() if line.startswith("#")]

    assert headings == [
        "# Promotion review — run 20261123-201455-s42-ab12",
        "## Search statistics",
        "## Candidates",
        f"## #1 · {PROMOTED_ID} — promoted",
        f"## #2 · {REJECTED_ID} — rejected",
        "## Evidence",
        "## Sign-off",
    ]
    assert "**1 of 2 candidates promoted.**" in markdown
    assert "[report.html](report.html)" in markdown
    assert markdown.endswith("Reviewed by: ________  Date: ________  Decision: ________\n")


def test_render_markdown_when_fixture_then_tables_have_consistent_columns(markdown: str) -> None:
    tables = _tables(markdown)

    assert len(tables) == 5  # search, candidates, two gate tables, data hashes
    for table in tables:
        assert re.fullmatch(r"\|(---\|)+", table[1])
        assert len({_unescaped_pipes(row) for row in table}) == 1


def test_render_markdown_when_candidate_rejected_then_failed_gates_explained(
    markdown: str,
) -> None:
    rejected = markdown.split(f"## #2 · {REJECTED_ID}")[1]

    assert "**Rejected** by 3 gates:" in rejected
    assert (
        "- DSR 0.62 < 0.95: the holdout Sharpe is not significant once 412 effective trials are "
        "counted (SR0 0.142 per day, V[SR] 0.0031)"
    ) in rejected
    assert "| DSR | 0.62 | ≥ | 0.95 | ✗ fail |" in rejected
    assert rejected.count("✗ fail") == 3


def test_render_markdown_when_fields_missing_then_not_computed(markdown: str) -> None:
    rejected = markdown.split(f"## #2 · {REJECTED_ID}")[1].split("## Evidence")[0]

    assert "(MinTRL not computed)" in rejected
    assert "| Null model | not computed |" in markdown


def test_render_markdown_when_fixture_then_evidence_lists_hashes_and_versions(
    markdown: str,
) -> None:
    evidence = make_evidence()

    assert f"- Config hash: `{evidence['config_hash']}`" in markdown
    for dataset in evidence["data"]:
        assert f"`{dataset['content_hash']}`" in markdown
    assert "Package versions: deap 1.4.1, evolve 0.1.0," in markdown


def test_render_markdown_when_rendered_twice_or_after_json_round_trip_then_identical(
    markdown: str,
) -> None:
    assert render_markdown(make_evidence()) == markdown
    assert render_markdown(json.loads(json.dumps(make_evidence()))) == markdown


def test_render_markdown_when_expression_has_pipes_and_markup_then_table_survives() -> None:
    evidence = make_evidence()
    evidence["candidates"][1]["pretty"] = "a | b < c & `d` <script>"
    evidence["candidates"][1]["gates"][0]["detail"] = "x | y\nz <b>bold</b>"

    text = render_markdown(evidence)

    for table in _tables(text):
        assert len({_unescaped_pipes(row) for row in table}) == 1
    # inside code spans markup is literal text; everywhere else it must be escaped
    prose = re.sub(r"(`+).*?\1", "", text)
    assert "<script>" not in prose and "<b>" not in prose and "&lt;b>bold" in prose
    assert "``a \\| b < c & `d` <script>``" in text  # in the summary table
    assert "Pretty: ``a | b < c & `d` <script>``" in text  # outside tables, verbatim code


def test_render_markdown_when_nothing_promoted_then_reasons_lead() -> None:
    text = render_markdown(make_rejecting_evidence())

    assert "**0 of 2 candidates promoted.**" in text
    assert "Nothing was promoted:\n\n- PBO failed for 2 of 2 candidates" in text


def test_render_markdown_when_evidence_empty_then_complete_with_not_computed() -> None:
    text = render_markdown({})

    assert "**0 of 0 candidates promoted.**" in text
    assert "No candidates were judged." in text
    assert "- Config hash: `not computed`" in text
    assert text.endswith("Decision: ________\n")


def test_md_helpers_when_text_is_hostile_then_escaped() -> None:
    assert md_text("a\nb  c") == "a b c"
    assert md_text("x <div> & y &amp;") == "x &lt;div> & y &amp;amp;"
    assert md_text("2 < 3") == "2 < 3"
    assert md_cell("a|b") == "a\\|b"
    assert md_code("x`y") == "``x`y``"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", in_table=True) == "`a\\|b`"
