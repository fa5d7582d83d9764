"""Axes for the SVG charts: nice and UTC-date ticks, the plot frame, grid, legend, spans, markers.

Internal to :mod:`evolve.reports.charts.svg`, which draws the data marks on the
:class:`Frame` built here and is the public entry point. Pure and deterministic: coordinates
print with one decimal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Literal

_CHAR_WIDTH = 6.2  # approximate advance of an 11 px sans-serif glyph, for layout only
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_FIXED_STEPS_MS = tuple(h * _HOUR_MS for h in (1, 2, 3, 6, 12, 24, 48, 168, 336))
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 600)
# A legend entry: label, colour, kind ("line", "dashed", "area", "span", "bar", "marker")
LegendEntry = tuple[str, str, str]


def _nice_number(value: float, *, rounded: bool) -> float:
    exponent = math.floor(math.log10(value))
    # the tolerance keeps float noise (1.1 - 0.9 = 0.20000000000000007) from jumping a class
    fraction = value / 10.0**exponent - 1e-9
    limits = (1.5, 3.0, 7.0) if rounded else (1.0, 2.0, 5.0)
    nice = next(
        (n for n, limit in zip((1.0, 2.0, 5.0), limits, strict=True) if fraction <= limit), 10.0
    )
    return nice * 10.0**exponent


def _tick_decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def nice_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Return axis ticks at multiples of 1, 2 or 5 × 10^k covering ``[low, high]``.

    Heckbert's loose labelling: the first tick is at or below ``low``, the last at or above
    ``high``, about ``max_ticks`` in all (never more than ``max_ticks + 2``). A constant range
    is widened around its value; a non-finite bound gives no ticks.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    low, high = min(low, high), max(low, high)
    if high - low <= abs(high) * 1e-12:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_number(
        _nice_number(high - low, rounded=False) / max(max_ticks - 1, 1), rounded=True
    )
    first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    # low / step can underflow to -0.0 for subnormal lows; the ticks must still cover them
    first -= step if first > low else 0.0
    last += step if last < high else 0.0
    count = round((last - first) / step)
    decimals = _tick_decimals(step) + 1
    return [round(first + i * step, decimals) + 0.0 for i in range(count + 1)]


def format_tick(value: float, step: float, *, percent: bool = False, suffix: str = "") -> str:
    """Return a tick label with just enough decimals for ``step`` (percent: value × 100)."""
    if percent:
        value, step = value * 100.0, step * 100.0
    text = f"{value:,.{_tick_decimals(step) if step > 0 else 2}f}"
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = text[1:]
    return text + ("%" if percent else "") + suffix


def _utc(timestamp_ms: float) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000.0, tz=UTC)


def _month_ticks(start_ms: float, stop_ms: float, months: int) -> list[float]:
    start = _utc(start_ms)
    index = start.year * 12 + start.month - 1
    index += -index % months
    ticks: list[float] = []
    while True:
        moment = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000.0
        if moment < start_ms:
            index += months
            continue
        if moment > stop_ms:
            return ticks
        ticks.append(moment)
        index += months


def time_ticks(start_ms: float, stop_ms: float, max_ticks: int = 6) -> list[tuple[float, str]]:
    """Return ``(timestamp_ms, label)`` ticks at round UTC times inside ``[start_ms, stop_ms]``.

    Steps run from one hour to fifty years; labels are ``MM-DD HH:MM``, ``YYYY-MM-DD``,
    ``YYYY-MM`` or ``YYYY`` to match the step.
    """
    if not (math.isfinite(start_ms) and math.isfinite(stop_ms)) or stop_ms < start_ms:
        return []
    ticks: list[float] = []
    pattern = "%Y-%m-%d"
    for step in _FIXED_STEPS_MS:
        first = math.ceil(start_ms / step) * step
        if math.floor((stop_ms - first) / step) + 1 <= max_ticks:
            ticks = [float(first + i * step) for i in range(int((stop_ms - first) // step) + 1)]
            pattern = "%m-%d %H:%M" if step < _DAY_MS else "%Y-%m-%d"
            break
    else:
        for months in _MONTH_STEPS:
            ticks = _month_ticks(start_ms, stop_ms, months)
            pattern = "%Y-%m" if months < 12 else "%Y"
            if len(ticks) <= max_ticks:
                break
    if not ticks:
        ticks = sorted({start_ms, stop_ms})
    return [(tick, _utc(tick).strftime(pattern)) for tick in ticks]


@dataclass(frozen=True, slots=True)
class Span:
    """A shaded x interval ``[start, stop]`` behind the data (e.g. the holdout period)."""

    start: float
    stop: float
    label: str
    color: str = "#e8e8e8"


@dataclass(frozen=True, slots=True)
class Marker:
    """A labelled vertical reference line at ``x``."""

    x: float
    label: str
    color: str = "#c0392b"


@dataclass(frozen=True, slots=True)
class Frame:
    """The plot area in pixels and the data ranges it maps (y grows downwards in SVG)."""

    left: float
    top: float
    right: float
    bottom: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float

    def px(self, x: float) -> float:
        return self.left + (x - self.x_low) / (self.x_high - self.x_low) * (self.right - self.left)

    def py(self, y: float) -> float:
        return self.bottom - (y - self.y_low) / (self.y_high - self.y_low) * (
            self.bottom - self.top
        )


def coordinate(value: float) -> str:
    """Return a pixel coordinate with one decimal (never ``-0.0``), for stable output."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def line(x1: float, y1: float, x2: float, y2: float, style: str) -> str:
    """Return a ``<line>`` element; ``style`` is raw attribute text (never user text)."""
    c = coordinate
    return f'<line x1="{c(x1)}" y1="{c(y1)}" x2="{c(x2)}" y2="{c(y2)}" {style}/>'


