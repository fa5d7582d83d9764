"""``evolve promote [RUN]`` (the promotion gauntlet) and ``evolve report [RUN]`` (re-render it)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

_RAW = argparse.RawDescriptionHelpFormatter

PROMOTE_EPILOG = """\
examples:
  evolve promote                                   the latest run under ./runs
  evolve promote runs/20250101-120000-s0-ab12      a given run
  evolve promote --null-runs 5 --workers 2         also repeat the search on 5 surrogate markets
  evolve promote --config promotion.toml           thresholds from its [promotion] table

Gates (defaults; every one is a [promotion] key): selection stage DSR >= 0.95 (dsr_min) on
the stitched discovery+validation record against the expected maximum Sharpe of the run's
effective trials (selection_sample "stitched"; "validation" for validation only), V[SR_n]
the sampling variance zero-skill trials show (sharpe_variance "estimation"; "trials" for
their cross-sectional variance); confirmation stage holdout PSR(0) at
family-wise 5% (psr_min 0.95), Holm over candidate clusters (confirmation_method,
cluster_correlation_min); at 2x fees and slippage PSR >= 0.95 and return > 0
(cost_stress_multiplier, cost_stress_psr_min);
perturbation stability >= 0.7 (stability_min); holdout trades >= MinTRL; holdout PSR(0)
without the best month >= 0.9 and P&L without the best 5% of trades > 0
(concentration_psr_min, concentration_top_trades); correlation < 0.7 with promoted
strategies (correlation_max); 95th-percentile bootstrap drawdown <= 30% (drawdown_budget);
PBO, SPA and the null-model percentile are reported, and gated only when pbo_max /
spa_max_pvalue / null_percentile_min are set.

Writes RUN/promoted/<id>.json (state "promoted"), RUN/promotion.json (every decision),
RUN/report.html and RUN/promotion.md. Re-running gives the same decisions (seeded).

exit codes: 0 ok (also when nothing is promoted), 1 internal error, 2 bad input."""

REPORT_EPILOG = """\
examples:
  evolve report runs/20250101-120000-s0-ab12
  evolve report                                    the latest run under ./runs

