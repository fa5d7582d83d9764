"""Report text: number formats, "not computed", gate explanations, verdicts, HTML fragments."""

from __future__ import annotations

import math

import pytest

from evolve.reports.text import (
    NOT_COMPUTED,
    finite_or_none,
    fmt,
    fmt_metric,
    get,
    probability,
    search_statistics_rows,
    slug,
)
from tests.unit.evolve.promotion.evidence_fixture import REJECTED_ID, stitched_block


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


def test_slug_when_id_has_markup_then_only_safe_characters() -> None:
    assert slug(REJECTED_ID) == REJECTED_ID
    assert slug('a"><b>&c d') == "a---b--c-d"
    assert slug("") == "x"


def test_probability_when_it_rounds_to_zero_or_one_then_bounded_with_three_decimals() -> None:
    assert probability(3.12e-07) == "< 0.001" and probability(0.9999997) == "> 0.999"
    assert probability(0.138) == "0.138" and probability(1.0) == "1.000"
    assert probability(None) == NOT_COMPUTED


def test_search_statistics_rows_when_stitched_block_then_its_sr0_and_observed_best() -> None:
    search = {
        "periods": "day",
        "selection_sample": "stitched",
        "sharpe_variance": 0.004,
        "sharpe_variance_method": "estimation",
        "stitched": stitched_block(),
    }

    rows = {row[0]: row[1:] for row in search_statistics_rows({"search": search})}

    assert rows["SR0 (per day, discovery+validation)"][0] == "0.190"
    assert "291 days" in rows["SR0 (per day, discovery+validation)"][1]
    assert rows["Best leader's Sharpe (per day, observed)"][0] == "0.170"
    assert "zero-skill" in rows["V[SR] (per day, validation)"][1]
    assert "benchmark of the selection-stage DSR" in rows["SR0 (per day, discovery+validation)"][1]
    assert "reported, not gated" in rows["SR0 (per day, validation)"][1]
    assert search_statistics_rows({"search": {"periods": "day"}})[0][0] == "Trials N"
    validation = search | {"selection_sample": "validation"}
    rows = {row[0]: row[1:] for row in search_statistics_rows({"search": validation})}
    assert "reported, not gated" in rows["SR0 (per day, discovery+validation)"][1]
    assert "benchmark of the selection-stage DSR" in rows["SR0 (per day, validation)"][1]
