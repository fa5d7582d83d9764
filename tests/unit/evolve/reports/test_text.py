"""Report text: number formats, "not computed", gate explanations, verdicts, HTML fragments."""

from __future__ import annotations

import math

import pytest

from evolve.numbers import finite_or_none
from evolve.reports.text import (
    NOT_COMPUTED,
    Markup,
    failed_gates,
    failure_reasons,
    fmt,
    fmt_metric,
    gate_explanation,
    gate_values,
    get,
    h,
    html_table,
    slug,
    verdict,
)
from tests.unit.evolve.promotion.evidence_fixture import (
    REJECTED_ID,
    make_evidence,
    make_rejecting_evidence,
)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (0.1234, "percent", "12.3%"),
        (0.1234, "signed_percent", "+12.3%"),
        (-0.05, "signed_percent", "-5.0%"),
        (-0.00001, "percent", "0.0%"),
        (18234, "count", "18,234"),
        (140.25, "count", "140.2"),
        (0.97123, "probability", "0.971"),
        (1.2345, "ratio", "1.23"),
        (-0.0001, "ratio", "0.00"),
        (0.14234, "sharpe", "0.142"),
        (0.0031, "number", "0.0031"),
        (123456.0, "number", "1.235e+05"),
    ],
)
def test_fmt_when_kinds_differ_then_units_and_precision_follow(
    value: float, kind: str, expected: str
) -> None:
    assert fmt(value, kind) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, True, "0.5", [1], {}])
def test_fmt_when_missing_or_not_a_finite_number_then_not_computed(value: object) -> None:
    assert fmt(value, "probability") == NOT_COMPUTED
    assert finite_or_none(value) is None


def test_fmt_metric_when_named_then_kind_follows_the_name() -> None:
    assert fmt_metric("max_drawdown", 0.213) == "21.3%"
    assert fmt_metric("total_return", 0.05) == "+5.0%"
    assert fmt_metric("n_trades", 1234) == "1,234"
    assert fmt_metric("sharpe", 1.234) == "1.23"
    assert fmt_metric("symbol", "BTCUSDT") == "BTCUSDT"


def test_get_when_path_exists_or_not_then_value_or_none() -> None:
    document = {"a": {"b": [{"c": 1}, None]}, "s": "text"}

    assert get(document, "a", "b", 0, "c") == 1
    assert get(document, "a", "b", 1, "c") is None
    assert get(document, "a", "b", 5) is None
    assert get(document, "a", "x", "c") is None
    assert get(document, "s", 0) is None
    assert get(None, "a") is None


def test_gate_explanation_when_dsr_fails_then_value_threshold_and_effective_trials() -> None:
    evidence = make_evidence()
    rejected = evidence["candidates"][1]
    gate = next(g for g in rejected["gates"] if g["name"] == "dsr")

    text = gate_explanation(gate, evidence, rejected)

    assert text == (
        "DSR 0.62 < 0.95: the holdout Sharpe is not significant once 412 effective trials are "
        "counted (SR0 0.142 per day, V[SR] 0.0031)"
    )


def test_gate_explanation_when_maximum_gate_fails_then_greater_than_and_percentages() -> None:
    evidence = make_evidence()
    rejected = evidence["candidates"][1]
    gate = next(g for g in rejected["gates"] if g["name"] == "concentration")

    assert gate_explanation(gate, evidence, rejected) == (
        "Largest month or regime share of P&L 62.0% > 50.0%: the profit depends on one month "
        "or regime (2025-08)"
    )


def test_gate_explanation_when_value_missing_then_not_computed_with_the_condition() -> None:
    gate = {"name": "stability", "value": None, "threshold": 0.7, "comparison": ">="}

    text = gate_explanation(gate, make_evidence(), {})

    assert text.startswith("Perturbation stability not computed (needs ≥ 0.70): ")


def test_gate_explanation_when_unknown_gate_then_detail_is_the_reason() -> None:
    gate = {
        "name": "max_leverage",
        "value": 3.5,
        "threshold": 2.0,
        "comparison": "<=",
        "detail": "peak gross leverage",
    }

    assert gate_explanation(gate, {}, {}) == "max leverage 3.5 > 2: peak gross leverage"


def test_gate_values_when_rounding_would_mislead_then_more_digits() -> None:
    assert gate_values({"name": "psr", "value": 0.9993, "threshold": 0.95}) == ("0.999", "0.950")
    assert gate_values({"name": "dsr", "value": 0.948, "threshold": 0.95}) == ("0.948", "0.950")
    assert gate_values({"name": "dsr", "value": 0.62, "threshold": 0.95}) == ("0.62", "0.95")
    assert gate_values({"name": "drawdown", "value": 0.3004, "threshold": 0.3}) == (
        "30.04%",
        "30.00%",
    )


def test_failed_gates_when_failed_lists_a_gate_without_entry_then_it_is_added() -> None:
    candidate = {
        "gates": [{"name": "dsr", "passed": False}, {"name": "psr", "passed": True}],
        "failed": ["dsr", "pbo"],
    }

    assert [g["name"] for g in failed_gates(candidate)] == ["dsr", "pbo"]


def test_verdict_and_reasons_when_fixture_then_counts_per_gate() -> None:
    evidence = make_evidence()

    assert verdict(evidence) == "1 of 2 candidates promoted"
    assert "DSR failed for 1 of 2 candidates" in failure_reasons(evidence)


def test_failure_reasons_when_nothing_promoted_then_most_frequent_first() -> None:
    reasons = failure_reasons(make_rejecting_evidence())

    assert reasons[0] == "PBO failed for 2 of 2 candidates"


def test_failure_reasons_when_summary_missing_then_counted_from_candidates() -> None:
    evidence = make_evidence()
    del evidence["summary"]

    assert "PSR at stressed costs failed for 1 of 2 candidates" in failure_reasons(evidence)


def test_slug_when_id_has_markup_then_only_safe_characters() -> None:
    assert slug(REJECTED_ID) == REJECTED_ID
    assert slug('a"><b>&c d') == "a---b--c-d"
    assert slug("") == "x"


def test_html_table_when_cells_contain_markup_then_text_escaped_and_markup_kept() -> None:
    table = html_table(["h<1>"], [["a < b & c"], [Markup("<b>bold</b>")]], numeric=(0,))

    assert "h&lt;1&gt;" in table and "a &lt; b &amp; c" in table and "<b>bold</b>" in table
    assert h(Markup("<i>")) == "<i>" and h("<i>") == "&lt;i&gt;"
