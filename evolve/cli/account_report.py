"""``evolve report --account STATE``: the account page (evolve.reports.account)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evolve.errors import UsageError


def account_report_command(args: argparse.Namespace) -> int:
    """Write ``<STATE stem>.html`` beside the state file and print its path."""
    from evolve.reports.account import write_account_report
    from execution.errors import PaperError

    if args.run is not None or args.run_dir is not None:
        raise UsageError("--account renders an account; give it without RUN/--run-dir")
    state = Path(args.account)
    out = state.with_name(state.stem + ".html")
    try:
        write_account_report(state, out)
    except PaperError as e:
        raise UsageError(str(e)) from e
    print(f"report:   {out}")
    return 0
