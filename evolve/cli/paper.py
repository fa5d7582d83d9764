"""``evolve paper SPEC_OR_RUN...``: trade promoted strategies on closed bars in a paper account.

Live bars come through ``execution``'s ccxt client; ``--replay DATASET`` drives the same
runner over stored bars with a simulated clock. ``execution`` (and so ccxt) is imported only
inside the command function.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evolve.cli.data import parse_utc_ms, resolve_home
from evolve.cli.lifecycle import add_lifecycle_config, lifecycle_config
from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

EPILOG = """\
examples:
  evolve paper runs/RUN/promoted/0123456789abcdef.json        live bars, 10000 USDT
  evolve paper runs/RUN --equity 5000                         every promoted spec of a run
  evolve paper A.json B.json --weights 2,1                    two strategies, one account
  evolve paper portfolio.json                                 specs and weights of a portfolio
  evolve paper A.json --replay bundled/BTCUSDT-1h --from 2024-01-01 --state /tmp/r.sqlite
  evolve status                                               the account, readable any time

State: one SQLite file per account (default <data home>/paper/account.sqlite; replays
<data home>/paper/replay.sqlite), events also in <state stem>.events.jsonl. Stop with Ctrl-C:
the current step finishes, exit 3; a restart continues from the state file. Bars missed while
stopped are not back-filled: they are held (funding and mark, no fill) and written as a gap.

exit codes: 0 ok (replay finished), 1 internal error, 2 bad input (a spec not promoted, another
primitive-set version, a timeframe the venue or dataset lacks), 3 interrupted."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve paper`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "paper",
        help="paper-trade promoted strategies (live bars or --replay of a dataset)",
        description=paragraph(
            "Run promoted strategies in one paper account: at each closed bar every strategy "
            "decides its target with the backtest's compiled tree, targets are netted per "
            "symbol and filled at the next executable open by the backtest's own per-bar step "
            "(funding, fill, mark). The account lives in a SQLite file."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC_OR_RUN",
        help="a promoted spec file, a run directory (its promoted/*.json) or one portfolio "
        "file (evolve portfolio: specs and weights)",
    )
    parser.add_argument(
        "--equity",
        type=float,
        default=10_000.0,
        help="initial account equity in quote currency (default 10000)",
    )
    parser.add_argument(
        "--weights", metavar="W,W,...", help="capital weights, one per strategy (default equal)"
    )
    parser.add_argument("--state", type=Path, metavar="PATH", help="the account's state file")
    parser.add_argument(
        "--replay",
        metavar="DATASET",
        help="replay stored bars (a dataset name or file) on a simulated clock",
    )
    parser.add_argument("--from", dest="from_", metavar="T", help="first replayed bar (UTC date)")
    parser.add_argument("--to", metavar="T", help="replay bars opening before T (UTC date)")
    parser.add_argument("--exchange", default="binanceusdm", help="ccxt exchange of live bars")
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds after a bar's end before it counts as closed (default 5)",
    )
    parser.add_argument(
        "--history-bars",
        type=int,
        metavar="N",
        help="bars a decision reads (default: all held; live holds 1000)",
    )
    add_lifecycle_config(parser)
    add_option(parser, "home")
    parser.set_defaults(handler=paper_command)


def load_promoted(paths: Sequence[str]) -> list[Any]:
    """Return the promoted specs named by files or run directories (refusing anything else)."""
    import primitives
    from populations.spec import load_spec

    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted((path / "promoted").glob("*.json"))
            if not found:
                from evolve.promotion.run_inputs import no_promoted_specs

                raise UsageError(no_promoted_specs(path))
            files.extend(found)
        else:
            files.append(path)
    specs = []
    for path in files:
        spec = load_spec(path)
        if spec.state != "promoted":
            raise UsageError(
                f"{path}: spec {spec.id} is in state {spec.state!r} (expected 'promoted'); "
                "only promoted strategies are paper-traded"
            )
        if spec.primitive_set_version != primitives.PSET_VERSION:
            raise UsageError(
                f"{path}: spec {spec.id} was written with primitive set "
                f"{spec.primitive_set_version!r}, installed is {primitives.PSET_VERSION!r}; "
                "its expression may mean something else here"
            )
        specs.append(spec)
    if len({s.id for s in specs}) != len(specs):
        raise UsageError("the same spec is given twice (expected distinct strategies)")
    return specs


def _weights(text: str | None, n: int) -> list[float]:
    if text is None:
        return [1.0] * n
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--weights {text!r}: expected numbers separated by commas") from None
    if len(values) != n or any(not (v > 0.0) for v in values):
        raise UsageError(f"--weights {text!r}: expected {n} positive numbers, one per strategy")
    return values


def specs_and_weights(args: argparse.Namespace) -> tuple[list[Any], list[float]]:
    """Return the promoted specs and capital weights of ``args.specs`` / ``args.weights``:
    spec files and run directories with ``--weights``, or one portfolio file."""
    from evolve.cli.portfolio import read_portfolio

    portfolio = read_portfolio(Path(args.specs[0])) if len(args.specs) == 1 else None
    if portfolio is None:
        specs = load_promoted(args.specs)
        return specs, _weights(args.weights, len(specs))
    if args.weights is not None:
        raise UsageError(f"{args.specs[0]}: a portfolio file carries its weights; drop --weights")
    return load_promoted(portfolio[0]), portfolio[1]


def paper_command(args: argparse.Namespace) -> int:
    """Run the paper account until the replay ends (0) or Ctrl-C (3)."""
    from execution.errors import ExchangeError, ExchangeInputError, PaperError

    try:
        return _paper(args)
    except (PaperError, ExchangeInputError) as e:
        raise UsageError(str(e)) from e
    except ExchangeError as e:  # the network or the venue failed after retries: not a bug
        print(f"evolve: error: {e}; the state is saved, re-run the same command", file=sys.stderr)
        return 1


