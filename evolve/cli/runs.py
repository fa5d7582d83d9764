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
        epilog="examples:\n  evolve runs\n  evolve runs --runs-root /data/runs\n"
        "  evolve runs --compare 20250101-120000-s0-ab12 20250102-090000-s1-cd34\n"
        "  evolve runs --compare runs/a runs/b runs/c",
        formatter_class=_RAW,
    )
    add_option(runs, "runs_root")
    runs.add_argument(
        "--compare",
        nargs="+",
        metavar="RUN",
        help="put these runs side by side (run ids under the runs root, or directories): seed, "
        "data, generations, trials, best score, hall-of-fame size, promoted count",
    )
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


def console() -> Console:
    """Return a console for tables: terminal width, or 200 columns into pipes and logs."""
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
    if args.compare:
        return compare_runs([_named_run(root, name) for name in args.compare])
    runs = list_runs(root)
    out = console()
    if not runs:
        out.print(f"no runs under {root.resolve()}; start one with `evolve run`")
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
    out.print(table)
    return 0


def _named_run(root: Path, name: str) -> RunDir:
    from populations import RunDir

    path = Path(name)
    if not path.is_dir() and (root / name).is_dir():
        path = root / name
    return RunDir.open(path)


def _hall_size(run_dir: RunDir) -> int | None:
    import json

    try:
        return len(json.loads(run_dir.hall_of_fame_path.read_text("utf-8"))["members"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _promoted(run_dir: RunDir) -> str:
    import json

    path = run_dir.path / "promotion.json"
    try:
        summary = json.loads(path.read_text("utf-8"))["summary"]
        return f"{int(summary['n_promoted'])} of {int(summary['n_candidates'])}"
    except FileNotFoundError:
        return "not promoted yet"
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable promotion.json"


def compare_rows(run_dirs: list[RunDir]) -> list[tuple[str, list[str]]]:
    """Return ``(fact, one value per run)`` rows: the runs side by side."""
    from evolve.engine.summary import format_number

    manifests = [run_dir.read_manifest() for run_dir in run_dirs]
    facts: list[tuple[str, Any]] = [
        ("status", lambda r, m: m.status),
        ("seed", lambda r, m: str(m.seed)),
        ("data", lambda r, m: ", ".join(e.get("name", "?") for e in m.data)),
        (
            "generations",
            lambda r, m: f"{m.generation if m.generation >= 0 else '-'}/{m.n_generations}",
        ),
        ("trials", lambda r, m: f"{m.n_evaluated:,}"),
        ("best score", lambda r, m: format_number(_best_score(r))),
        ("hall of fame", lambda r, m: "-" if _hall_size(r) is None else str(_hall_size(r))),
        ("promoted", lambda r, m: _promoted(r)),
        ("config hash", lambda r, m: m.config_hash[:12]),
        ("created", lambda r, m: m.created_at[:19].replace("T", " ")),
    ]
    return [
        (name, [value(r, m) for r, m in zip(run_dirs, manifests, strict=True)])
        for name, value in facts
    ]


def compare_runs(run_dirs: list[RunDir]) -> int:
    """Print runs side by side, one column per run (``evolve runs --compare``)."""
    from rich.table import Table

    table = Table(title="runs side by side", title_justify="left")
    table.add_column("")
    for run_dir in run_dirs:
        table.add_column(run_dir.run_id, overflow="fold")
    for name, values in compare_rows(run_dirs):
        table.add_row(name, *values)
    console().print(table)
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
    out = console()
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
    out.print(table)
    return 0
