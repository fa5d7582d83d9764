"""``evolve deploy SPEC --to paper|demo|live`` and ``evolve retire SPEC``: evidenced moves.

The lifecycle state lives in each account's state file (``lifecycle_transitions``, its
ledger); a move into another account copies the strategy's history there. The spec file
stays as the promoter wrote it. ``execution`` is imported inside the handlers only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evolve.cli.data import parse_utc_ms, resolve_home
from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

DEPLOY_EPILOG = """\
examples:
  evolve deploy runs/RUN/promoted/ID.json --to paper         baseline: the run's holdout
  evolve deploy ID.json --to paper --baseline local/BTCUSDT-1h --baseline-from 2024-06-01
  evolve deploy runs/RUN/promoted/ID.json --to demo          needs the paper account's record
  evolve deploy ID.json --to live --state live.sqlite --record demo.sqlite --config life.toml
  evolve retire runs/RUN/promoted/ID.json --reason "replaced by ID2"

The move is written into --state (default <data home>/<target>/account.sqlite); the record
is read from --record (default --state when given, else the account one rung down). Moving up
needs evidence from the state being left: a record at least MinTRL days long (95 %, the
holdout's daily Sharpe; floor min_record_days, cap max_record_days), a realised Sharpe
consistent with the holdout (probability >= min_consistency), slippage and funding within the
model's bounds; --to live only on a demo account's record. The thresholds come from the
[lifecycle] table of --config (the flags override it). Moving down needs none. Every move is
a row of lifecycle_transitions.

exit codes: 0 moved, 2 refused (the missing evidence is named) or bad input."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve deploy`` and ``evolve retire`` to ``subparsers``."""
    deploy = subparsers.add_parser(
        "deploy",
        help="move a promoted strategy up (paper, demo, live) or down, with evidence",
        description=paragraph(
            "Move a strategy to paper, demo or live in an account's state file. Up one rung "
            "needs the evidence of the state it leaves; down needs none."
        ),
        epilog=DEPLOY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deploy.add_argument("spec", metavar="SPEC", help="the promoted spec file")
    deploy.add_argument(
        "--to",
        required=True,
        choices=("paper", "demo", "live"),
        dest="target",
        help="the state to move into: paper, demo or live (up: one rung at a time, with the "
        "evidence of the state left; down: any rungs, no evidence)",
    )
    _common(
        deploy, "the account the strategy moves into (default <data home>/<--to>/account.sqlite)"
    )
    deploy.add_argument(
        "--baseline",
        metavar="DATASET",
        help="holdout baseline from a stored dataset span (default: the spec's run holdout)",
    )
    deploy.add_argument("--baseline-from", metavar="T", help="first baseline bar (UTC date)")
    deploy.add_argument("--baseline-to", metavar="T", help="baseline bars before T (UTC date)")
    deploy.add_argument(
        "--record",
        type=Path,
        metavar="PATH",
        help="the account file whose record is the evidence (default --state; a demo account "
        "for --to live)",
    )
    add_lifecycle_config(deploy)
    deploy.add_argument(
        "--min-record-days", type=int, metavar="N", help="overrides lifecycle.min_record_days"
    )
    deploy.add_argument(
        "--max-record-days", type=int, metavar="N", help="overrides lifecycle.max_record_days"
    )
    deploy.add_argument(
        "--min-consistency", type=float, metavar="P", help="overrides lifecycle.min_consistency"
    )
    deploy.set_defaults(handler=deploy_command)
    retire = subparsers.add_parser(
        "retire",
        help="retire a strategy (terminal; recorded with the reason)",
        description="Retire a strategy in an account's state file (from any state).",
        epilog=(
            "examples:\n"
            '  evolve retire runs/RUN/promoted/ID.json --reason "replaced by ID2"\n'
            "  evolve retire runs/RUN/promoted/ID.json --state $EVOLVE_HOME/live/account.sqlite\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    retire.add_argument("spec", metavar="SPEC", help="the spec file")
    _common(
        retire,
        "the account (default: every paper, demo and live account under the data home that "
        "holds the strategy)",
    )
    retire.set_defaults(handler=retire_command)


def add_lifecycle_config(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE`` (its ``[lifecycle]`` table) to ``parser``."""
    add_option(
        parser,
        "config",
        help="TOML file whose [lifecycle] table sets the evidence thresholds and the decay "
        "monitor (other tables are ignored)",
    )


def lifecycle_config(args: argparse.Namespace, **overrides: Any) -> Any:
    """Return ``execution.lifecycle.LifecycleConfig`` from ``--config`` and flag overrides."""
    from evolve.config import load_lifecycle_config
    from execution.lifecycle import LifecycleConfig

    settings = load_lifecycle_config(getattr(args, "config", None), overrides=overrides)
    return LifecycleConfig(**settings.model_dump())


def _common(parser: argparse.ArgumentParser, state_help: str) -> None:
    parser.add_argument("--state", type=Path, metavar="PATH", help=state_help)
    parser.add_argument("--reason", metavar="TEXT", help="why (recorded with the move)")
    add_option(parser, "home")


def _state_path(args: argparse.Namespace) -> Path:
    if args.state is not None:
        return Path(args.state)
    return resolve_home(args.home) / "paper" / "account.sqlite"


def _baseline(args: argparse.Namespace, spec: Any, config: Any) -> Any:
    from evolve.promotion import holdout
    from execution.lifecycle import baseline_from_returns
    from fitness import load_bars

    if args.baseline is not None:
        series = load_bars(args.baseline, home=resolve_home(args.home))
        start = parse_utc_ms(args.baseline_from, "--baseline-from") if args.baseline_from else None
        stop = parse_utc_ms(args.baseline_to, "--baseline-to") if args.baseline_to else None
        returns = holdout.dataset_returns(spec, series, start, stop)
        source = f"{args.baseline} [{args.baseline_from or 'start'}, {args.baseline_to or 'end'})"
    else:
        run_dir = holdout.run_dir_of(Path(args.spec))
        if run_dir is None:
            return None
        returns = holdout.run_holdout_returns(run_dir, [spec])[0]
        source = returns.source
    return baseline_from_returns(returns.daily_returns, source, config)


def deploy_command(args: argparse.Namespace) -> int:
    """Check the evidence and record the move, or refuse (exit 2) naming what is missing."""
    from populations.spec import load_spec

    config = lifecycle_config(
        args,
        min_record_days=args.min_record_days,
        max_record_days=args.max_record_days,
        min_consistency=args.min_consistency,
    )
    spec = load_spec(Path(args.spec))
    state_path, record_path = _deploy_paths(args)
    created = not state_path.exists()
    try:
        return _deploy(args, spec, config, state_path, record_path)
    except BaseException:
        if created:  # a refused (or failed) deploy leaves no empty account file behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{state_path}{suffix}").unlink(missing_ok=True)
        raise


def _deploy(
    args: argparse.Namespace, spec: Any, config: Any, state_path: Path, record_path: Path
) -> int:
    from execution import lifecycle
    from execution.errors import LifecycleError, PaperError
    from execution.state import StateStore

    store = StateStore(state_path)
    source = store
    try:
        lifecycle.ensure_tables(store)
        since = None
        if record_path.resolve() != state_path.resolve():
            source = StateStore(record_path, readonly=True)
            since = _target_allows(store, spec.id, args.target)
        current, _ = lifecycle.current_state(source, spec.id)
        baseline = lifecycle.get_baseline(source, spec.id)
        fresh = None
        if baseline is None and current == "promoted" and args.target == "paper":
            try:
                fresh = baseline = _baseline(args, spec, config)
            except (LifecycleError, PaperError) as e:
                raise UsageError(str(e)) from e
        record = (
            lifecycle.track_record(source, spec.id, since) if current in lifecycle.RUNNING else None
        )
        if args.target == "live":
            _refuse_unqualified_record(source, spec.id)
        decision = lifecycle.decide_deploy(
            spec.id,
            current,
            args.target,
            spec_state=spec.state,
            baseline=baseline,
            record=record,
            config=config,
        )
        _print_checks(decision)
        if not decision.allowed:
            raise UsageError(f"deploy {spec.id} refused: {decision.reason}")
        moved_from = None if source is store else source  # into another account: its history
        if moved_from is not None:
            fresh = fresh or baseline
        _record(store, decision, "deploy", args.reason or decision.reason, fresh, moved_from)
    finally:
        if source is not store:
            source.close()
        store.close()
    print(f"{spec.id}: {decision.from_state} -> {decision.to_state} ({store.path})")
    return 0


def _deploy_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """Return the account the strategy moves into and the account holding its record.

    Defaults: ``--state`` is ``<home>/<target>/account.sqlite``; ``--record`` is ``--state``
    when that is given, else the account of the rung being left under the data home.
    """
    home = resolve_home(args.home)
    state = Path(args.state) if args.state is not None else home / args.target / "account.sqlite"
    if args.record is not None:
        record = Path(args.record)
        if not record.is_file():
            raise UsageError(f"--record {record}: no account state file there")
        return state, record
    if args.state is not None or args.target == "paper":
        return state, state
    below = {"demo": "paper", "live": "demo"}[args.target]
    record = home / below / "account.sqlite"
    return state, record if record.is_file() else state


def _target_allows(store: Any, strategy: str, target: str) -> int | None:
    """Check the account a move up enters; return the bar after which a record counts.

    The target account's own ledger is authoritative there: a strategy retired in it stays
    retired; one already at ``target`` or above is not deployed again (a second row would
    restart the decay monitor's record); one demoted there (by the monitor or by hand) needs a
    record earned after that move, not the one that qualified it before.
    """
    from execution import lifecycle

    rows = lifecycle.transitions(store, strategy)
    here = str(rows[-1]["to_state"]) if rows else "promoted"
    if here == "retired":
        raise UsageError(
            f"deploy {strategy} refused: it is retired in {store.path} (terminal; promote a "
            "new spec instead)"
        )
    if here in lifecycle.RUNNING and lifecycle.LADDER.index(here) >= lifecycle.LADDER.index(target):
        raise UsageError(
            f"deploy {strategy} refused: it is already {here} in {store.path} (expected a "
            f"state below {target} there)"
        )
    moved = [row["bar_time"] for row in rows if row["bar_time"] is not None]
    return int(moved[-1]) if moved else None


def _refuse_unqualified_record(source: Any, strategy: str) -> None:
    """Only a demo account's record on live bars qualifies a strategy for real money."""
    if source.get_meta("feed") == "replay":
        raise UsageError(
            f"deploy {strategy} --to live refused: {source.path} holds a replay account; a "
            "record on replayed bars never qualifies for real money (earn it on live bars)"
        )
    mode = source.get_meta("mode")
    if mode != "demo":
        kind = "a paper" if mode is None else f"a {mode}"
        raise UsageError(
            f"deploy {strategy} --to live refused: the record in {source.path} is {kind} "
            "account's (expected a demo account's: evolve live --mode demo; pass it with "
            "--record PATH)"
        )


def retire_command(args: argparse.Namespace) -> int:
    """Retire the strategy (recorded with the reason)."""
    from execution import lifecycle
    from execution.state import StateStore
    from populations.spec import load_spec

    spec = load_spec(Path(args.spec))
    for path in _retire_paths(args, spec.id):
        store = StateStore(path)
        try:
            lifecycle.ensure_tables(store)
            current, _ = lifecycle.current_state(store, spec.id)
            decision = lifecycle.decide_retire(spec.id, current)
            if not decision.allowed:
                raise UsageError(f"retire {spec.id} refused: {decision.reason} ({path})")
            _record(store, decision, "retire", args.reason or "retired by hand", None)
        finally:
            store.close()
        print(f"{spec.id}: {decision.from_state} -> retired ({path})")
    return 0


def _retire_paths(args: argparse.Namespace, strategy: str) -> list[Path]:
    """``--state``, else every account under the data home that holds the strategy.

    Retiring only the paper account while a live one still trades the strategy would leave
    real money on it; so without ``--state`` each of the paper, demo and live accounts that
    knows the strategy (a lifecycle row or a strategy row) is retired, each in its own
    transaction. None knows it: the paper account (the old default).
    """
    from execution import lifecycle
    from execution.state import StateStore

    if args.state is not None:
        return [Path(args.state)]
    home = resolve_home(args.home)
    found = []
    for rung in ("paper", "demo", "live"):
        path = home / rung / "account.sqlite"
        if not path.is_file():
            continue
        store = StateStore(path, readonly=True)
        try:
            known = bool(lifecycle.transitions(store, strategy)) or bool(
                store.query("SELECT 1 FROM strategies WHERE strategy = ?", (strategy,))
            )
            retired = lifecycle.current_state(store, strategy)[0] == "retired"
        finally:
            store.close()
        if known and not retired:
            found.append(path)
    return found or [_state_path(args)]


def _record(
    store: Any, decision: Any, actor: str, reason: str, baseline: Any, source: Any = None
) -> None:
    from execution import lifecycle

    bar = store.get_meta("last_bar")
    bar_time = None if bar is None else int(bar)
    with store.step():
        if source is not None:
            lifecycle.copy_history(source, store, decision.strategy)
        if baseline is not None:
            lifecycle.put_baseline(store, decision.strategy, baseline)
        lifecycle.record_transition(store, decision, actor, reason, bar_time)
        store.add_event(
            "lifecycle",
            f"{decision.strategy}: {decision.from_state} -> {decision.to_state} ({reason})",
            bar_time,
            strategy=decision.strategy,
            from_state=decision.from_state,
            to_state=decision.to_state,
        )


def _print_checks(decision: Any) -> None:
    for check in decision.checks:
        mark = "ok  " if check.passed else "FAIL"
        print(f"  {mark} {check.name}: {check.detail}")
