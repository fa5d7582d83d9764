"""Charts of the review report drawn by matplotlib's SVG backend, returned as inline ``<svg>``.

Deterministic bytes for identical input: the Agg backend, a fixed ``svg.hashsalt`` (element
ids derive from it), no ``Date`` or ``Creator`` metadata, text kept as ``<text>`` (no glyph
paths, no font files), and every id prefixed by the chart's own ``key`` so several charts
inlined in one page never share an id. Nothing external is referenced: the XML prologue,
DOCTYPE and RDF metadata are cut, leaving ``<svg>`` with a ``<title>`` and local ``url(#…)``
references only.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, PercentFormatter

from evolve.reports.text import slug

PALETTE = ("#1f5fa8", "#8a8a8a", "#c0392b", "#2e8b57", "#8e44ad", "#d35400")
SPAN_COLORS = {"discovery": "#dce8f6", "validation": "#fbeccb", "holdout": "#d6efd9"}
HASH_SALT = "evolve-report"
_RC: Any = {  # matplotlib types rc keys as a Literal union; the keys here are checked at runtime
    "svg.hashsalt": HASH_SALT,
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "font.size": 8.5,
    "font.family": "DejaVu Sans",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,
}
_WIDTH_IN = 7.6
_DPI = 72
_DAY_MS = 86_400_000
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Series:
    """A named line: x (epoch ms or numbers) and y of equal length; NaN breaks the line."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: str = ""
    dashed: bool = False
    points: bool = False


@dataclass(frozen=True, slots=True)
class Span:
    """A shaded x range with a legend label (a calendar segment, an overfit region)."""

    start: float
    stop: float
    label: str
    color: str = "#ececec"


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded y range over x (an expectation band): ``low`` and ``high`` as long as ``x``."""

    label: str
    x: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]
    color: str = "#cde3f5"


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical reference line at ``x`` with a legend label."""

    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """What every chart shares: its title, a page-unique key (id prefix) and its height."""

    title: str
    key: str
    height_in: float = 2.4
    width_in: float = _WIDTH_IN
    spans: Sequence[Span] = field(default_factory=tuple)
    markers: Sequence[Marker] = field(default_factory=tuple)


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _render(figure: plt.Figure, chart: Chart) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    prefix = slug(chart.key) + "-"
    text = re.sub(r'<g id="[^"]+">', "<g>", text)  # group ids are never referenced
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'\b(d|x|y)="([^"]*)"', _compact, text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    # drop the fixed pt size so CSS scales the chart; keep the viewBox
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    title = chart.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    head_end = text.index(">") + 1
    head = text[:head_end].replace("<svg", '<svg class="chart" role="img"', 1)
    return f"{head}\n<title>{title}</title>{text[head_end:].rstrip()}"


_NUMBER = re.compile(r"(-?\d+\.\d)\d*")


def _compact(match: re.Match[str]) -> str:
    """Return a path or coordinate attribute with 0.1-unit precision and no line breaks."""
    value = _NUMBER.sub(r"\1", " ".join(match.group(2).split()))
    return f'{match.group(1)}="{value}"'


def _figure(chart: Chart) -> tuple[plt.Figure, plt.Axes]:
    figure, axes = plt.subplots(figsize=(chart.width_in, chart.height_in), dpi=_DPI)
    axes.set_title(chart.title, loc="left")
    return figure, axes


def _decorate(axes: plt.Axes, chart: Chart, *, time_axis: bool) -> None:
    for span in chart.spans:
        low = _days(span.start) if time_axis else span.start
        high = _days(span.stop) if time_axis else span.stop
        axes.axvspan(low, high, color=span.color, label=span.label, zorder=0, lw=0)
    for index, marker in enumerate(chart.markers):
        x = _days(marker.x) if time_axis else marker.x
        color = PALETTE[(index + 2) % len(PALETTE)]
        axes.axvline(x, color=color, linestyle="--", linewidth=1.2, label=marker.label)
    handles, labels = axes.get_legend_handles_labels()
    if labels:
        unique = dict(zip(labels, handles, strict=True))
        axes.legend(unique.values(), unique.keys(), loc="upper left", ncols=min(len(unique), 4))


def _days(ms: float) -> float:
    """Return epoch milliseconds as matplotlib date numbers (days since 1970-01-01 UTC)."""
    return float(ms) / _DAY_MS


