"""``evolve portfolio RUN...``: weight promoted strategies into one account from their holdouts.

Writes a portfolio file (JSON) that ``evolve paper PORTFOLIO.json`` trades: the specs and their
capital weights, the limits, the excluded strategies with reasons, and the mix's holdout equity,
drawdown and correlation matrix.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evolve.cli.options import paragraph
from evolve.errors import UsageError

PORTFOLIO_SCHEMA = "evolve.portfolio/1"

EPILOG = """\
examples:
  evolve portfolio runs/RUN_A runs/RUN_B                   equal risk, written to portfolio.json
  evolve portfolio runs/RUN --method inverse_vol --max-weight 0.3 --out p.json
  evolve paper p.json --replay bundled/BTCUSDT-1h          trade it (specs + weights)

exit codes: 0 written, 2 bad input (no promoted specs, holdouts not overlapping, caps that
cannot all hold)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve portfolio`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "portfolio",
        help="weight promoted strategies of runs into a portfolio file (holdout-based)",
        description=paragraph(
            "Rank the promoted strategies of the runs by holdout Sharpe, keep those under the "
            "pairwise correlation limit, weight them (equal risk or capped inverse "
            "volatility) under per-strategy and per-symbol caps, and write a portfolio file."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    parser.add_argument(
        "--method",
        default="equal_risk",
        choices=("equal_risk", "inverse_vol"),
        help="weighting: equal_risk (equal risk contributions, holdout covariance) or "
        "inverse_vol (inverse volatility) (default equal_risk)",
    )
    parser.add_argument(
        "--max-correlation",
        type=float,
        default=0.7,
        metavar="R",
        help="leave out a strategy whose holdout correlation with a better-ranked kept one "
        "exceeds R (default 0.7)",
    )
    parser.add_argument(
        "--max-weight",
        type=float,
        default=0.5,
        metavar="W",
        help="cap on each strategy's weight, a fraction of capital; never below 1/n for n "
        "strategies (default 0.5)",
    )
    parser.add_argument(
        "--max-symbol-exposure",
        type=float,
        default=1.0,
        metavar="W",
        help="cap on each symbol's exposure, a fraction of capital (a strategy's weight split "
        "evenly over its symbols) (default 1.0)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("portfolio.json"),
        metavar="PATH",
        help="the portfolio file written (default portfolio.json)",
    )
    parser.add_argument("--json", action="store_true", help="print the file's JSON")
    parser.set_defaults(handler=portfolio_command)


def portfolio_command(args: argparse.Namespace) -> int:
    """Build the portfolio, write it and print its summary."""
    from evolve.promotion.holdout import run_holdout_returns
    from evolve.promotion.portfolio import PortfolioLimits, build_portfolio
    from evolve.promotion.run_inputs import no_promoted_specs
    from fitness.data.atomic import write_text_atomic
    from populations.spec import load_spec

    paths: dict[str, Path] = {}
    returns = []
    for run in args.runs:
        files = sorted((Path(run) / "promoted").glob("*.json"))
        if not files:
            raise UsageError(no_promoted_specs(Path(run)))
        specs = [load_spec(f) for f in files]
        for spec, file in zip(specs, files, strict=True):
            if spec.id in paths:
                raise UsageError(f"{file}: spec {spec.id} is given twice (expected distinct)")
            paths[spec.id] = file.absolute()
        returns.extend(run_holdout_returns(Path(run), specs))
    limits = PortfolioLimits(
        args.method, args.max_correlation, args.max_weight, args.max_symbol_exposure
    )
    portfolio = build_portfolio(returns, limits)
    document = _document(portfolio, limits, paths, returns)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")  # never half-written
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        _print(portfolio, args.out)
    return 0


def _document(portfolio: Any, limits: Any, paths: dict[str, Path], returns: list) -> dict:
    symbols = {r.spec_id: list(r.symbols) for r in returns}
    return {
        "schema": PORTFOLIO_SCHEMA,
        "method": limits.method,
        "limits": {
            "max_correlation": limits.max_correlation,
            "max_weight": limits.max_weight,
            "max_symbol_exposure": limits.max_symbol_exposure,
        },
        "strategies": [
            {"id": i, "spec": str(paths[i]), "weight": w, "symbols": symbols[i]}
            for i, w in zip(portfolio.ids, portfolio.weights, strict=True)
        ],
        "excluded": [{"id": i, "reason": r} for i, r in portfolio.excluded],
        "holdout": {
            "n_days": int(portfolio.daily_returns.size),
            "sharpe_annual": portfolio.sharpe_annual,
            "total_return": float(portfolio.equity[-1] - 1.0),
            "max_drawdown": portfolio.max_drawdown,
            "day_ms": portfolio.day_ms.tolist(),
            "equity": portfolio.equity.tolist(),
        },
        "correlation": {"ids": list(portfolio.ids), "matrix": portfolio.correlation.tolist()},
    }


def _print(portfolio: Any, out: Path) -> None:
    print(f"portfolio of {len(portfolio.ids)} strategies -> {out}")
    for spec_id, weight in zip(portfolio.ids, portfolio.weights, strict=True):
        print(f"  {spec_id}  weight {weight:.4f}")
    for spec_id, reason in portfolio.excluded:
        print(f"  excluded {spec_id}: {reason}")
    print(
        f"holdout: {portfolio.daily_returns.size} days, Sharpe {portfolio.sharpe_annual:.2f} "
        f"(annual), return {portfolio.equity[-1] - 1.0:+.2%}, max drawdown "
        f"{portfolio.max_drawdown:.2%}"
    )
    print("correlation:")
    for spec_id, row in zip(portfolio.ids, portfolio.correlation, strict=True):
        print(f"  {spec_id}  " + " ".join(f"{v:+.2f}" for v in row))


def read_portfolio(path: Path) -> tuple[list[str], list[float]] | None:
    """Return ``(spec paths, weights)`` when ``path`` is a portfolio file, else None."""
    if path.suffix != ".json" or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("schema") != PORTFOLIO_SCHEMA:
        return None
    try:
        entries = [(str(s["spec"]), float(s["weight"])) for s in document["strategies"]]
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(
            f"{path}: portfolio strategies need 'spec' and 'weight' (found an entry without: {e})"
        ) from e
    return [e[0] for e in entries], [e[1] for e in entries]
