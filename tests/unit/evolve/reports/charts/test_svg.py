"""SVG charts: nice ticks, UTC date ticks, min/max downsampling, well-formed stable output."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evolve.reports.charts import svg

DAY_MS = 86_400_000
JAN_2023_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def _path_points(path_d: str) -> int:
    return len(re.findall(r"[ML]", path_d))


def _max_drawdown(values: list[float]) -> float:
    peak, worst = -math.inf, 0.0
    for value in values:
        peak = max(peak, value)
        worst = max(worst, 1.0 - value / peak)
    return worst


# --- nice_ticks ---------------------------------------------------------------------------


def test_nice_ticks_when_unit_range_then_fifths() -> None:
    assert svg.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_nice_ticks_when_range_straddles_zero_then_widened_to_multiples_of_five() -> None:
    # span 10.3 -> nice 20; 20 / 5 = 4 -> step 5; floor(-3/5)*5 = -5, ceil(7.3/5)*5 = 10
    assert svg.nice_ticks(-3.0, 7.3) == [-5.0, 0.0, 5.0, 10.0]


def test_nice_ticks_when_constant_then_widened_around_the_value() -> None:
    assert svg.nice_ticks(1.0, 1.0) == [0.9, 0.95, 1.0, 1.05, 1.1]
    assert svg.nice_ticks(0.0, 0.0) == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_nice_ticks_when_bound_is_nan_or_infinite_then_no_ticks() -> None:
    assert svg.nice_ticks(math.nan, 1.0) == []
    assert svg.nice_ticks(0.0, math.inf) == []


@settings(max_examples=60)
@given(
    low=st.floats(-1e9, 1e9, allow_nan=False),
    width=st.floats(1e-6, 1e9, allow_nan=False),
)
def test_nice_ticks_when_any_finite_range_then_evenly_spaced_nice_steps_cover_it(
    low: float, width: float
) -> None:
    assume(width >= abs(low) * 1e-6)  # charts never resolve finer than a millionth
    high = low + width

    ticks = svg.nice_ticks(low, high)

    assert ticks[0] <= low and ticks[-1] >= high
    assert 2 <= len(ticks) <= 8
    step = ticks[1] - ticks[0]
    mantissa = step / 10.0 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1.0, 2.0, 5.0, 10.0)) < 1e-6
    assert all(abs((b - a) - step) <= 1e-6 * step for a, b in itertools.pairwise(ticks))


def test_format_tick_when_steps_differ_then_decimals_follow_the_step() -> None:
    assert svg.format_tick(0.25, 0.05) == "0.25"
    assert svg.format_tick(1500.0, 500.0) == "1,500"
    assert svg.format_tick(-0.0, 0.1) == "0.0"
    assert svg.format_tick(0.05, 0.05, percent=True) == "5%"
    assert svg.format_tick(2.0, 0.5, suffix="×") == "2.0×"


# --- time_ticks ---------------------------------------------------------------------------


def test_time_ticks_when_three_years_then_half_years_labelled_by_month() -> None:
    stop = JAN_2023_MS + 1_095 * DAY_MS  # 2025-12-31

    ticks = svg.time_ticks(JAN_2023_MS, stop, max_ticks=6)

    assert [label for _, label in ticks] == [
        "2023-01",
        "2023-07",
        "2024-01",
        "2024-07",
        "2025-01",
        "2025-07",
    ]
    assert ticks[0][0] == JAN_2023_MS
    assert ticks[2][0] == 1_704_067_200_000  # 2024-01-01T00:00:00Z


def test_time_ticks_when_four_days_then_midnights_utc() -> None:
    ticks = svg.time_ticks(JAN_2023_MS + 3_600_000, JAN_2023_MS + 4 * DAY_MS, max_ticks=6)

    assert [label for _, label in ticks] == ["2023-01-02", "2023-01-03", "2023-01-04", "2023-01-05"]


def test_time_ticks_when_ten_hours_then_two_hour_steps_with_times() -> None:
    ticks = svg.time_ticks(JAN_2023_MS, JAN_2023_MS + 10 * 3_600_000, max_ticks=6)

    assert [label for _, label in ticks] == [
        "01-01 00:00",
        "01-01 02:00",
        "01-01 04:00",
        "01-01 06:00",
        "01-01 08:00",
        "01-01 10:00",
    ]


def test_time_ticks_when_decades_then_years_and_never_too_many() -> None:
    ticks = svg.time_ticks(0.0, 40 * 365 * DAY_MS, max_ticks=5)

    assert 1 <= len(ticks) <= 5
    assert all(re.fullmatch(r"\d{4}", label) for _, label in ticks)


def test_time_ticks_when_reversed_or_nan_then_empty() -> None:
    assert svg.time_ticks(10.0, 0.0) == []
    assert svg.time_ticks(math.nan, 0.0) == []


# --- downsample_min_max -------------------------------------------------------------------


def test_downsample_when_short_then_unchanged() -> None:
    x, y = [1.0, 2.0, 3.0], [5.0, math.nan, 4.0]

    out_x, out_y = svg.downsample_min_max(x, y)

    assert out_x == x and out_y[0] == 5.0 and math.isnan(out_y[1])


def test_downsample_when_long_random_walk_then_bounded_and_keeps_extremes_and_drawdown() -> None:
    rng = np.random.default_rng(3)
    n = 100_000
    equity = np.cumprod(1.0 + rng.normal(0.0, 0.01, n)).tolist()
    x = list(range(n))

    out_x, out_y = svg.downsample_min_max(x, equity, max_points=1_500)

    assert len(out_x) <= 1_500
    assert out_x[0] == 0 and out_x[-1] == n - 1
    assert all(b > a for a, b in itertools.pairwise(out_x))
    assert all(equity[int(i)] == v for i, v in zip(out_x, out_y, strict=True))
    assert min(out_y) == min(equity) and max(out_y) == max(equity)
    # the peak before the trough is its bucket's max and the trough its bucket's min
    assert _max_drawdown(out_y) == _max_drawdown(equity)


def test_downsample_when_series_has_gaps_then_a_gap_survives_within_bounds() -> None:
    y = np.sin(np.arange(10_000) / 50.0)
    y[4_000:4_100] = np.nan

    out_x, out_y = svg.downsample_min_max(np.arange(10_000.0), y, max_points=500)

    assert len(out_x) <= 500
    assert any(math.isnan(v) for v in out_y)
    assert np.nanmin(out_y) == np.nanmin(y) and np.nanmax(out_y) == np.nanmax(y)


def test_downsample_when_identical_input_then_identical_output() -> None:
    y = np.random.default_rng(5).normal(size=5_000)

    assert svg.downsample_min_max(range(5_000), y) == svg.downsample_min_max(range(5_000), y)


def test_downsample_when_lengths_differ_or_budget_tiny_then_value_error() -> None:
    with pytest.raises(ValueError, match="equal length"):
        svg.downsample_min_max([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least 8"):
        svg.downsample_min_max(range(100), range(100), max_points=4)


# --- charts -------------------------------------------------------------------------------


def _equity_chart(y: list[float], **kwargs: object) -> str:
    x = [JAN_2023_MS + i * DAY_MS for i in range(len(y))]
    spans = [
        svg.Span(x[0], x[len(x) // 2], "discovery", svg.SPAN_COLORS["discovery"]),
        svg.Span(x[len(x) // 2], x[-1], "holdout", svg.SPAN_COLORS["holdout"]),
    ]
    return svg.line_chart(
        [svg.Series("strategy", x, y), svg.Series("buy and hold", x, y[::-1], dashed=True)],
        title="Equity",
        y_label="equity",
        spans=spans,
        **kwargs,  # type: ignore[arg-type]
    )


def test_line_chart_when_series_and_spans_then_well_formed_with_title_legend_and_spans() -> None:
    y = np.cumprod(1.0 + np.random.default_rng(1).normal(0, 0.01, 400)).tolist()

    root = _parse(_equity_chart(y))

    assert root.tag == "svg" and root.get("role") == "img"
    assert root.find("title").text == "Equity"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter("text")]
    assert {"strategy", "buy and hold", "discovery", "holdout"} <= set(texts)
    span_titles = [r.find("title").text for r in root.iter("rect") if r.find("title") is not None]
    assert span_titles == ["discovery", "holdout"]
    assert "2023-07" in texts


def test_line_chart_when_called_twice_then_byte_identical() -> None:
    y = np.cumprod(1.0 + np.random.default_rng(2).normal(0, 0.01, 3_000)).tolist()

    assert _equity_chart(y) == _equity_chart(list(y))


def test_line_chart_when_long_series_then_path_is_downsampled() -> None:
    y = np.cumprod(1.0 + np.random.default_rng(2).normal(0, 0.01, 20_000)).tolist()

    paths = [p.get("d", "") for p in _parse(_equity_chart(y)).iter("path")]

    assert paths and all(_path_points(d) <= svg.MAX_POINTS for d in paths)


def test_line_chart_when_nan_inside_then_line_breaks_into_segments() -> None:
    y = [1.0, 1.1, math.nan, 1.2, 1.3, None, 1.4]

    chart = svg.line_chart([svg.Series("s", list(range(7)), y)], title="t", x_axis="number")

    path = next(_parse(chart).iter("path")).get("d", "")
    assert path.count("M") == 3 and _path_points(path) == 5


def test_line_chart_when_no_finite_point_then_placeholder_says_no_data() -> None:
    for series in ([], [svg.Series("s", [1.0, 2.0], [math.nan, math.nan])]):
        root = _parse(svg.line_chart(series, title="Empty"))

        assert "no data" in [t.text for t in root.iter("text")]


def test_line_chart_when_constant_series_then_axis_is_widened_and_valid() -> None:
    chart = svg.line_chart([svg.Series("flat", [0.0, 1.0, 2.0], [1.0, 1.0, 1.0])], title="c")

    root = _parse(chart)

    assert {"0.90", "1.00", "1.10"} <= {t.text for t in root.iter("text")}


def test_line_chart_when_labels_contain_markup_then_escaped() -> None:
    nasty = 'a < b & "c" <script>'

    chart = svg.line_chart(
        [svg.Series(nasty, [0.0, 1.0], [1.0, 2.0])], title=nasty, x_axis="number"
    )

    assert "<script>" not in chart
    root = _parse(chart)
    assert root.find("title").text == nasty  # type: ignore[union-attr]
    assert nasty in [t.text for t in root.iter("text")]


def test_line_chart_when_number_axis_with_marker_then_marker_and_suffix_drawn() -> None:
    chart = svg.line_chart(
        [svg.Series("Sharpe", [1.0, 2.0, 3.0], [1.0, 0.5, -0.1], points=True)],
        title="Cost stress",
        x_axis="number",
        x_suffix="×",
        markers=[svg.Marker(2.0, "gate 2×")],
        baseline=0.0,
    )

    root = _parse(chart)
    texts = [t.text for t in root.iter("text")]
    assert "gate 2×" in texts and "3.0×" in texts
    assert len(list(root.iter("circle"))) == 3


def test_area_chart_when_drawdown_then_closed_area_to_baseline() -> None:
    x = [JAN_2023_MS + i * DAY_MS for i in range(5)]

    chart = svg.area_chart(
        svg.Series("drawdown", x, [0.0, -0.1, -0.2, -0.05, 0.0]), title="DD", y_percent=True
    )

    root = _parse(chart)
    area = next(root.iter("path")).get("d", "")
    assert area.startswith("M") and area.endswith("Z")
    assert "-20%" in [t.text for t in root.iter("text")]


def test_histogram_when_values_then_bar_counts_sum_to_finite_values() -> None:
    values = [*np.random.default_rng(4).normal(size=500).tolist(), math.nan, math.inf]

    chart = svg.histogram(values, title="h", bins=12, markers=[svg.Marker(5.0, "own")])

    root = _parse(chart)
    tips = [r.find("title").text for r in root.iter("rect") if r.find("title") is not None]
    counts = [int(tip.rsplit(": ", 1)[1]) for tip in tips]  # type: ignore[union-attr]
    assert len(counts) == 12 and sum(counts) == 500
    assert counts == np.histogram(values[:500], bins=12)[0].tolist()
    assert "own" in [t.text for t in root.iter("text")]


def test_histogram_when_no_finite_values_or_one_value_then_valid() -> None:
    assert "no values" in svg.histogram([math.nan], title="h")
    root = _parse(svg.histogram([0.3, 0.3, 0.3], title="h", bins=4))
    tips = [r.find("title").text for r in root.iter("rect") if r.find("title") is not None]
    assert sum(int(t.rsplit(": ", 1)[1]) for t in tips) == 3  # type: ignore[union-attr]


def test_bar_chart_when_signed_values_then_colored_by_sign_and_nan_left_out() -> None:
    chart = svg.bar_chart(["2025-06", "2025-07", "2025-08"], [0.02, -0.01, math.nan], title="m")

    fills = [r.get("fill") for r in _parse(chart).iter("rect") if r.find("title") is not None]
    assert fills == ["#2e8b57", "#c0392b"]


def test_bar_chart_when_lengths_differ_then_value_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        svg.bar_chart(["a"], [1.0, 2.0], title="m")


def test_charts_when_rendered_then_no_external_reference() -> None:
    y = [1.0, 1.2, 0.9]
    charts = [
        _equity_chart(y),
        svg.histogram(y, title="h"),
        svg.bar_chart(["a", "b", "c"], y, title="b"),
        svg.empty_chart("e", "not computed"),
    ]

    for chart in charts:
        assert "http" not in chart and "href" not in chart and "<script" not in chart
