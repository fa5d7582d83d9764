"""End-of-run summary: the facts and hall-of-fame rows of ``summary.md``, and their number formats.

Plain text only: the terminal rendering of the same rows lives in ``evolve.cli.progress``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from fitness.data.atomic import write_text_atomic
from populations import StrategySpec

TOP_ROWS = 10


def format_seconds(seconds: float) -> str:
    """Return ``seconds`` as ``m:ss`` or ``h:mm:ss`` (``-`` when unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_number(value: float, digits: int = 3) -> str:
    """Return a compact number (``-`` for NaN, thousands separators for big values)."""
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def format_stability(value: float | None) -> str:
    """Return a probe stability (a ratio floored at -1), ``-`` before the probe ran."""
    return "-" if value is None else format_number(value)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the end-of-run report shows.

    Every field comes from the run's state and ``run.json``, never from the last generation
    event of this session (a resume may run no generation): ``elapsed_seconds`` is summed over
    all sessions, ``pareto_size`` is the population's first front (``None`` before generation
    0) and ``best_validation_score`` the early-stopping record.
    """

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
    pareto_size: int | None = None
    best_validation_score: float = math.nan


def _metric(spec: StrategySpec, split: str, name: str) -> float:
    value = spec.metrics.get(split, {}).get(name, math.nan)
    return float(value)


def summary_rows(summary: RunSummary) -> list[list[str]]:
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


def summary_headers(summary: RunSummary) -> list[str]:
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


def summary_facts(summary: RunSummary) -> list[tuple[str, str]]:
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
    if summary.pareto_size is not None:
        facts.append(("Pareto front (population)", str(summary.pareto_size)))
        facts.append(
            (
                "best validation score (top-5 mean Sharpe)",
                format_number(summary.best_validation_score),
            )
        )
    return facts


def summary_markdown(summary: RunSummary) -> str:
    """Return ``summary.md``: run facts and the best hall-of-fame members."""
    lines = [f"# Run {summary.run_id}", ""]
    lines += [f"- **{name}**: {value}" for name, value in summary_facts(summary)]
    lines += [
        "",
        f"## Hall of fame (best {min(TOP_ROWS, len(summary.members))} by robust score)",
        "",
    ]
    headers = summary_headers(summary)
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in summary_rows(summary):
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
