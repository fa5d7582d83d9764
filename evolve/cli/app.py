"""The ``evolve`` command line: the parser, the command registry and exit codes (DESIGN §5).

Exit codes: 0 success; 1 internal error (a bug: traceback printed); 2 bad input or usage (one
``evolve: error: ...`` line, no traceback); 3 interrupted (Ctrl-C). A command is a module under
``evolve.commands`` with ``register(subparsers)``; it sets ``handler`` on its parser. Heavy
imports (fitness, rich, ray, ccxt) happen inside handlers, so ``evolve --help`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from collections.abc import Callable, Iterator

from evolve import __version__
from evolve.cli import backtest as backtest_command
from evolve.cli import data as data_command
from evolve.cli import language as language_command
from evolve.cli import lifecycle as lifecycle_command
from evolve.cli import live as live_command
from evolve.cli import paper as paper_command
from evolve.cli import portfolio as portfolio_command
from evolve.cli import promote as promote_command
from evolve.cli import run as run_command
from evolve.cli import runs as runs_command
from evolve.cli import status as status_command

# the registry: every command module registers its subcommands (live comes later)
COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    data_command.register,
    run_command.register,
    runs_command.register,
    promote_command.register,
    backtest_command.register,
    language_command.register,
    paper_command.register,
    live_command.register,
    status_command.register,
    lifecycle_command.register,
    portfolio_command.register,
)

DESCRIPTION = """\
Discover trading strategies for crypto perpetual futures by strongly typed genetic programming,
backtest them honestly (fees, slippage, funding, latency, walk-forward folds), and hand the
survivors to a paper or live executor."""

EPILOG = """\
examples:
  evolve run                                      evolve on the bundled BTC+ETH 1h data
  evolve run --resume                             continue the latest run
  evolve runs                                     list runs with their status
  evolve lineage ID                               an individual's ancestry with scores
  evolve promote                                  the promotion gauntlet on the latest run
  evolve report RUN                               regenerate report.html and promotion.md
  evolve runs --compare RUN RUN                   runs side by side
  evolve backtest "long_only(gt(close, sma(close, 50)))" --plot chart.svg
                                                  one strategy: metrics per split and symbol
  evolve primitives                               the strategy language
  evolve paper RUN --replay bundled/BTCUSDT-1h   replay promoted specs in a paper account
  evolve status                                   the paper account's positions and equity
  evolve live RUN --mode demo                     trade on the venue's demo (keys from env)
  evolve kill                                     halt: cancel, flatten, stop within one poll
  evolve deploy SPEC --to demo                    move a strategy up with its evidence
  evolve data ls                                  list datasets (bundled ones included)
  evolve data show bundled/BTCUSDT-1h             manifest, gaps and first/last bars
  evolve data import btc.csv --symbol BTCUSDT --timeframe 1h --funding funding.csv
  evolve data fetch --exchange binanceusdm --symbol BTC/USDT:USDT --timeframe 1h \\
      --since 2024-01-01

data home: $EVOLVE_HOME, or --home DIR, else the user data directory
(~/.local/share/evolve on Linux, ~/Library/Application Support/evolve on macOS).

exit codes: 0 ok, 1 internal error (a bug), 2 bad input or usage, 3 interrupted.
Run 'evolve COMMAND --help' for the options of a command."""


def build_parser() -> argparse.ArgumentParser:
    """Return the ``evolve`` argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="evolve",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"evolve {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    for command in _command_parsers(parser):
        command.set_defaults(command_parser=command)
    return parser


def _command_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Yield every (nested) command parser below ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):  # aliases once
                yield command
                yield from _command_parsers(command)


def suggestion(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """Return "; did you mean --x?" for the first unknown option close to one of ``parser``'s."""
    known = [flag for action in parser._actions for flag in action.option_strings]
    for word in unknown:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
            if close:
                return f"; did you mean {close[0]}?"
    return ""


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown argument is reported by the command it was given to (its
    usage, and the closest option), not by the top-level parser."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = getattr(args, "command_parser", None) or parser
        command.error(f"unrecognized arguments: {' '.join(unknown)}{suggestion(command, unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the ``evolve`` command line and return its exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as e:  # --help, --version (0) and usage errors (2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    handler = getattr(args, "handler", None)
    if handler is None:
        (getattr(args, "print_help", None) or parser.print_help)()
        return 2
    from evolve.errors import input_errors  # fitness, pydantic: after parsing, never for --help

    try:
        return int(handler(args) or 0)
    except input_errors() as e:
        print(f"evolve: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evolve: interrupted", file=sys.stderr)
        return 3
    except BrokenPipeError:  # e.g. `evolve data ls | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except Exception:
        traceback.print_exc()
        print(
            "evolve: internal error (a bug); please report it with the traceback above",
            file=sys.stderr,
        )
        return 1


def one_line(error: BaseException) -> str:
    """Return the message of ``error`` on one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__
