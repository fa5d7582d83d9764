"""promotion.md: short, the HTML report's numbers, tables that survive hostile text."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from evolve.promotion.document import PromotionDocument
from evolve.reports import markdown as md
from evolve.reports.markdown import md_cell, md_code, md_text
from tests.unit.evolve.promotion.evidence_fixture import (
    PROMOTED_ID,
    REJECTED_ID,
    make_evidence,
    make_member_promoted_evidence,
    make_rejecting_evidence,
)


def render_markdown(evidence: dict[str, Any]) -> str:
    return md.render_markdown(PromotionDocument.model_validate(evidence))


@pytest.fixture(scope="module")
def markdown() -> str:
    return render_markdown(make_evidence())


def test_render_markdown_when_fixture_then_sections_in_order_and_short(markdown: str) -> None:
    headings = [line for line in markdown.splitlines() if line.startswith("#")]

    assert headings[0].startswith("# Promotion review")
    assert [h.split(" (")[0] for h in headings[1:]] == [
        "## Against the baselines, over the same holdout",
        "## Candidates",
        f"## Promoted {PROMOTED_ID}",
        "## Search statistics",
        "## Evidence",
        "## Sign-off",
    ]
    assert len(markdown.splitlines()) < 80


def test_render_markdown_when_fixture_then_tables_have_consistent_columns(markdown: str) -> None:
    for block in re.findall(r"(?:^\|.*\|\n)+", markdown, flags=re.M):
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in block.strip().splitlines()}
        assert len(widths) == 1, block


def test_render_markdown_when_fixture_then_same_numbers_as_the_html(markdown: str) -> None:
    assert f"1 of 2 candidates promoted: {PROMOTED_ID}" in markdown
    assert "DSR 0.620 (needs ≥ 0.950)" in markdown and REJECTED_ID in markdown
    assert "buy and hold" in markdown and "funding carry" in markdown


def test_render_markdown_when_rendered_twice_or_after_json_round_trip_then_identical(
    markdown: str,
) -> None:
    assert render_markdown(make_evidence()) == markdown
    assert render_markdown(json.loads(json.dumps(make_evidence()))) == markdown


def test_render_markdown_when_id_has_pipes_and_markup_then_table_survives() -> None:
    evidence = make_evidence()
    evidence["candidates"][1]["gates"][0]["detail"] = "a | b <script>"

    text = render_markdown(evidence)

    assert "<script>" not in text
    test_render_markdown_when_fixture_then_tables_have_consistent_columns(text)


def test_render_markdown_when_nothing_promoted_then_reasons_and_best_rejection_lead() -> None:
    text = render_markdown(make_rejecting_evidence())

    assert "Nothing was promoted:" in text and "- PBO failed for 2 of 2 candidates" in text
    assert "## Why the best ranked" in text and "PBO 0.470 > 0.200" in text


def test_md_helpers_when_text_is_hostile_then_escaped() -> None:
    assert md_text("a\nb  c") == "a b c"
    assert md_text("x <div> & y &amp;") == "x &lt;div> & y &amp;amp;"
    assert md_text("2 < 3") == "2 < 3"
    assert md_cell("a|b") == "a\\|b"
    assert md_code("x`y") == "``x`y``"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", in_table=True) == "`a\\|b`"


def test_render_markdown_when_a_member_beat_its_representative_then_both_verdicts_shown() -> None:
    text = render_markdown(make_member_promoted_evidence())
    section = text.split("## Candidates")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if PROMOTED_ID in line]

    assert len(rows) == 1 and REJECTED_ID not in section.replace(rows[0], "")
    assert "| ✓ |" in rows[0] and f"(representative {REJECTED_ID} ✗ " in rows[0]
