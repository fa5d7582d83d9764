"""``evolve run``: start or resume an evolution run (the engine is ``evolve.engine.loop``)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

if TYPE_CHECKING:
    from evolve.engine.events import EventSink

EPILOG = """\
examples:
  evolve run                                          default run on the bundled BTC+ETH 1h data
  evolve run --config examples/configs/quick.toml     a small, fast run
  evolve run --data bundled/BTCUSDT-1h --seed 7 --population 300 --generations 40
  evolve run --seed-templates examples/seeds.txt      seed generation 0 with classic strategies
  evolve run --resume                                 continue the latest run under ./runs
  evolve run --run-dir runs/20250101-120000-s0-ab12 --resume --generations 60
  evolve run --resume --generations 80 --patience 30   extend a completed or early-stopped run

Runs are created under --runs-root (default ./runs, relative to the current directory);
the run directory is printed at start. Precedence: defaults < --config file < environment
(EVOLVE_WORKERS, EVOLVE_SEED, EVOLVE_RUNS_ROOT, EVOLVE_RAY_ADDRESS) < flags. A resume refuses
(exit 2) when the data or a result-affecting setting changed; --generations and --workers
may change and --patience may be raised (never lowered). Resuming a completed or
early-stopped run with a larger --generations extends it (an early-stopped one without
--patience runs on with early stopping off; --patience P keeps it on), recorded under
"extensions" in run.json; with nothing to do it says so, exits 0 and changes no file.
Ctrl-C stops at once (exit 3): the last complete generation is safe. On a terminal, q stops
after the generation in progress is written (exit 3, resume as after Ctrl-C).

exit codes: 0 ok, 1 internal error, 2 bad input, 3 interrupted."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve run`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "run",
        help="evolve strategies (or --resume a run)",
        description=paragraph(
            "Evolve trading strategies by typed genetic programming with NSGA-II over the "
            "walk-forward objectives, writing a run directory (config.toml, run.json, "
            "checkpoints/, lineage.parquet, hall_of_fame.json, events.jsonl, summary.md). "
            "Results depend only on the data, the configuration and the seed — not on the "
            "worker count, nor on interruptions and resumes."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in ("config", "data"):
        add_option(parser, name)
    add_option(parser, "timeframe", required=False, help="require this bar timeframe")
    for name in (
        "seed",
        "population",
        "generations",
        "patience",
        "workers",
        "ray_address",
        "runs_root",
        "run_dir",
        "resume",
        "seed_templates",
    ):
        add_option(parser, name)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain progress lines even on a terminal (default: live view on a terminal)",
    )
    parser.set_defaults(handler=run_command)


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the dotted config overrides given as flags (only the flags actually passed)."""
    from evolve.config import absolute_datasets

    pairs = {
        "data.datasets": None if args.data is None else absolute_datasets(args.data, Path.cwd()),
        "data.timeframe": args.timeframe,
        "run.seed": args.seed,
        "gp.population": args.population,
        "gp.generations": args.generations,
        "gp.patience": args.patience,
        "run.workers": args.workers,
        "run.ray_address": args.ray_address,
        "run.runs_root": args.runs_root,
        "gp.seed_templates": None
        if args.seed_templates is None
        else str(Path(args.seed_templates).resolve()),
    }
    return {key: value for key, value in pairs.items() if value is not None}


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (tests driving main() from a thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_command(args: argparse.Namespace) -> int:
    """Start or resume a run (``evolve run``)."""
    from evolve.cli.keys import quit_on_key
    from evolve.cli.progress import make_view, print_summary
    from evolve.config import load_config, read_resolved_config
    from evolve.engine.loop import RunInterruptedError, new_run
    from evolve.engine.resume import NothingToDo, implied_patience, resume_run

    overrides = flag_overrides(args)
    view = make_view(plain=True if args.plain else None)
    notice = "q: stopping after the generation in progress (Ctrl-C stops at once)"
    with _sigterm_as_interrupt(), quit_on_key(lambda: view.note(notice)) as quit_key:
        sinks: list[EventSink] = [view, quit_key]
        try:
            if args.resume:
                run_dir = _run_to_resume(args, overrides)
                if args.patience is None and args.config is None:
                    patience = implied_patience(run_dir.read_manifest(), args.generations)
                    if patience is not None:
                        overrides["gp.patience"] = patience
                base = read_resolved_config(run_dir.config_path).to_dict()
                config = load_config(args.config, base=base, overrides=overrides)
                result = resume_run(run_dir, config, sinks=sinks)
            else:
                config = load_config(args.config, overrides=overrides)
                result = new_run(config, run_dir=args.run_dir, sinks=sinks)
        except RunInterruptedError as e:
            safe = (
                f"generation {e.generation} is safe"
                if e.generation >= 0
                else "no generation had completed"
            )
            print(
                f"evolve: interrupted; run {e.run_dir.run_id}: {safe}; continue with: "
                f"evolve run --run-dir {e.run_dir.path} --resume",
                file=sys.stderr,
            )
            return 3
    if isinstance(result, NothingToDo):
        view.console.print(result.message, soft_wrap=True, highlight=False, markup=False)
        return 0
    print_summary(view.console, result.summary)
    view.console.print(f"summary: {result.run_dir.summary_path}")
    return 0


def _run_to_resume(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    from evolve.config import load_config
    from populations import RunDir, latest_run

    if args.run_dir is not None:
        return RunDir.open(args.run_dir)
    runs_root = Path(load_config(args.config, overrides=overrides).run.runs_root)
    run_dir = latest_run(runs_root)
    if run_dir is None:
        raise UsageError(
            f"--resume: no run to resume under {runs_root.resolve()} (no directory with a "
            "run.json); pass --run-dir DIR or --runs-root DIR, or start a run without --resume"
        )
    return run_dir
