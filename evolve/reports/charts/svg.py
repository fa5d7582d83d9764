"""Dependency-free SVG charts for the review report: line, area, bar chart and histogram.

Pure functions return SVG text meant to be inlined in an HTML5 page: no ``xmlns``, no script,
no external reference, every label escaped. Identical input gives byte-identical output
(coordinates are printed with fixed precision, nothing depends on time or randomness).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from evolve.reports.charts.axes import (
    Axes,
    Frame,
    Marker,
    Plot,
    Span,
    coordinate,
    format_tick,
    nice_ticks,
    open_svg,
    rect,
    render,
    span_legend,
    text,
    time_ticks,
)

__all__ = [
    "MAX_POINTS",
    "PALETTE",
    "SPAN_COLORS",
    "Marker",
    "Series",
    "Span",
    "area_chart",
    "bar_chart",
    "downsample_min_max",
    "empty_chart",
    "format_tick",
    "histogram",
    "line_chart",
    "nice_ticks",
    "time_ticks",
]

PALETTE = ("#1f5fa8", "#8a8a8a", "#c0392b", "#2e8b57", "#8e44ad", "#d35400")
SPAN_COLORS = {"discovery": "#dce8f6", "validation": "#fbeccb", "holdout": "#d6efd9"}
MAX_POINTS = 1500


@dataclass(frozen=True, slots=True)
class Series:
    """One line: ``x`` (ms timestamps or plain numbers) against ``y``; NaN breaks the line."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: str = ""
    dashed: bool = False
    points: bool = False