def _styled(draw: Callable[P, str]) -> Callable[P, str]:
    """Run a chart function under the report's fixed style (no global rcParams change)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        with plt.rc_context(_RC):
            return draw(*args, **kwargs)

    return wrapper


def _save(figure: plt.Figure, chart: Chart) -> str:
    # fixed margins in inches (tight_layout measures every text: slow for many charts)
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=0.75 / width,
        right=1.0 - 0.15 / width,
        bottom=min(0.5 / height, 0.3),
        top=max(1.0 - 0.3 / height, 0.6),
    )
    return _render(figure, chart)


@_styled
def empty_chart(chart: Chart, message: str) -> str:
    """Return a short chart frame that says why nothing is drawn."""
    figure, axes = _figure(Chart(chart.title, chart.key, 0.7, chart.width_in))
    axes.set_axis_off()
    axes.text(0.0, 0.2, message, transform=axes.transAxes, color="#666")
    return _save(figure, chart)


@_styled
def line_chart(
    chart: Chart,
    series: Sequence[Series],
    *,
    time_axis: bool = True,
    y_percent: bool = False,
    x_label: str = "",
    y_label: str = "",
    fill_to: float | None = None,
    bands: Sequence[Band] = (),
) -> str:
    """Return a line chart (a filled area down to ``fill_to`` when given), or an empty frame.

    ``bands`` are shaded behind the lines (time axis as the series').
    """
    drawn = [s for s in series if len(s.x) == len(s.y) and _finite(s.y)]
    if not drawn:
        return empty_chart(chart, "no finite values to draw")
    figure, axes = _figure(chart)
    for band in bands:
        x = [_days(v) for v in band.x] if time_axis else list(band.x)
        axes.fill_between(
            x, list(band.low), list(band.high), color=band.color, lw=0, label=band.label
        )
    for index, line in enumerate(drawn):
        x = [_days(v) for v in line.x] if time_axis else list(line.x)
        color = line.color or PALETTE[index % len(PALETTE)]
        style = "--" if line.dashed else "-"
        marker = "o" if line.points else None
        axes.plot(x, line.y, style, color=color, label=line.label, lw=1.1, marker=marker, ms=3)
        if fill_to is not None:
            step = max(1, len(x) // 300)  # a fill is not simplified: 300 points suffice
            axes.fill_between(
                x[::step], list(line.y)[::step], fill_to, color=color, alpha=0.25, lw=0
            )
    if time_axis:
        locator = mdates.AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if y_percent:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, color="#e6e6e6", lw=0.6)
    _decorate(axes, chart, time_axis=time_axis)
    return _save(figure, chart)


@_styled
def histogram(chart: Chart, values: Sequence[float], *, bins: int, x_label: str, label: str) -> str:
    """Return a histogram of the finite ``values`` (the count in the legend label)."""
    finite = _finite(values)
    if not finite:
        return empty_chart(chart, "no finite values to draw")
    figure, axes = _figure(chart)
    axes.hist(
        finite, bins=max(1, bins), color=PALETTE[0], alpha=0.8, label=f"{label} ({len(finite):,})"
    )
    axes.set_xlabel(x_label)
    axes.set_ylabel("count")
    axes.grid(True, axis="y", color="#e6e6e6", lw=0.6)
    _decorate(axes, chart, time_axis=False)
    return _save(figure, chart)


@_styled
def bar_chart(
    chart: Chart, labels: Sequence[str], values: Sequence[float], *, y_percent: bool
) -> str:
    """Return labelled bars coloured by sign (a NaN value is left out)."""
    if len(labels) != len(values):
        raise ValueError(
            f"bar_chart {chart.title!r}: expected as many labels as values, found "
            f"{len(labels)} labels and {len(values)} values"
        )
    pairs = [(str(k), float(v)) for k, v in zip(labels, values, strict=True) if _finite([v])]
    if not pairs:
        return empty_chart(chart, "no finite values to draw")
    figure, axes = _figure(chart)
    colors = [PALETTE[3] if v >= 0 else PALETTE[2] for _, v in pairs]
    axes.bar([k for k, _ in pairs], [v for _, v in pairs], color=colors)
    axes.axhline(0.0, color="#444", lw=0.8)
    if y_percent:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    if len(pairs) > 8:
        axes.tick_params(axis="x", labelrotation=45)
    axes.grid(True, axis="y", color="#e6e6e6", lw=0.6)
    return _save(figure, chart)


def number_formatter(suffix: str) -> FuncFormatter:
    """Return a tick formatter that appends ``suffix`` ("2×")."""
    return FuncFormatter(lambda value, _: f"{value:g}{suffix}")
