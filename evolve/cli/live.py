"""``evolve live SPEC_OR_RUN... --mode demo|live``, ``evolve kill``, ``evolve unhalt --confirm``.

The gates of ``--mode live`` are checked before anything talks to the venue: the ``--live``
flag, ``EVOLVE_LIVE_CONFIRM`` equal to the account fingerprint this command prints, every
spec's paper/demo track record, and the keys. A refusal names every missing piece (exit 2).
``execution`` (and so ccxt) is imported only inside the command functions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from evolve.cli.data import resolve_home
from evolve.cli.lifecycle import add_lifecycle_config, lifecycle_config
from evolve.cli.options import add_option
from evolve.cli.paper import _interruptible, specs_and_weights
from evolve.cli.status import account_file
from evolve.errors import UsageError

DEFAULT_MIN_RECORD_BARS = 168  # one week of 1h bars in paper or demo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve live``, ``evolve kill`` and ``evolve unhalt``."""
    parser = subparsers.add_parser(
        "live",
        help="trade promoted strategies on the venue's demo (--mode demo) or for real",
        description=(
            "Trade promoted strategies through ccxt behind the paper model, a risk engine, "
            "reconciliation and a kill switch. --mode live also needs --live, "
            "EVOLVE_LIVE_CONFIRM=<fingerprint> and a paper/demo track record per spec."
        ),
        epilog=(
            "examples:\n"
            "  evolve live runs/RUN --mode demo                 # the venue's demo, demo keys\n"
            "  evolve live portfolio.json --mode demo --risk risk.toml\n"
            "  EVOLVE_LIVE_CONFIRM=<printed fingerprint> evolve live runs/RUN --mode live --live\n"
            "keys come only from the environment: EVOLVE_BINANCEUSDM[_DEMO]_API_KEY / _SECRET\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC_OR_RUN",
        help="promoted spec files, run directories (their promoted/*.json) or one portfolio "
        "file (evolve portfolio: specs and weights)",
    )
    parser.add_argument(
        "--mode",
        choices=("demo", "live"),
        required=True,
        help="demo: the venue's demo with demo keys (state <data home>/demo/account.sqlite); "
        "live: real money, also needing --live, EVOLVE_LIVE_CONFIRM and a track record "
        "(state <data home>/live/account.sqlite)",
    )
    parser.add_argument("--live", action="store_true", help="required with --mode live")
    parser.add_argument("--state", type=Path, metavar="PATH", help="the account's state file")
    parser.add_argument("--equity", type=float, default=10_000.0, help="capital traded (quote)")
    parser.add_argument("--weights", metavar="W,W,...", help="capital weights, one per strategy")
    parser.add_argument("--exchange", default="binanceusdm", help="ccxt exchange id")
    parser.add_argument("--risk", type=Path, metavar="TOML", help="a file with a [risk] table")
    parser.add_argument("--leverage", type=int, default=2, help="venue leverage setting (margin)")
    parser.add_argument(
        "--margin-mode",
        choices=("cross", "isolated"),
        default="cross",
        help="venue margin mode, set and verified per symbol at start: cross or isolated "
        "(default cross)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        action="append",
        metavar="PATH",
        help="paper/demo state files holding the track record (default: the paper and demo "
        "accounts under the data home)",
    )
    parser.add_argument(
        "--min-record-bars",
        type=int,
        default=DEFAULT_MIN_RECORD_BARS,
        help=f"bars each spec traded in paper or demo (default {DEFAULT_MIN_RECORD_BARS})",
    )
    add_lifecycle_config(parser)
    add_option(parser, "home")
    parser.set_defaults(handler=live_command)

    kill = subparsers.add_parser(
        "kill",
        help="halt an account: cancel, flatten, stop",
        epilog="examples:\n  evolve kill\n  evolve kill --state $EVOLVE_HOME/demo/account.sqlite\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kill.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="the account's state file (default: the one account file under the data home: "
        "paper, demo or live)",
    )
    add_option(kill, "home")
    kill.set_defaults(handler=kill_command)

    unhalt = subparsers.add_parser(
        "unhalt",
        help="clear a halt (after checking the venue)",
        epilog="examples:\n  evolve status            # check the venue position first\n"
        "  evolve unhalt --confirm\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    unhalt.add_argument("--confirm", action="store_true", help="required")
    unhalt.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="the account's state file (default: the one account file under the data home: "
        "paper, demo or live)",
    )
    add_option(unhalt, "home")
    unhalt.set_defaults(handler=unhalt_command)


def _state_path(args: argparse.Namespace, folder: str = "live") -> Path:
    if args.state:
        return Path(args.state)
    return resolve_home(args.home) / folder / "account.sqlite"


def kill_command(args: argparse.Namespace) -> int:
    """Write an active halt row; the runner flattens and stops within one poll."""
    from execution.state import StateStore

    path = account_file(args, replay=False)
    store = StateStore(path)
    try:
        halt_id = store.add_halt("evolve kill")
    finally:
        store.close()
    print(f"evolve kill: halt {halt_id} written to {path}; the runner flattens within one poll")
    return 0


def unhalt_command(args: argparse.Namespace) -> int:
    """Clear every active halt (needs --confirm)."""
    from execution.state import StateStore

    if not args.confirm:
        raise UsageError("unhalt: pass --confirm (after checking the venue's positions)")
    path = account_file(args, replay=False)
    store = StateStore(path)
    try:
        cleared = store.clear_halts()
    finally:
        store.close()
    print(f"evolve unhalt: {cleared} halt(s) cleared in {path}")
    return 0


def fingerprint(exchange: str, account_id: str, spec_ids: list[str], gross: float) -> str:
    """Return the account fingerprint ``EVOLVE_LIVE_CONFIRM`` must equal."""
    text = f"{exchange}|{account_id}|{','.join(sorted(spec_ids))}|{gross:.2f}"
    return f"{exchange}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def track_record(paths: list[Path], strategy: str) -> int:
    """Return the most bars ``strategy`` was marked in any of the paper/demo state files.

    State files written by ``evolve paper --replay`` do not count: replayed bars are history.
    """
    import sqlite3

    best = 0
    for path in paths:
        if not path.is_file():
            continue
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            try:
                feed = db.execute("SELECT value FROM meta WHERE key = 'feed'").fetchone()
                if feed is not None and str(feed[0]) == "replay":
                    continue  # a replay of stored bars is a backtest, never a track record
                row = db.execute(
                    "SELECT COUNT(DISTINCT bar_time) FROM strategy_marks WHERE strategy = ?",
                    (strategy,),
                ).fetchone()
            except sqlite3.DatabaseError:
                continue
        best = max(best, int(row[0]))
    return best


def _keys_present(exchange: str, demo: bool) -> list[str]:
    prefix = f"EVOLVE_{exchange.upper()}_" + ("DEMO_" if demo else "")
    return [name for name in (prefix + "API_KEY", prefix + "SECRET") if not os.environ.get(name)]


def live_command(args: argparse.Namespace) -> int:
    """Check the gates, then run the account until Ctrl-C (3) or a halt (0)."""
    from execution.errors import ExchangeError, ExchangeInputError, PaperError
    from execution.risk import load_limits
    from execution.runner import StrategyRun, account_id_of
    from fitness import CostModel

    monitor = lifecycle_config(args)  # a bad [lifecycle] value fails before anything else
    specs, weights = specs_and_weights(args)
    try:
        limits = load_limits(args.risk)
    except (OSError, ValueError) as e:
        raise UsageError(f"--risk: {e}") from e
    runs = [
        StrategyRun(s.id, s.expression, CostModel.model_validate(s.costs), w, s.to_json())
        for s, w in zip(specs, weights, strict=True)
    ]
    account_id = account_id_of(runs, args.equity)
    gross = limits.max_gross_leverage * args.equity
    print_ = lambda text: print(text, file=sys.stderr)  # noqa: E731
    missing: list[str] = []
    demo = args.mode == "demo"
    if not demo:
        mark = fingerprint(args.exchange, account_id, [s.id for s in specs], gross)
        print_(
            f"evolve live: dry check: exchange {args.exchange}, account {account_id}, "
            f"strategies {', '.join(s.id for s in specs)}, max gross exposure {gross:.2f}; "
            f"fingerprint {mark}"
        )
        if not args.live:
            missing.append("the --live flag")
        if os.environ.get("EVOLVE_LIVE_CONFIRM") != mark:
            missing.append(f"EVOLVE_LIVE_CONFIRM={mark} in the environment")
        home = resolve_home(args.home)
        records = args.record or [
            home / "paper" / "account.sqlite",
            home / "demo" / "account.sqlite",
        ]
        for spec in specs:
            bars = track_record(records, spec.id)
            if bars < args.min_record_bars:
                missing.append(
                    f"a paper/demo track record of spec {spec.id}: {bars} bars, need "
                    f"{args.min_record_bars}"
                )
        missing += _not_deployed(_state_path(args), [s.id for s in specs])
    missing += [f"{name} in the environment" for name in _keys_present(args.exchange, demo)]
    if missing:
        raise UsageError(f"evolve live --mode {args.mode} refused; missing: " + "; ".join(missing))
    try:
        return _run(args, specs, runs, limits, demo, monitor)
    except (PaperError, ExchangeInputError) as e:
        raise UsageError(str(e)) from e
    except ExchangeError as e:  # the network or the venue failed after retries: not a bug
        print(f"evolve: error: {e}; the state is saved, re-run the same command", file=sys.stderr)
        return 1


def _not_deployed(state: Path, spec_ids: list[str]) -> list[str]:
    """Name every spec the live account's ledger never held in state ``live``.

    A spec that reached ``live`` here and was demoted or retired since still starts: the
    runner must be able to restart (after ``kill -9``) and keep its venue leg flat — it then
    trades in the model only (``execution.lifecycle.on_venue``); refusing it would leave the
    account's positions on the venue with nothing managing them.
    """
    from execution.lifecycle import current_state, transitions
    from execution.state import StateStore

    states = {spec_id: "promoted" for spec_id in spec_ids}
    reached: set[str] = set()
    if state.is_file():
        store = StateStore(state, readonly=True)
        try:
            states = {spec_id: current_state(store, spec_id)[0] for spec_id in spec_ids}
            reached = {
                spec_id
                for spec_id in spec_ids
                if any(row["to_state"] == "live" for row in transitions(store, spec_id))
            }
        finally:
            store.close()
    return [
        f"spec {spec_id} in lifecycle state live in {state} (it is {found}: evolve deploy "
        f"SPEC --to live --state {state})"
        for spec_id, found in states.items()
        if spec_id not in reached
    ]


def _run(
    args: argparse.Namespace,
    specs: list[Any],
    runs: list[Any],
    limits: Any,
    demo: bool,
    monitor: Any,
) -> int:
    from evolve.cli.paper import _live_feed
    from execution.broker.live import LiveBroker
    from execution.exchange.client import ExchangeClient
    from execution.exchange.orders import TradingClient
    from execution.feed.live import LiveFeed
    from execution.lifecycle import DecayMonitor
    from execution.live_runner import LiveRunner
    from execution.state import StateStore

    timeframe = str(specs[0].data.get("timeframe", ""))
    paper_feed = _live_feed(args, specs, timeframe)  # checks symbols and timeframe (public)
    client = ExchangeClient(args.exchange, demo=demo)
    feed = LiveFeed(client, list(paper_feed.symbols), timeframe, history_bars=1000)
    state = _state_path(args, "demo" if demo else "live")
    events = state.with_name(state.stem + ".events.jsonl")
    state.parent.mkdir(parents=True, exist_ok=True)
    handle = events.open("a", encoding="utf-8")

    def on_event(event: dict[str, Any]) -> None:
        handle.write(json.dumps(event, sort_keys=True) + "\n")
        handle.flush()
        print(f"evolve live: {event['kind']}: {event['message']}", file=sys.stderr)

    store = StateStore(state)
    broker = LiveBroker(TradingClient(client), store, not_found_limit=limits.not_found_limit)
    runner: LiveRunner = LiveRunner(
        store,
        feed,
        runs,
        equity=args.equity,
        broker=broker,
        limits=limits,
        mode=args.mode,
        leverage=args.leverage,
        margin_mode=args.margin_mode,
        on_event=on_event,
        sleep=_interruptible(lambda: runner.stop_requested, time.sleep),
        after_step=DecayMonitor(monitor),
    )

    def stop(signum: int, frame: object) -> None:
        runner.stop_requested = True

    previous = signal.signal(signal.SIGINT, stop)
    try:
        if runner.start():
            runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        store.close()
        handle.close()
    if runner.halted:
        print("evolve live: halted (evolve unhalt --confirm to resume)", file=sys.stderr)
        return 0
    return 3