def rect(x: float, y: float, width: float, height: float, style: str, tip: str = "") -> str:
    """Return a ``<rect>`` element with an optional escaped tooltip ``<title>``."""
    c = coordinate
    head = f'<rect x="{c(x)}" y="{c(y)}" width="{c(width)}" height="{c(height)}" {style}'
    return f"{head}><title>{escape(tip)}</title></rect>" if tip else f"{head}/>"


def text(x: float, y: float, content: str, style: str = "") -> str:
    """Return a ``<text>`` element with escaped ``content``."""
    attributes = f" {style}" if style else ""
    return f'<text x="{coordinate(x)}" y="{coordinate(y)}"{attributes}>{escape(content)}</text>'


def _legend(entries: Sequence[LegendEntry], width: float, top: float) -> tuple[list[str], float]:
    parts: list[str] = []
    x, y = 64.0, top
    for label, color, kind in entries:
        item_width = 40 + len(label) * _CHAR_WIDTH
        if x + item_width > width - 8 and x > 64.0:
            x, y = 64.0, y + 16
        if kind in ("span", "bar"):
            parts.append(rect(x, y - 8, 18, 10, f'fill="{color}" stroke="#999" stroke-width="0.5"'))
        else:
            dash = ' stroke-dasharray="5 3"' if kind in ("dashed", "marker") else ""
            parts.append(line(x, y - 3, x + 18, y - 3, f'stroke="{color}" stroke-width="2"{dash}'))
        parts.append(text(x + 24, y, label))
        x += item_width
    return parts, (y + 10 if entries else top - 6)


def open_svg(title: str, width: int, height: int, description: str) -> list[str]:
    """Return the opening ``<svg>`` tag, its accessible ``<title>``/``<desc>`` and the heading."""
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" '
        'font-size="11" fill="#222">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
        text(8, 16, title, 'font-size="13" font-weight="600"'),
    ]


@dataclass(frozen=True, slots=True)
class Axes:
    """What the axes show: x kind, labels, percent y ticks, x tick suffix, category names."""

    x_axis: Literal["time", "number", "category"]
    y_label: str
    x_label: str
    y_percent: bool
    x_suffix: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plot:
    """Everything :func:`render` needs besides the data marks."""

    title: str
    axes: Axes
    x_range: tuple[float, float]
    y_values: list[float]
    legend: list[LegendEntry]
    spans: Sequence[Span]
    markers: Sequence[Marker]
    baseline: float | None
    width: int
    height: int
    description: str
    x_ticks: Sequence[float] = ()


def _x_ticks(frame: Frame, axes: Axes, numbers: Sequence[float]) -> list[tuple[float, str]]:
    if axes.x_axis == "time":
        return time_ticks(frame.x_low, frame.x_high, max(2, int((frame.right - frame.left) / 110)))
    if axes.x_axis == "category":
        n = len(axes.categories)
        longest = max((len(c) for c in axes.categories), default=1)
        every = max(1, math.ceil(n * (longest * _CHAR_WIDTH + 10) / (frame.right - frame.left)))
        return [(i + 0.5, axes.categories[i]) for i in range(0, n, every)]
    # Heckbert's ticks are not idempotent: reuse the ones the x range was widened to
    ticks = [t for t in numbers if frame.x_low <= t <= frame.x_high] or nice_ticks(
        frame.x_low, frame.x_high
    )
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return [(t, format_tick(t, step, suffix=axes.x_suffix)) for t in ticks]