def _paper(args: argparse.Namespace) -> int:
    from execution.feed import ReplayFeed
    from execution.lifecycle import DecayMonitor
    from execution.runner import Runner, StrategyRun
    from execution.state import StateStore
    from fitness import CostModel, load_bars

    monitor = lifecycle_config(args)  # a bad [lifecycle] value fails before anything else
    specs, weights = specs_and_weights(args)
    home = resolve_home(args.home)
    timeframes = {str(spec.data.get("timeframe", "")) for spec in specs}
    if len(timeframes) != 1:
        raise UsageError(
            f"the specs trade different timeframes {sorted(timeframes)}; "
            "one account trades one timeframe"
        )
    timeframe = timeframes.pop()
    runs = [
        StrategyRun(s.id, s.expression, CostModel.model_validate(s.costs), w, s.to_json())
        for s, w in zip(specs, weights, strict=True)
    ]
    if args.replay is not None:
        series = load_bars(args.replay, home=home)
        if series.timeframe != timeframe:
            raise UsageError(
                f"--replay {args.replay}: the dataset is {series.timeframe}, the "
                f"specs trade {timeframe} (expected the specs' timeframe)"
            )
        _notice_symbols(specs, series.symbol)
        start = parse_utc_ms(args.from_, "--from") if args.from_ else None
        stop_ms = parse_utc_ms(args.to, "--to") if args.to else None
        feed: Any = ReplayFeed([series], start_ms=start, stop_ms=stop_ms, grace_seconds=args.grace)
        default_state = home / "paper" / "replay.sqlite"
        sleep = None
    else:
        if args.from_ or args.to:
            raise UsageError("--from/--to apply to --replay only")
        feed = _live_feed(args, specs, timeframe)
        default_state = home / "paper" / "account.sqlite"
        sleep = time.sleep
    state_path = Path(args.state) if args.state else default_state
    events_path = state_path.with_name(state_path.stem + ".events.jsonl")
    events_file = events_path.open("a", encoding="utf-8") if _mkparent(events_path) else None
    plain = not sys.stderr.isatty()

    def on_event(event: dict[str, Any]) -> None:
        if events_file is not None:
            events_file.write(json.dumps(event, sort_keys=True) + "\n")
            events_file.flush()
        if plain or event["kind"] != "start":
            print(f"evolve paper: {event['kind']}: {event['message']}", file=sys.stderr)

    store = StateStore(state_path)
    _refuse_retired(store, specs)
    runner: Runner = Runner(
        store,
        feed,
        runs,
        equity=args.equity,
        history_bars=args.history_bars,
        on_event=on_event,
        sleep=_interruptible(lambda: runner.stop_requested, sleep),
        after_step=DecayMonitor(monitor),
    )

    def stop(signum: int, frame: object) -> None:
        runner.stop_requested = True

    previous = signal.signal(signal.SIGINT, stop)
    try:
        runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        store.close()
        if events_file is not None:
            events_file.close()
    if runner.stop_requested:
        print("evolve: interrupted after the current step (state saved)", file=sys.stderr)
        return 3
    curve = StateStore(state_path, readonly=True)
    try:
        last = curve.query(
            "SELECT bar_time, equity FROM equity_marks ORDER BY bar_time DESC LIMIT 1"
        )
    finally:
        curve.close()
    if last:
        print(
            f"paper account {runner.account_id}: equity {last[0][1]:.2f} at bar {last[0][0]} "
            f"({state_path})"
        )
    return 0


def _notice_symbols(specs: Sequence[Any], symbol: str) -> None:
    """Say so when a replay trades a spec on other symbols than the ones it was judged on."""
    for spec in specs:
        judged = [str(s) for s in spec.data.get("symbols", [])]
        if judged and judged != [symbol]:
            print(
                f"evolve paper: notice: strategy {spec.id} was judged on {', '.join(judged)}; "
                f"this replay trades it on {symbol} only",
                file=sys.stderr,
            )


def _refuse_retired(store: Any, specs: Sequence[Any]) -> None:
    from execution.lifecycle import current_state

    for spec in specs:
        if current_state(store, spec.id)[0] == "retired":
            store.close()
            raise UsageError(
                f"{store.path}: strategy {spec.id} is retired in this account (expected a "
                "strategy not retired); retired strategies are never traded again"
            )


def _mkparent(path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    return True


def _interruptible(stopped: Any, sleep: Any) -> Any:
    if sleep is None:
        return None

    def wait(seconds: float) -> None:
        end = time.monotonic() + seconds
        while not stopped() and time.monotonic() < end:
            sleep(min(0.2, max(0.0, end - time.monotonic())))

    return wait


def _live_feed(args: argparse.Namespace, specs: Sequence[Any], timeframe: str) -> Any:
    from execution.exchange.client import ExchangeClient
    from execution.feed.live import LiveFeed

    symbols: list[str] = []
    for spec in specs:
        for symbol in spec.data.get("symbols", []):
            if symbol not in symbols:
                symbols.append(str(symbol))
    if not symbols:
        raise UsageError("the specs name no symbols (data.symbols is empty)")
    client = ExchangeClient(args.exchange)
    client.check_timeframe(timeframe)
    unified = [client.market(symbol).symbol for symbol in symbols]
    history = getattr(args, "history_bars", None) or 1000  # evolve live has neither option
    return LiveFeed(
        client, unified, timeframe, history_bars=history, grace_seconds=getattr(args, "grace", 5.0)
    )
