"""matplotlib SVG charts: deterministic bytes, well-formed, titled, page-unique ids, offline."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from evolve.reports.charts import figures

DAY_MS = 86_400_000
JAN_2023_MS = 1_672_531_200_000
_SVG = "{http://www.w3.org/2000/svg}"


def _equity(key: str = "eq") -> str:
    x = [JAN_2023_MS + i * DAY_MS for i in range(400)]
    y = [1.0 + 0.001 * i + 0.02 * math.sin(i / 9) for i in range(400)]
    spans = [figures.Span(x[0], x[200], "validation"), figures.Span(x[200], x[-1], "holdout")]
    chart = figures.Chart("Equity <&> curve", key, spans=spans)
    return figures.line_chart(chart, [figures.Series("strategy", x, y)], y_label="equity")


def test_line_chart_when_rendered_twice_then_byte_identical() -> None:
    assert _equity() == _equity()


def test_line_chart_when_rendered_then_well_formed_svg_with_escaped_title_and_text() -> None:
    svg = _equity()
    root = ET.fromstring(svg)

    assert root.tag == f"{_SVG}svg" and root.find(f"{_SVG}title").text == "Equity <&> curve"  # type: ignore[union-attr]
    texts = " ".join(t.text or "" for t in root.iter(f"{_SVG}text"))
    assert "strategy" in texts and "validation" in texts and "holdout" in texts


def test_charts_when_rendered_then_no_date_no_metadata_and_nothing_external() -> None:
    svg = _equity()

    assert "<metadata" not in svg and "dc:date" not in svg and "<?xml" not in svg
    assert "DOCTYPE" not in svg and "@font-face" not in svg and "<image" not in svg
    for value in re.findall(r'(?:href|src)="([^"]*)"', svg):
        assert value.startswith("#")
    assert re.findall(r"url\(([^)]*)\)", svg) and all(
        v.startswith("#") for v in re.findall(r"url\(([^)]*)\)", svg)
    )


def test_charts_when_two_keys_then_every_id_is_prefixed_and_none_shared() -> None:
    first, second = _equity("a"), _equity("b")
    ids_a, ids_b = re.findall(r'\bid="([^"]+)"', first), re.findall(r'\bid="([^"]+)"', second)

    assert ids_a and all(i.startswith("a-") for i in ids_a)
    assert not set(ids_a) & set(ids_b)
    for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', first):
        assert "".join(ref) in ids_a


def test_histogram_and_bars_when_values_then_drawn_and_nan_left_out() -> None:
    chart = figures.Chart("h", "h")
    svg = figures.histogram(chart, [1.0, 2.0, 2.5, math.nan], bins=3, x_label="x", label="runs")
    assert "runs (3)" in svg
    bars = figures.bar_chart(
        figures.Chart("b", "b"), ["a", "b", "c"], [0.1, -0.2, math.nan], y_percent=True
    )
    ET.fromstring(bars)


def test_charts_when_no_finite_value_then_a_frame_says_so() -> None:
    chart = figures.Chart("empty", "e")

    assert "no finite values to draw" in figures.histogram(
        chart, [math.nan], bins=3, x_label="", label=""
    )
    assert "no finite values to draw" in figures.line_chart(
        chart, [figures.Series("s", [1.0], [math.inf])]
    )


def test_bar_chart_when_lengths_differ_then_value_error_names_the_chart() -> None:
    with pytest.raises(ValueError, match=r"'monthly'.*2 labels and 1 values"):
        figures.bar_chart(figures.Chart("monthly", "m"), ["a", "b"], [1.0], y_percent=False)
