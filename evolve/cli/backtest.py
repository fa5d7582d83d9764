"""``evolve backtest EXPR``: one strategy text through the engine's own evaluation.

The market, folds and costs are a run's (``--config``, ``--data`` and the cost flags, with the
run defaults): ``fitness.evaluate`` over ``evolve.engine.inputs.load_market``, exactly what an
individual of ``evolve run`` gets, so the numbers printed are the numbers evolution ranks by.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolve.cli.options import add_option, paragraph
from evolve.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from evolve.config import RunConfig
    from fitness import Evaluation

EPILOG = """\
examples:
  evolve backtest "long_only(gt(close, sma(close, 50)))"
  evolve backtest "long_only(gt(close, sma(close, 50)))" --data bundled/BTCUSDT-1h --plot btc.svg
  evolve backtest "short_only(gt(rsi(close, 14), 70.0))" --taker-fee 0.0004 --latency-bars 2
  evolve backtest "$(head -1 examples/seeds.txt)" --config runs/RUN/config.toml --holdout

--config runs/RUN/config.toml (a run's resolved configuration) backtests on that run's data,
folds and costs.
The segments are the run's walk-forward folds (discovery 1..K, validation; the holdout only
with --holdout, which a search must not look at). Each segment is backtested from flat, as in
evolution; --plot shows one account over the whole span instead, segments shaded.

exit codes: 0 ok, 1 internal error, 2 bad input (expression, data, costs, options)."""

PLOT_SUFFIXES = (".png", ".svg")

# flag -> (dotted config key, argparse settings)
COST_FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "--taker-fee": ("costs.taker_fee", {"type": float, "metavar": "RATE"}),
    "--maker-fee": ("costs.maker_fee", {"type": float, "metavar": "RATE"}),
    "--slippage": ("costs.slippage", {"type": float, "metavar": "RATE"}),
    "--latency-bars": ("costs.latency_bars", {"type": int, "metavar": "N"}),
    "--leverage": ("costs.leverage", {"type": float, "metavar": "X"}),
}

COLUMNS = (
    ("bars", "n_bars"),
    ("return", "total_return"),
    ("Sharpe", "sharpe"),
    ("Sortino", "sortino"),
    ("max DD", "max_drawdown"),
    ("trades", "n_trades"),
    ("exposure", "exposure"),
    ("turnover", "turnover"),
    ("fees", "fees_share"),
    ("funding", "funding_share"),
    ("buy&hold", "buy_and_hold_return"),
    ("excess", "excess_return"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve backtest`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "backtest",
        help="backtest one strategy: metrics per split and symbol, --plot FILE",
        description=paragraph(
            "Backtest one strategy text on a run's market (datasets, folds, costs from "
            "--config and the flags; run defaults otherwise) with the evaluation evolution "
            "uses, and print the metrics of every segment and symbol, the objectives and the "
            "validation aggregate. --plot writes equity, drawdown and positions over price."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "expression",
        metavar="EXPR",
        help="strategy text, e.g. 'long_only(gt(close, sma(close, 50)))' (see evolve primitives)",
    )
    add_option(parser, "config")
    add_option(parser, "data")
    add_option(parser, "timeframe", required=False, help="require this bar timeframe")
    parser.add_argument("--start", metavar="ISO", help="first bar open, e.g. 2024-01-01 (UTC)")
    parser.add_argument("--end", metavar="ISO", help="stop before this time (UTC)")
    costs = parser.add_argument_group("costs (default: the config's [costs])")
    for flag, (key, settings) in COST_FLAGS.items():
        costs.add_argument(flag, dest=key.replace(".", "_"), help=f"override {key}", **settings)
    costs.add_argument(
        "--no-funding", action="store_true", help="do not settle funding (costs.funding = false)"
    )
    parser.add_argument(
        "--holdout",
        action="store_true",
        help="also backtest the holdout (the promoter's final test; evolution never sees it)",
    )
    parser.add_argument(
        "--plot", metavar="FILE", type=Path, help="write a chart: FILE.png or FILE.svg"
    )
    parser.set_defaults(handler=backtest_command)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the dotted config overrides given as flags."""
    from evolve.config import absolute_datasets

    pairs: dict[str, Any] = {
        "data.datasets": None if args.data is None else absolute_datasets(args.data, Path.cwd()),
        "data.timeframe": args.timeframe,
        "data.start": args.start,
        "data.end": args.end,
        "costs.funding": False if args.no_funding else None,
    }
    for key, _ in COST_FLAGS.values():
        pairs[key] = getattr(args, key.replace(".", "_"))
    return {key: value for key, value in pairs.items() if value is not None}


def backtest_command(args: argparse.Namespace) -> int:
    """Backtest one strategy (``evolve backtest``)."""
    from evolve.cli.runs import console
    from evolve.config import load_config
    from evolve.engine.inputs import load_market
    from fitness import evaluate

    if args.plot is not None and args.plot.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(
            f"--plot {args.plot}: expected a file name ending in .png or .svg, "
            f"found {args.plot.suffix or 'no suffix'!r}"
        )
    config = load_config(args.config, overrides=overrides(args))
    inputs = load_market(config)
    evaluation = evaluate(
        args.expression, inputs.market, config.fitness(), include_holdout=args.holdout
    )
    out = console()
    print_evaluation(out, evaluation, config, [record["name"] for record in inputs.datasets])
    if args.plot is not None:
        from evolve.cli.backtest_plot import write_plot

        write_plot(args.plot, evaluation.text, inputs.market, config, holdout=args.holdout)
        out.print(f"plot: {args.plot}")
    return 0


def _costs_line(config: RunConfig) -> str:
    costs = config.costs
    fee = costs.maker_fee if costs.use_maker else costs.taker_fee
    return (
        f"{'maker' if costs.use_maker else 'taker'} fee {100 * fee:g}%, slippage "
        f"{100 * costs.slippage:g}%, latency {costs.latency_bars} bar(s), leverage "
        f"{costs.leverage:g}, funding {'on' if costs.funding else 'off'}"
    )


def print_evaluation(
    out: Console, evaluation: Evaluation, config: RunConfig, datasets: list[str]
) -> None:
    """Print the strategy, the objectives and the fold × symbol metrics table."""
    from rich.table import Table

    from evolve.engine.summary import format_number

    out.print(f"[bold]{evaluation.text}[/]")
    out.print(
        f"id {evaluation.id}  nodes {evaluation.n_nodes}  depth {evaluation.depth}  "
        f"lookback {evaluation.lookback_bars} bars"
    )
    out.print(f"data {', '.join(datasets)}; costs: {_costs_line(config)}")
    objectives = "  ".join(
        f"{name} {format_number(value)}"
        for name, value in zip(config.objectives.names, evaluation.objectives, strict=True)
    )
    verdict = "feasible" if evaluation.feasible else f"infeasible ({evaluation.infeasible_reason})"
    out.print(f"objectives: {objectives}  ({verdict})")
    table = Table(title="metrics per segment and symbol", title_justify="left")
    table.add_column("segment")
    table.add_column("symbol")
    for header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for row in evaluation.table:
        table.add_row(
            row.segment,
            row.symbol,
            *(format_number(row.metrics.get(key, math.nan)) for _, key in COLUMNS),
        )
    out.print(table)
    for title, values in (
        ("discovery (all folds)", evaluation.train),
        ("validation", evaluation.validation),
        ("holdout", evaluation.holdout),
    ):
        if values:
            out.print(
                f"{title}: "
                + "  ".join(f"{key} {format_number(value)}" for key, value in values.items())
            )
