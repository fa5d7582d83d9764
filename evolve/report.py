"""End-of-run report: the summary table on the terminal and ``summary.md`` in the run dir."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evolve.events import GenerationCompleted
from evolve.progress import format_number, format_seconds, format_stability
from fitness.atomic import write_text_atomic
from populations import StrategySpec

TOP_ROWS = 10


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the end-of-run report shows."""

    run_id: str
    run_dir: str
    status: str
    datasets: list[str]
    timeframe: str
    seed: int
    generation: int
    n_generations: int
    n_trials: int
    elapsed_seconds: float
    objective_names: list[str]
    members: list[StrategySpec]
    last: GenerationCompleted | None = None


def _metric(spec: StrategySpec, split: str, name: str) -> float:
    value = spec.metrics.get(split, {}).get(name, math.nan)
    return float(value)


def _rows(summary: RunSummary) -> list[list[str]]:
    rows = []
    for rank, spec in enumerate(summary.members[:TOP_ROWS], start=1):
        objectives = [format_number(value) for value in spec.objectives]
        rows.append(
            [
                str(rank),
                spec.id,
                *objectives,
                format_number(_metric(spec, "train", "sharpe")),
                format_number(_metric(spec, "validation", "sharpe")),
                format_number(_metric(spec, "validation", "n_trades")),
                format_stability(spec.stability),
                spec.pretty,
            ]
        )
    return rows


def _headers(summary: RunSummary) -> list[str]:
    return [
        "#",
        "id",
        *summary.objective_names,
        "train Sharpe",
        "val Sharpe",
        "val trades",
        "stability",
        "strategy",
    ]


def _facts(summary: RunSummary) -> list[tuple[str, str]]:
    facts = [
        ("run", summary.run_id),
        ("status", summary.status),
        ("run dir", summary.run_dir),
        ("data", f"{', '.join(summary.datasets)} ({summary.timeframe})"),
        ("seed", str(summary.seed)),
        ("generations", f"{summary.generation}/{summary.n_generations}"),
        ("distinct individuals evaluated (trials)", f"{summary.n_trials:,}"),
        ("elapsed", format_seconds(summary.elapsed_seconds)),
        ("hall of fame", f"{len(summary.members)} members"),
    ]
    if summary.last is not None:
        facts.append(("Pareto front (population)", str(summary.last.pareto_size)))
        facts.append(
            (
                "best validation score (top-5 mean Sharpe)",
                format_number(summary.last.best_validation_score),
            )
        )
    return facts


def summary_markdown(summary: RunSummary) -> str:
    """Return ``summary.md``: run facts and the best hall-of-fame members."""
    lines = [f"# Run {summary.run_id}", ""]
    lines += [f"- **{name}**: {value}" for name, value in _facts(summary)]
    lines += [
        "",
        f"## Hall of fame (best {min(TOP_ROWS, len(summary.members))} by robust score)",
        "",
    ]
    headers = _headers(summary)
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in _rows(summary):
        cells = [*row[:-1], f"`{row[-1]}`"]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += [
        "",
        "Objectives are penalised (complexity and lineage-stability penalties applied); "
        "validation metrics were never used for selection. Full specs: `hall_of_fame.json`; "
        "ancestry: `evolve lineage ID --run-dir " + summary.run_dir + "`.",
        "",
    ]
    return "\n".join(lines)


def write_summary(path: Path, summary: RunSummary) -> None:
    """Write ``summary.md`` atomically."""
    write_text_atomic(Path(path), summary_markdown(summary))


def print_summary(console: Console, summary: RunSummary) -> None:
    """Print the run facts and the hall-of-fame table."""
    facts = Table(box=None, show_header=False, padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    for name, value in _facts(summary):
        facts.add_row(name, value)
    console.print(facts)
    table = Table(title="hall of fame", title_justify="left")
    for header in _headers(summary):
        table.add_column(header, overflow="fold" if header == "strategy" else "ellipsis")
    for row in _rows(summary):
        table.add_row(*row)
    console.print(table)