def _axes_svg(frame: Frame, plot: Plot, y_ticks: list[float]) -> list[str]:
    axes = plot.axes
    parts = []
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    for tick in y_ticks:
        y = frame.py(tick)
        parts.append(line(frame.left, y, frame.right, y, 'stroke="#000" stroke-opacity="0.09"'))
        label = format_tick(tick, step, percent=axes.y_percent)
        parts.append(text(frame.left - 6, y + 3.5, label, 'text-anchor="end"'))
    for tick, label in _x_ticks(frame, axes, plot.x_ticks):
        x = frame.px(tick)
        parts.append(line(x, frame.bottom, x, frame.bottom + 4, 'stroke="#444"'))
        parts.append(text(x, frame.bottom + 16, label, 'text-anchor="middle"'))
    parts.append(
        rect(
            frame.left,
            frame.top,
            frame.right - frame.left,
            frame.bottom - frame.top,
            'fill="none" stroke="#444" stroke-width="0.8"',
        )
    )
    middle = coordinate((frame.top + frame.bottom) / 2)
    if axes.y_label:
        style = f'transform="rotate(-90 14 {middle})" text-anchor="middle"'
        parts.append(text(14, (frame.top + frame.bottom) / 2, axes.y_label, style))
    if axes.x_label:
        middle_x = (frame.left + frame.right) / 2
        parts.append(text(middle_x, plot.height - 6, axes.x_label, 'text-anchor="middle"'))
    return parts


def _spans_and_markers(
    frame: Frame, spans: Sequence[Span], markers: Sequence[Marker]
) -> tuple[list[str], list[str]]:
    behind, front = [], []
    for span in spans:
        start, stop = max(span.start, frame.x_low), min(span.stop, frame.x_high)
        if stop > start:
            width, height = frame.px(stop) - frame.px(start), frame.bottom - frame.top
            style = f'fill="{span.color}"'
            behind.append(rect(frame.px(start), frame.top, width, height, style, span.label))
    for marker in markers:
        if math.isfinite(marker.x) and frame.x_low <= marker.x <= frame.x_high:
            x = frame.px(marker.x)
            style = f'stroke="{marker.color}" stroke-width="1.5" stroke-dasharray="5 3"'
            front.append(line(x, frame.top, x, frame.bottom, style))
            right_half = x > (frame.left + frame.right) / 2
            anchor = 'text-anchor="end"' if right_half else 'text-anchor="start"'
            label_x = x - 4 if right_half else x + 4
            front.append(
                text(label_x, frame.top + 12, marker.label, f'{anchor} fill="{marker.color}"')
            )
    return behind, front


def render(plot: Plot, draw: Callable[[Frame], str]) -> str:
    """Return the chart: frame the plot, then spans, grid, axes, ``draw(frame)``, markers.

    The y range is widened to nice ticks; a degenerate x range is widened around its value.
    """
    parts = open_svg(plot.title, plot.width, plot.height, plot.description)
    legend_parts, legend_bottom = _legend(plot.legend, plot.width, 34.0)
    parts.extend(legend_parts)
    low, high = min(plot.y_values), max(plot.y_values)
    y_ticks = nice_ticks(low, high, max(3, int((plot.height - 90) / 40)))
    x_low, x_high = plot.x_range
    if not x_high > x_low:
        x_low, x_high = x_low - (abs(x_low) * 0.05 or 0.5), x_high + (abs(x_high) * 0.05 or 0.5)
    frame = Frame(
        left=64.0,
        top=legend_bottom + 8.0,
        right=plot.width - 16.0,
        bottom=plot.height - (40.0 if plot.axes.x_label else 26.0),
        x_low=x_low,
        x_high=x_high,
        y_low=y_ticks[0],
        y_high=y_ticks[-1],
    )
    behind, front = _spans_and_markers(frame, plot.spans, plot.markers)
    parts.extend(behind)
    parts.extend(_axes_svg(frame, plot, y_ticks))
    if plot.baseline is not None and frame.y_low <= plot.baseline <= frame.y_high:
        y = frame.py(plot.baseline)
        parts.append(line(frame.left, y, frame.right, y, 'stroke="#444" stroke-width="0.8"'))
    parts.append(draw(frame))
    parts.extend(front)
    parts.append("</svg>")
    return "".join(parts)


def span_legend(spans: Sequence[Span]) -> list[LegendEntry]:
    """Return one legend entry per distinct span label, in first-seen order."""
    seen: dict[str, str] = {}
    for span in spans:
        seen.setdefault(span.label, span.color)
    return [(label, color, "span") for label, color in seen.items()]
