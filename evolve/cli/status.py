"""``evolve status [--state PATH] [--json]``: an account read while its runner writes."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from evolve.cli.data import make_console, resolve_home
from evolve.cli.options import add_option
from evolve.cli.status_live import live_lines, read_live_status
from evolve.errors import UsageError

DAY_MS = 86_400_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve status`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "status",
        help="show an account (paper, demo, live): targets, positions, equity, P&L, data state",
        description=(
            "Read an account's state file (never writes; safe while it runs). A demo or live "
            "account also shows its venue position against the model, the last risk denial "
            "and the halt state."
        ),
        epilog=(
            "examples:\n"
            "  evolve status                          # the one account file under the data home\n"
            "  evolve status --state $EVOLVE_HOME/live/account.sqlite --json\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="state file (default: the one account file under the data home: paper, replay, "
        "demo or live)",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    add_option(parser, "home")
    parser.set_defaults(handler=status_command)


def read_status(path: Path) -> dict[str, Any]:
    """Return the account's status as plain JSON-ready values."""
    from execution.errors import PaperError
    from execution.state import StateStore
    from fitness import timeframe_to_ms

    try:
        store = StateStore(path, readonly=True)
    except PaperError as e:
        raise UsageError(str(e)) from e
    try:
        meta = dict(store.query("SELECT key, value FROM meta"))
        timeframe = meta.get("timeframe", "1h")
        interval = timeframe_to_ms(timeframe)
        last_bar = int(meta["last_bar"]) if "last_bar" in meta else None
        day_start = None if last_bar is None else (last_bar // DAY_MS) * DAY_MS
        rows = []
        for strategy in store.strategies():
            spec = json.loads(strategy["spec"])
            expected = spec.get("metrics", {}).get("holdout") or spec.get("metrics", {}).get(
                "validation", {}
            )
            for position in store.query(
                "SELECT symbol, qty, value FROM positions WHERE strategy = ?",
                (strategy["strategy"],),
            ):
                symbol, qty, value = position
                start = strategy["capital"] / max(1, len(meta.get("symbols", "x").split(",")))
                decided = store.last_decision(strategy["strategy"], symbol)
                before_today = store.query(
                    "SELECT value FROM strategy_marks WHERE strategy = ? AND symbol = ? AND "
                    "bar_time < ? ORDER BY bar_time DESC LIMIT 1",
                    (strategy["strategy"], symbol, day_start or 0),
                )
                day_open = before_today[0][0] if before_today else start
                rows.append(
                    {
                        "strategy": strategy["strategy"],
                        "symbol": symbol,
                        "weight": strategy["weight"],
                        "target": None if decided is None or math.isnan(decided[1]) else decided[1],
                        "position": qty,
                        "equity": value,
                        "pnl_today": value - day_open,
                        "pnl_total": value - start,
                        "return_total": value / start - 1.0,
                        "expected_annual_return": expected.get("annual_return"),
                    }
                )
        equity = store.query("SELECT equity FROM equity_marks ORDER BY bar_time DESC LIMIT 1")
        data_state = meta.get("data_state", "fresh")
        return {
            "account": meta.get("account_id"),
            "state_file": str(path),
            "timeframe": timeframe,
            "initial_equity": float(meta.get("initial_equity", "nan")),
            "equity": equity[0][0] if equity else float(meta.get("initial_equity", "nan")),
            "last_bar": last_bar,
            "next_bar_due": None if last_bar is None else last_bar + 2 * interval,
            "data_state": data_state,
            "halted": store.active_halt(),
            "strategies": rows,
            "events": store.events(10),
            "live": read_live_status(store, meta),
            "lifecycle": read_lifecycle(store, [r["strategy"] for r in store.strategies()]),
        }
    finally:
        store.close()


def read_lifecycle(store: Any, strategies: list[str]) -> list[dict[str, Any]]:
    """Return each strategy's lifecycle state in this account's ledger and its last move.

    Strategies of the account come first (``promoted`` with no move when the ledger has no
    row of them), then any other strategy the ledger holds (deployed here, not yet traded).
    """
    from execution.lifecycle import transitions

    latest: dict[str, dict[str, Any]] = {}
    for move in transitions(store):
        latest[move["strategy"]] = move
    out = []
    for strategy in [*strategies, *(s for s in latest if s not in strategies)]:
        row = latest.get(strategy)
        out.append(
            {
                "strategy": strategy,
                "state": "promoted" if row is None else row["to_state"],
                "since_wall_ms": None if row is None else row["wall_ms"],
                "since_bar": None if row is None else row["bar_time"],
                "from_state": None if row is None else row["from_state"],
                "actor": None if row is None else row["actor"],
                "reason": None if row is None else row["reason"],
            }
        )
    return out


def account_file(args: argparse.Namespace, *, replay: bool) -> Path:
    """Return ``--state``, else the one default account file that exists under the data home
    (``paper``, the paper ``replay`` when ``replay``, ``demo``, ``live``).

    Raises
    ------
    UsageError
        ``--state`` names no file, or there is no default account file or there are several.
    """
    if args.state:
        path = Path(args.state)
        if not path.is_file():
            raise UsageError(f"{path}: no account state file there; pass --state PATH")
        return path
    home = resolve_home(args.home)
    tried = [home / "paper" / "account.sqlite"]
    tried += [home / "paper" / "replay.sqlite"] if replay else []
    tried += [home / "demo" / "account.sqlite", home / "live" / "account.sqlite"]
    found = [path for path in tried if path.is_file()]
    if len(found) != 1:
        listed = ", ".join(str(path) for path in found) or f"none under {home}"
        raise UsageError(
            f"expected exactly one default account state file, found {listed}; pass --state PATH"
        )
    return found[0]


def status_command(args: argparse.Namespace) -> int:
    """Print the status table (or JSON)."""
    status = read_status(account_file(args, replay=True))
    if args.json:
        print(json.dumps(status, indent=2, allow_nan=True))
        return 0
    from rich.table import Table

    from fitness.data.timeframes import iso_from_ms

    def when(ms: int | None) -> str:
        return "-" if ms is None else iso_from_ms(ms)

    console = make_console()
    mode = status["live"]["mode"] if status.get("live") else "paper"
    console.print(
        f"{mode} account {status['account']}  equity {status['equity']:.2f} "
        f"(start {status['initial_equity']:.2f})  {status['timeframe']}  last bar "
        f"{when(status['last_bar'])}  next bar due {when(status['next_bar_due'])}  data "
        f"{status['data_state']}" + (f"  HALTED: {status['halted']}" if status["halted"] else "")
    )
    table = Table()
    for column in (
        "strategy",
        "symbol",
        "target",
        "position",
        "equity",
        "P&L today",
        "P&L total",
        "return",
        "backtest annual",
    ):
        table.add_column(column, justify="left" if column in ("strategy", "symbol") else "right")
    for row in status["strategies"]:
        expected = row["expected_annual_return"]
        table.add_row(
            row["strategy"],
            row["symbol"],
            "flat" if row["target"] is None else f"{row['target']:+.3f}",
            f"{row['position']:.6g}",
            f"{row['equity']:.2f}",
            f"{row['pnl_today']:+.2f}",
            f"{row['pnl_total']:+.2f}",
            f"{row['return_total']:+.2%}",
            "-" if expected is None else f"{expected:+.2%}",
        )
    console.print(table)
    for item in status["lifecycle"]:
        moved = (
            "no move recorded"
            if item["actor"] is None
            else f"since {when(item['since_wall_ms'])} ({item['from_state']} -> "
            f"{item['state']} by {item['actor']}: {item['reason']})"
        )
        console.print(
            f"  lifecycle {item['strategy']}: {item['state']}  {moved}",
            highlight=False,
            markup=False,
        )
    for line in live_lines(status["live"]) if status.get("live") else []:
        console.print(line, highlight=False, markup=False)
    for event in status["events"][:5]:
        console.print(f"  {when(event['bar_time'])}  {event['kind']}: {event['message']}")
    return 0
