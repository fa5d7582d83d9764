"""``evolve runs`` (list runs with their status) and ``evolve lineage ID`` (an ancestry)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from populations import RunDir

_RAW = argparse.RawDescriptionHelpFormatter


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve runs`` and ``evolve lineage`` to ``subparsers``."""
    runs = subparsers.add_parser(
        "runs",
        help="list runs with their status",
        description=paragraph(
            "List the run directories under the runs root, oldest first: run id, status, "
            "generation / total, distinct individuals evaluated (trials), the best robust "
            "score in the hall of fame, data and start time. A run killed by SIGKILL still "
            "says 'running' until it is resumed."
        ),
        epilog="examples:\n  evolve runs\n  evolve runs --runs-root /data/runs",
        formatter_class=_RAW,
    )
    add_option(runs, "runs_root")
    runs.set_defaults(handler=runs_command)

    lineage = subparsers.add_parser(
        "lineage",
        help="print an individual's ancestry with scores",
        description=paragraph(
            "Print an individual and its ancestors (parents, grandparents, ...) breadth-first, "
            "each with its generation, the operator that made it, its objectives and its "
            "expression, from the run's lineage.parquet."
        ),
        epilog="examples:\n  evolve lineage 3f2a9c1b   (a unique id prefix is enough)\n"
        "  evolve lineage 3f2a9c1b04d7e8aa --run-dir runs/20250101-120000-s0-ab12 --depth 3",
        formatter_class=_RAW,
    )
    lineage.add_argument("id", metavar="ID", help="strategy id or a unique prefix of it")
    add_option(lineage, "run_dir")
    add_option(lineage, "runs_root")
    lineage.add_argument(
        "--depth", metavar="N", type=int, default=6, help="deepest ancestor level (default 6)"
    )
    lineage.set_defaults(handler=lineage_command)


def _console() -> Console:
    import sys

    from rich.console import Console

    terminal = sys.stdout.isatty()
    return Console(highlight=False, width=None if terminal else 200, soft_wrap=not terminal)


def _runs_root(value: str | None) -> Path:
    import os

    return Path(value or os.environ.get("EVOLVE_RUNS_ROOT") or "runs")


def _best_score(run_dir: RunDir) -> float:
    import json

    try:
        document = json.loads(run_dir.hall_of_fame_path.read_text("utf-8"))
        member = document["members"][0]
        names = member["objective_names"]
        index = names.index("robust_score") if "robust_score" in names else 0
        return float(member["objectives"][index])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return math.nan


def runs_command(args: argparse.Namespace) -> int:
    """List runs (``evolve runs``)."""
    from rich.table import Table

    from evolve.engine.summary import format_number
    from populations import list_runs

    root = _runs_root(args.runs_root)
    runs = list_runs(root)
    console = _console()
    if not runs:
        console.print(f"no runs under {root.resolve()}; start one with `evolve run`")
        return 0
    table = Table(title=f"runs in {root.resolve()}", title_justify="left")
    for header in ("run id", "status", "generation", "trials", "best score", "data", "created"):
        table.add_column(header, justify="right" if header in ("trials", "best score") else "left")
    for run_dir, manifest in runs:
        table.add_row(
            manifest.run_id,
            manifest.status,
            f"{manifest.generation if manifest.generation >= 0 else '-'}/{manifest.n_generations}",
            f"{manifest.n_evaluated:,}",
            format_number(_best_score(run_dir)),
            ", ".join(entry.get("name", "?") for entry in manifest.data),
            manifest.created_at[:19].replace("T", " "),
        )
    console.print(table)
    return 0


def lineage_command(args: argparse.Namespace) -> int:
    """Print an ancestry (``evolve lineage ID``)."""
    from rich.table import Table

    from evolve.engine.summary import format_number
    from populations import LineageStore, RunDir, ancestry, latest_run

    if args.depth < 0:
        raise UsageError(f"--depth: expected an integer >= 0, found {args.depth}")
    if args.run_dir is not None:
        run_dir = RunDir.open(args.run_dir)
    else:
        root = _runs_root(args.runs_root)
        found = latest_run(root)
        if found is None:
            raise UsageError(
                f"no run under {root.resolve()}; pass --run-dir DIR or --runs-root DIR"
            )
        run_dir = found
    rows = ancestry(LineageStore(run_dir).read(), args.id, max_depth=args.depth)
    console = _console()
    table = Table(title=f"ancestry of {rows[0]['id']} (run {run_dir.run_id})", title_justify="left")
    for header in ("depth", "id", "generation", "operator", "objectives", "parents", "expression"):
        table.add_column(header, overflow="fold" if header == "expression" else "ellipsis")
    for row in rows:
        objectives: Any = row["objectives"]
        parents: Any = row["parent_ids"]
        table.add_row(
            "  " * cast(int, row["depth"]) + str(row["depth"]),
            str(row["id"]),
            str(row["generation"]),
            str(row["operator"]),
            ", ".join(format_number(float(value)) for value in objectives),
            ", ".join(str(parent)[:8] for parent in parents) or "-",
            str(row["expression"]),
        )
    console.print(table)
    return 0