def downsample_min_max(
    x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    """Thin a long series to at most ``max_points`` points, keeping each bucket's min and max.

    Buckets are contiguous runs of equal index length, so the result is deterministic; the
    first and last points, every local extreme at bucket resolution (hence the deepest
    drawdown) and, when the series has gaps, one non-finite point per gapped bucket survive.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length or ``max_points < 8``.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, found {xs.shape} and {ys.shape}")
    if max_points < 8:
        raise ValueError(f"max_points must be at least 8, found {max_points}")
    n = len(ys)
    if n <= max_points:
        return xs.tolist(), ys.tolist()
    finite = np.isfinite(ys)
    n_buckets = (max_points - 2) // (2 if finite.all() else 3)
    edges = 1 + (np.arange(n_buckets + 1) * (n - 2)) // n_buckets
    keep = {0, n - 1}
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        chunk, chunk_finite = ys[lo:hi], finite[lo:hi]
        if not chunk_finite.any():
            keep.add(lo)
            continue
        keep.add(lo + int(np.argmin(np.where(chunk_finite, chunk, np.inf))))
        keep.add(lo + int(np.argmax(np.where(chunk_finite, chunk, -np.inf))))
        if not chunk_finite.all():
            keep.add(lo + int(np.argmin(chunk_finite)))
    index = np.fromiter(sorted(keep), dtype=np.int64)
    return xs[index].tolist(), ys[index].tolist()


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def empty_chart(title: str, message: str, *, width: int = 760, height: int = 120) -> str:
    """Return a placeholder chart that says why there is nothing to draw."""
    parts = open_svg(title, width, height, message)
    style = 'text-anchor="middle" fill="#777" font-style="italic"'
    parts.append(text(width / 2, height / 2 + 10, message, style))
    return "".join(parts) + "</svg>"


def _line_path(frame: Frame, xs: Sequence[float], ys: Sequence[float]) -> str:
    parts, pen_up, c = [], True, coordinate
    for x, y in zip(xs, ys, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            pen_up = True
            continue
        parts.append(f"{'M' if pen_up else 'L'}{c(frame.px(x))},{c(frame.py(y))}")
        pen_up = False
    return "".join(parts)


def _area_path(frame: Frame, xs: Sequence[float], ys: Sequence[float], baseline: float) -> str:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(x) and math.isfinite(y):
            runs[-1].append((frame.px(x), frame.py(y)))
        elif runs[-1]:
            runs.append([])
    c = coordinate
    base = c(frame.py(baseline))
    paths = []
    for run in filter(None, runs):
        points = "L".join(f"{c(x)},{c(y)}" for x, y in run)
        paths.append(f"M{c(run[0][0])},{base}L{points}L{c(run[-1][0])},{base}Z")
    return "".join(paths)


def _series_svg(frame: Frame, series: Series, area_baseline: float | None) -> str:
    xs, ys = downsample_min_max(series.x, series.y)
    line = _line_path(frame, xs, ys)
    if area_baseline is not None:
        return (
            f'<path d="{_area_path(frame, xs, ys, area_baseline)}" fill="{series.color}" '
            f'fill-opacity="0.35"/><path d="{line}" fill="none" stroke="{series.color}" '
            'stroke-width="1.2"/>'
        )
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    out = (
        f'<path d="{line}" fill="none" stroke="{series.color}" stroke-width="1.6" '
        f'stroke-linejoin="round"{dash}/>'
    )
    if series.points:
        c = coordinate
        out += "".join(
            f'<circle cx="{c(frame.px(x))}" cy="{c(frame.py(y))}" r="3" fill="{series.color}"/>'
            for x, y in zip(xs, ys, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        )
    return out


# A bar: x from, x to, height, fill colour, tooltip text
_Bar = tuple[float, float, float, str, str]


def _bars_svg(frame: Frame, bars: Sequence[_Bar]) -> str:
    rects = []
    zero = frame.py(max(frame.y_low, min(0.0, frame.y_high)))
    for x0, x1, value, color, tip in bars:
        top, bottom = sorted((frame.py(value), zero))
        width = max(frame.px(x1) - frame.px(x0), 0.5)
        rects.append(rect(frame.px(x0), top, width, max(bottom - top, 0.5), f'fill="{color}"', tip))
    return "".join(rects)


def _colored(series: Sequence[Series]) -> list[Series]:
    return [
        s if s.color else replace(s, color=PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)
    ]


def _range_text(axis: str, low: float, high: float, time: bool) -> str:
    if time:
        first, last = (datetime.fromtimestamp(v / 1000.0, tz=UTC) for v in (low, high))
        return f"{axis} from {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC"
    return f"{axis} from {low:.6g} to {high:.6g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str = "",
    x_label: str = "",
    spans: Sequence[Span] = (),
    markers: Sequence[Marker] = (),
    x_axis: Literal["time", "number"] = "time",
    x_suffix: str = "",
    y_percent: bool = False,
    baseline: float | None = None,
    width: int = 760,
    height: int = 280,
) -> str:
    """Return a line chart of ``series`` with shaded ``spans`` and vertical ``markers``.

    Parameters
    ----------
    series : sequence of Series
        ``x`` in ms since the epoch (UTC) when ``x_axis="time"``; NaN values break lines.
        Series longer than :data:`MAX_POINTS` are thinned by :func:`downsample_min_max`.
    y_percent : bool
        Label the y axis in percent (values are fractions, 0.1 = 10%).
    baseline : float, optional
        Draw a horizontal reference line at this y value (kept inside the y range).

    Returns
    -------
    str
        One ``<svg>`` element; a placeholder saying "no data" when nothing is finite.
    """
    return _xy_chart(
        _colored(series),
        title=title,
        axes=Axes(x_axis, y_label, x_label, y_percent, x_suffix),
        spans=spans,
        markers=markers,
        baseline=baseline,
        area=False,
        size=(width, height),
    )


def area_chart(
    series: Series,
    *,
    title: str,
    y_label: str = "",
    spans: Sequence[Span] = (),
    markers: Sequence[Marker] = (),
    y_percent: bool = False,
    baseline: float = 0.0,
    width: int = 760,
    height: int = 220,
) -> str:
    """Return an area chart filled between ``baseline`` and a time series (e.g. drawdown)."""
    return _xy_chart(
        _colored([series]),
        title=title,
        axes=Axes("time", y_label, "", y_percent, ""),
        spans=spans,
        markers=markers,
        baseline=baseline,
        area=True,
        size=(width, height),
    )


def _xy_chart(
    series: list[Series],
    *,
    title: str,
    axes: Axes,
    spans: Sequence[Span],
    markers: Sequence[Marker],
    baseline: float | None,
    area: bool,
    size: tuple[int, int],
) -> str:
    xs = [x for s in series for x, y in zip(s.x, s.y, strict=True) if _is_point(x, y)]
    ys = [y for s in series for x, y in zip(s.x, s.y, strict=True) if _is_point(x, y)]
    if not xs:
        return empty_chart(title, "no data", width=size[0])
    x_range, ticks = (min(xs), max(xs)), []
    if axes.x_axis == "number":
        marker_xs = [m.x for m in markers if math.isfinite(m.x)]
        ticks = nice_ticks(min([*xs, *marker_xs]), max([*xs, *marker_xs]))
        x_range = (ticks[0], ticks[-1])
    kind = "area" if area else "line"
    legend = [(s.label, s.color, "dashed" if s.dashed else kind) for s in series]
    legend += span_legend(spans) + [(m.label, m.color, "marker") for m in markers]
    plot = Plot(
        title=title,
        axes=axes,
        x_range=x_range,
        y_values=ys + ([baseline] if baseline is not None else []),
        legend=legend,
        spans=spans,
        markers=markers,
        baseline=baseline,
        width=size[0],
        height=size[1],
        description=f"{len(series)} series; {_range_text('x', *x_range, axes.x_axis == 'time')}; "
        f"{_range_text('y', min(ys), max(ys), False)}",
        x_ticks=ticks,
    )
    return render(
        plot,
        lambda frame: "".join(_series_svg(frame, s, baseline if area else None) for s in series),
    )


def _is_point(x: float | None, y: float | None) -> bool:
    return x is not None and y is not None and math.isfinite(x) and math.isfinite(y)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    x_label: str = "",
    bins: int = 20,
    markers: Sequence[Marker] = (),
    spans: Sequence[Span] = (),
    label: str = "count",
    color: str = PALETTE[0],
    width: int = 760,
    height: int = 240,
) -> str:
    """Return a histogram of the finite ``values`` in ``bins`` equal-width bins.

    ``markers`` (e.g. the candidate's own score) widen the x range so they stay visible;
    non-finite values are dropped and counted in the description.
    """
    data = _finite(values)
    if not data:
        return empty_chart(title, "no values", width=width)
    low, high = min(data), max(data)
    if high - low <= abs(high) * 1e-12:
        low, high = low - (abs(low) * 0.05 or 0.5), high + (abs(high) * 0.05 or 0.5)
    counts, edges = np.histogram(np.asarray(data), bins=bins, range=(low, high))
    marker_xs = [m.x for m in markers if math.isfinite(m.x)]
    ticks = nice_ticks(min([low, *marker_xs]), max([high, *marker_xs]))
    bars = [
        (edges[i], edges[i + 1], float(c), color, f"[{edges[i]:.4g}, {edges[i + 1]:.4g}): {c}")
        for i, c in enumerate(counts.tolist())
    ]
    plot = Plot(
        title=title,
        axes=Axes("number", "count", x_label, False, ""),
        x_range=(ticks[0], ticks[-1]),
        y_values=[0.0, float(counts.max())],
        legend=[(f"{label} (n = {len(data):,})", color, "bar")]
        + span_legend(spans)
        + [(m.label, m.color, "marker") for m in markers],
        spans=spans,
        markers=markers,
        baseline=0.0,
        width=width,
        height=height,
        description=f"{len(data):,} values in {bins} bins from {low:.6g} to {high:.6g}; "
        f"{len(values) - len(data):,} non-finite values left out",
        x_ticks=ticks,
    )
    return render(plot, lambda frame: _bars_svg(frame, bars))


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    y_label: str = "",
    y_percent: bool = False,
    positive_color: str = "#2e8b57",
    negative_color: str = "#c0392b",
    width: int = 760,
    height: int = 220,
) -> str:
    """Return a bar chart of one value per category, colored by sign; NaN bars are left out."""
    if len(labels) != len(values):
        raise ValueError(f"labels and values differ in length: {len(labels)} vs {len(values)}")
    finite = _finite(values)
    if not finite:
        return empty_chart(title, "no data", width=width)
    bars = [
        (
            i + 0.12,
            i + 0.88,
            float(v),
            positive_color if v >= 0 else negative_color,
            f"{k}: {v:.6g}",
        )
        for i, (k, v) in enumerate(zip(labels, values, strict=True))
        if _is_point(0.0, v)
    ]
    plot = Plot(
        title=title,
        axes=Axes("category", y_label, "", y_percent, "", tuple(labels)),
        x_range=(0.0, float(len(labels))),
        y_values=[0.0, *finite],
        legend=[],
        spans=(),
        markers=(),
        baseline=0.0,
        width=width,
        height=height,
        description=f"{len(labels)} bars from {labels[0]} to {labels[-1]}",
    )
    return render(plot, lambda frame: _bars_svg(frame, bars))