Needs nothing but RUN/promotion.json (written by evolve promote)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve promote`` and ``evolve report`` to ``subparsers``."""
    promote = subparsers.add_parser(
        "promote",
        help="take a run's hall of fame through the promotion gauntlet",
        description=paragraph(
            "Test every hall-of-fame member of a finished run, once, on the holdout evolution "
            "never saw: deflated Sharpe with the run's effective number of trials, PSR, PBO, "
            "cost stress, perturbation stability, minimum track record, concentration, "
            "correlation with promoted strategies and the bootstrap drawdown. A candidate "
            "passes every gate or is rejected with the gates it failed and by how much."
        ),
        epilog=PROMOTE_EPILOG,
        formatter_class=_RAW,
    )
    _run_arguments(promote)
    promote.add_argument(
        "--null-runs",
        metavar="K",
        type=int,
        help="repeat the run's search on K surrogate datasets (the null model; default 0)",
    )
    add_option(
        promote,
        "workers",
        default=1,
        help="evaluation workers of the null-model searches (default 1: in-process)",
    )
    add_option(
        promote,
        "config",
        help="TOML file whose [promotion] table sets thresholds (other tables are ignored)",
    )
    promote.set_defaults(handler=promote_command)

    report = subparsers.add_parser(
        "report",
        help="regenerate a run's review report from its promotion.json",
        description=paragraph(
            "Render RUN/report.html (self-contained, opens without network) and "
            "RUN/promotion.md again from RUN/promotion.json."
        ),
        epilog=REPORT_EPILOG,
        formatter_class=_RAW,
    )
    _run_arguments(report)
    report.add_argument(
        "--account",
        type=Path,
        metavar="STATE",
        help="render a trading account's state file instead (equity, fills, funding, events, "
        "lifecycle); writes STATE's stem + .html beside it",
    )
    report.set_defaults(handler=report_command)


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        nargs="?",
        metavar="RUN",
        type=Path,
        help="run directory or run id under --runs-root (default: the latest run)",
    )
    add_option(parser, "run_dir", help="run directory (same as RUN)")
    add_option(parser, "runs_root")


def resolve_run(args: argparse.Namespace) -> Any:
    """Return the run directory named by RUN / --run-dir, else the latest under --runs-root.

    Raises
    ------
    UsageError
        When both RUN and --run-dir are given, or no run exists under the runs root.
    RunDirError
        When the named path is not a run directory.
    """
    from populations import RunDir, latest_run

    if args.run is not None and args.run_dir is not None and args.run != args.run_dir:
        raise UsageError(f"RUN {args.run} and --run-dir {args.run_dir} differ; give one of them")
    named = args.run if args.run is not None else args.run_dir
    runs_root = Path(args.runs_root or os.environ.get("EVOLVE_RUNS_ROOT") or "runs")
    if named is not None:
        path = Path(named)
        if not path.is_dir() and (runs_root / path).is_dir():  # a run id, as `runs` lists it
            path = runs_root / path
        return RunDir.open(path)
    run_dir = latest_run(runs_root)
    if run_dir is None:
        raise UsageError(
            f"no run under {runs_root.resolve()} (no directory with a run.json); pass RUN or "
            "--runs-root DIR"
        )
    return run_dir


def promote_command(args: argparse.Namespace) -> int:
    """Run the gauntlet on a run and print the verdict (``evolve promote``)."""
    from evolve.config.promotion_config import load_promotion_config
    from evolve.promotion.promoter import promote_run, summary_line
    from evolve.reports.files import write_reports

    if args.null_runs is not None and args.null_runs < 0:
        raise UsageError(f"--null-runs: expected a count >= 0, found {args.null_runs}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers: expected a count >= 0, found {args.workers}")
    run_dir = resolve_run(args)
    config = load_promotion_config(
        run_dir.config_path, args.config, overrides={"null_runs": args.null_runs}
    )
    workers = args.workers or (os.cpu_count() or 1)
    result = promote_run(run_dir, config, workers=workers)
    html_path, _ = write_reports(result.run_dir.path, result.evidence)
    print(summary_line(result))
    for candidate in result.evidence["candidates"]:
        verdict = "PROMOTED" if candidate["promoted"] else "rejected"
        failed = ", ".join(candidate["failed"])
        print(
            f"  {candidate['rank']:>3}  {candidate['id']}  {verdict}"
            + (f"  (failed: {failed})" if failed else "")
        )
    print(f"evidence: {result.evidence_path}")
    print(f"report:   {html_path}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Re-render report.html and promotion.md from promotion.json (``evolve report``)."""
    from evolve.reports.files import regenerate_reports

    if args.account is not None:
        from evolve.cli.account_report import account_report_command

        return account_report_command(args)
    run_dir = resolve_run(args)
    html_path, markdown_path = regenerate_reports(run_dir.path)
    print(f"report:   {html_path}")
    print(f"markdown: {markdown_path}")
    stale = _stale_evidence(run_dir)
    if stale:
        print(f"warning: {stale}", file=sys.stderr)
    return 0


def _stale_evidence(run_dir: Any) -> str | None:
    # a run extended after its promotion has a new hall of fame: the report would mislead
    import json

    from populations import read_hall_of_fame

    try:
        evidence = json.loads((run_dir.path / "promotion.json").read_text("utf-8"))
        _, members = read_hall_of_fame(run_dir.hall_of_fame_path)
    except (OSError, ValueError):
        return None
    judged = {str(c.get("id")) for c in evidence.get("candidates", []) if isinstance(c, dict)}
    current = {member.id for member in members}
    if judged == current:
        return None
    return (
        f"promotion.json judged {len(judged)} candidates, but the run's hall of fame now holds "
        f"{len(current)} ({len(current - judged)} not judged): the run changed after its "
        f"promotion (extended?); run `evolve promote {run_dir.path}` again"
    )
