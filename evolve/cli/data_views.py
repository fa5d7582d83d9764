"""Rich renderings for ``evolve data``: dataset list, manifest, gap report, bars, fetch progress."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fitness import BarSeries, DatasetInfo
from fitness.data.timeframes import iso_from_ms

HASH_PREFIX_HEX = 12
MAX_GAPS_SHOWN = 20
_MANIFEST_SKIP = ("gaps", "files")


def datasets_table(datasets: Iterable[DatasetInfo], home: Path) -> Table:
    """Return the ``data ls`` table: name, symbol, timeframe, first, last, bars, gaps, hash."""
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, caption=f"data home: {home}", caption_justify="left"
    )
    for header in ("name", "symbol", "timeframe", "first", "last"):
        table.add_column(header, no_wrap=True)
    table.add_column("bars", justify="right", no_wrap=True)
    table.add_column("gaps", justify="right", no_wrap=True)
    table.add_column("hash", no_wrap=True)
    for info in datasets:
        manifest = info.manifest
        if info.problem:
            table.add_row(info.name, "damaged", "", "", "", "", "", "")
            continue
        gaps = info.gaps
        gap_text = str(gaps.count) if not gaps.count else f"{gaps.count} ({gaps.policy})"
        digest = info.content_hash.removeprefix("sha256:")[:HASH_PREFIX_HEX]
        table.add_row(
            info.name,
            str(manifest.get("symbol", "")),
            str(manifest.get("timeframe", "")),
            _minutes(str(manifest.get("first_timestamp", ""))),
            _minutes(str(manifest.get("last_timestamp", ""))),
            f"{info.n_bars:,}",
            gap_text,
            digest,
        )
    return table


def manifest_table(info: DatasetInfo) -> Table:
    """Return the manifest as a key/value table (nested values as compact JSON)."""
    table = Table(
        title=f"dataset {info.name}", box=box.SIMPLE_HEAD, show_edge=False, title_justify="left"
    )
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("path", str(info.path))
    for key, value in info.manifest.items():
        if key in _MANIFEST_SKIP:
            continue
        if isinstance(value, dict):  # one level flattened: provenance.repository, ...
            for inner, item in value.items():
                table.add_row(f"{key}.{inner}", _value_text(item))
        else:
            table.add_row(key, _value_text(value))
    return table


def gaps_table(info: DatasetInfo) -> Table | str:
    """Return the gap report: totals as the title, one row per gap (first 20); text if none."""
    report = info.gaps
    title = (
        f"gaps: {report.count} (policy {report.policy}; {report.missing_bars} bars missing, "
        f"longest {report.longest_bars})"
    )
    if not report.count:
        return title
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False)
    for header in ("first missing bar", "next bar", "missing bars", "filled"):
        table.add_column(header, no_wrap=True)
    for gap in report.gaps[:MAX_GAPS_SHOWN]:
        filled = "yes" if gap.filled else "no"
        table.add_row(
            iso_from_ms(gap.start_ms), iso_from_ms(gap.end_ms), str(gap.missing_bars), filled
        )
    if report.count > MAX_GAPS_SHOWN:
        table.add_row(f"... and {report.count - MAX_GAPS_SHOWN} more", "", "", "")
    return table


def bars_table(series: BarSeries, rows: int) -> Table:
    """Return the first and last ``rows`` bars (all of them when the series is short)."""
    n_bars = series.n_bars
    title = f"first and last {rows} of {n_bars:,} bars" if n_bars > 2 * rows else "bars"
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
    table.add_column("row", justify="right")
    table.add_column("timestamp (UTC)", no_wrap=True)
    for header in ("open", "high", "low", "close", "volume", "funding_rate"):
        table.add_column(header, justify="right", no_wrap=True)
    indexes = (
        list(range(n_bars))
        if n_bars <= 2 * rows
        else [*range(rows), -1, *range(n_bars - rows, n_bars)]
    )
    for index in indexes:
        if index < 0:
            table.add_row("...", "", "", "", "", "", "", "")
            continue
        values = (
            series.open,
            series.high,
            series.low,
            series.close,
            series.volume,
            series.funding_rate,
        )
        table.add_row(
            str(index + 1),
            iso_from_ms(int(series.timestamp[index])),
            *(f"{float(column[index]):.10g}" for column in values),
        )
    return table


class FetchProgressView:
    """Render fetch progress: Rich bars on a terminal, one plain line per page otherwise.

    Call it with objects having ``kind``, ``since_ms``, ``until_ms``, ``fetched_until_ms`` and
    ``n_rows`` (``execution.exchange.fetch.FetchProgress``).
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        if console.is_terminal:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=console,
            )

    def __enter__(self) -> FetchProgressView:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, update: Any) -> None:
        total = max(int(update.until_ms) - int(update.since_ms), 1)
        done = min(max(int(update.fetched_until_ms) - int(update.since_ms), 0), total)
        detail = f"{update.n_rows:,} rows, up to {_minutes(iso_from_ms(update.fetched_until_ms))}"
        if self.progress is None:
            self.console.print(f"{update.kind}: {detail} ({100 * done / total:.1f}%)")
            return
        if update.kind not in self.tasks:
            self.tasks[update.kind] = self.progress.add_task(update.kind, total=total, detail="")
        self.progress.update(self.tasks[update.kind], total=total, completed=done, detail=detail)


def _minutes(iso: str) -> str:
    # 2024-01-01T00:00:00Z -> 2024-01-01 00:00 (table width; bars are at least a minute)
    return iso.replace("T", " ")[:16] if iso.endswith(":00Z") else iso


def _value_text(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return "" if value is None else str(value)
