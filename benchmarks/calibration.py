"""The promoter's operating characteristic: false promotions on nulls, power on planted edges.

``python -m benchmarks.calibration [--quick] [--jobs N] [--out DIR]`` runs the whole pipeline —
``evolve run`` then ``evolve promote`` with the default settings, only the population and the
generations reduced (and the seed templates of ``examples/seeds.txt``, as the integration tests
use) — on every synthetic market of :mod:`benchmarks.calibration_markets`:

- null families (GARCH-t with AR funding, block-bootstrapped real BTC/ETH, a drifting market):
  any promotion is false; the rate is printed with its 95 % Wilson upper bound;
- planted families at strengths whose *oracle* holdout t-statistic is about 1, 2, 3, 4 and 6:
  power is the share of datasets where a promoted strategy's holdout positions correlate
  >= 0.5 with the oracle's; the best such strategy's holdout Sharpe as a share of the oracle's.

The strength of each target t is found first by replaying the oracle on pilot seeds (the
measured oracle t of every dataset is printed beside it). Every dataset's gate values are kept
in ``OUT/results.jsonl`` so thresholds can be re-examined without re-running the searches.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.calibration_markets import NULLS, ORACLES, PLANTED

REPOSITORY = Path(__file__).resolve().parents[1]
SEEDS = REPOSITORY / "examples" / "seeds.txt"
TARGET_T = (1.0, 2.0, 3.0, 4.0, 6.0)
POSITION_CORRELATION = 0.5
RUN_CONFIG = """\
[data]
datasets = {datasets}

[gp]
population = {population}
generations = {generations}
seed_templates = "{seeds}"

[run]
seed = {seed}
workers = 1
"""


@dataclass(frozen=True, slots=True)
class Budget:
    """The size of one calibration pass."""

    n_bars: int
    population: int
    generations: int
    null_seeds: int  # per null family
    planted_seeds: int  # per family and strength
    targets: tuple[float, ...]


FULL = Budget(24 * 365, 64, 8, 25, 6, TARGET_T)
QUICK = Budget(24 * 240, 16, 1, 1, 1, (2.0, 6.0))


def wilson_upper(successes: int, n: int, z: float = 1.959964) -> float:
    """Return the upper end of the 95 % Wilson score interval of a binomial proportion."""
    if n == 0:
        return 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def _market(run_dir: Path) -> Any:
    from evolve.config import read_resolved_config
    from evolve.engine.inputs import load_market

    config = read_resolved_config(run_dir / "config.toml")
    return config, load_market(config).market


def _holdout_targets(expression: str, market: Any) -> np.ndarray:
    from evolve.promotion import replays
    from evolve.promotion.candidates import holdout_span

    start, stop = holdout_span(market)
    targets = replays.strategy_targets(expression, market)
    parts = []
    for series, target in zip(market.series, targets, strict=True):
        inside = (series.timestamp >= start) & (series.timestamp < stop)
        parts.append(np.asarray(target, dtype=np.float64)[inside])
    return np.concatenate(parts)


def oracle_t(expression: str, market: Any, costs: Any) -> tuple[float, float]:
    """Return the oracle's holdout t-statistic and daily Sharpe (net of costs)."""
    from evolve.promotion import replays
    from evolve.promotion.candidates import holdout_span

    daily = replays.replay(
        replays.strategy_targets(expression, market), market, costs, *holdout_span(market)
    ).daily_returns
    std = float(daily.std(ddof=1))
    sharpe = float(daily.mean()) / std if std > 0 else 0.0
    return sharpe * math.sqrt(daily.size), sharpe


def calibrate_strengths(family: str, budget: Budget, pilots: int = 3) -> dict[float, float]:
    """Return the strength (per-bar drift) whose mean oracle holdout t is each target."""
    from fitness import FoldConfig, Market
    from fitness.backtest.costs import CostModel

    grid = np.geomspace(2e-5, 4e-3, 24)
    means = []
    for strength in grid:
        values = []
        for seed in range(10_000, 10_000 + pilots):
            series = PLANTED[family](budget.n_bars, seed, float(strength))
            market = Market.build([series], FoldConfig())
            values.append(oracle_t(ORACLES[family], market, CostModel())[0])
        means.append(float(np.mean(values)))
    curve = np.maximum.accumulate(np.asarray(means))
    return {t: float(np.interp(t, curve, grid)) for t in budget.targets}


def _write_config(directory: Path, data: Path, budget: Budget, seed: int) -> Path:
    path = directory / "run.toml"
    path.write_text(
        RUN_CONFIG.format(
            datasets=json.dumps([str(data)]),
            population=budget.population,
            generations=budget.generations,
            seeds=SEEDS.as_posix(),
            seed=seed,
        ),
        "utf-8",
    )
    return path


def run_dataset(task: dict[str, Any]) -> dict[str, Any]:
    """Run ``evolve run`` + ``evolve promote`` on one synthetic market; return its outcome."""
    import contextlib
    import io

    from benchmarks.calibration_markets import write_bar_file
    from evolve.cli import app as cli

    budget = Budget(**task["budget"])
    kind, family, seed = task["kind"], task["family"], task["seed"]
    maker = NULLS[family] if kind == "null" else PLANTED[family]
    args = (budget.n_bars, seed) if kind == "null" else (budget.n_bars, seed, task["strength"])
    started = time.perf_counter()
    directory = Path(tempfile.mkdtemp(prefix=f"calib-{family}-", dir=task["work"]))
    try:
        data = write_bar_file(directory, maker(*args))
        config = _write_config(directory, data, budget, seed)
        run_dir = directory / "run"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main(["run", "--config", str(config), "--run-dir", str(run_dir), "--plain"])
            if code == 0:
                code = cli.main(["promote", str(run_dir)])
        if code != 0:
            return {**task, "error": f"exit {code}"}
        evidence = json.loads((run_dir / "promotion.json").read_text("utf-8"))
        outcome = _outcome(evidence, run_dir, kind, family)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {**task, **outcome, "seconds": round(time.perf_counter() - started, 1)}


def _outcome(evidence: dict[str, Any], run_dir: Path, kind: str, family: str) -> dict[str, Any]:
    candidates = [
        {
            "id": c["id"],
            "promoted": c["promoted"],
            "cluster": c.get("cluster"),
            "expression": c["expression"],
            "holdout_daily_sharpe": c["statistics"]["holdout_daily_sharpe"],
            "gates": {g["name"]: [g["value"], g["threshold"], g["passed"]] for g in c["gates"]},
        }
        for c in evidence["candidates"]
    ]
    outcome: dict[str, Any] = {
        "n_candidates": len(candidates),
        "n_clusters": len(evidence.get("clusters", [])),
        "promoted": [c["id"] for c in candidates if c["promoted"]],
        "candidates": candidates,
        "n_effective": evidence["search"].get("n_effective"),
        "sr0": evidence["search"].get("expected_max_sharpe"),
    }
    if kind == "planted":
        config, market = _market(run_dir)
        t_stat, sharpe = oracle_t(ORACLES[family], market, config.costs)
        oracle = _holdout_targets(ORACLES[family], market)
        for candidate in candidates:
            positions = _holdout_targets(candidate["expression"], market)
            a, b = positions - positions.mean(), oracle - oracle.mean()
            norm = math.sqrt(float(a @ a) * float(b @ b))
            candidate["oracle_correlation"] = float(a @ b) / norm if norm > 0 else 0.0
        outcome.update(oracle_t=t_stat, oracle_daily_sharpe=sharpe)
    return outcome


def _tasks(budget: Budget, work: Path) -> list[dict[str, Any]]:
    shared = {"budget": asdict(budget) | {"targets": list(budget.targets)}, "work": str(work)}
    tasks = [
        {**shared, "kind": "null", "family": family, "seed": 100 + k, "strength": 0.0}
        for family in NULLS
        for k in range(budget.null_seeds)
    ]
    for family in PLANTED:
        strengths = calibrate_strengths(family, budget)
        for target, strength in strengths.items():
            tasks += [
                {
                    **shared,
                    "kind": "planted",
                    "family": family,
                    "seed": 200 + k,
                    "strength": strength,
                    "target_t": target,
                }
                for k in range(budget.planted_seeds)
            ]
    return tasks


def power_hits(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the promoted candidates that trade like the oracle (position correlation)."""
    return [
        c
        for c in result.get("candidates", [])
        if c["promoted"] and c.get("oracle_correlation", 0.0) >= POSITION_CORRELATION
    ]


def what_if(results: list[dict[str, Any]], gate: str, minimum: float) -> dict[str, Any]:
    """Return false promotions and power with ``gate`` re-judged at ``value >= minimum``.

    Re-applies one threshold to the recorded gate values (the correlation gate keeps its
    recorded verdict), so the operating curve of a threshold costs no new searches.
    """

    def promoted(candidate: dict[str, Any]) -> bool:
        verdicts = []
        for name, (value, _, passed) in candidate["gates"].items():
            if name == gate:
                verdicts.append(value is not None and value >= minimum)
            else:
                verdicts.append(passed)
        return all(verdicts)

    nulls = [r for r in results if r["kind"] == "null" and "error" not in r]
    false = sum(1 for r in nulls if any(promoted(c) for c in r["candidates"]))
    power: dict[str, list[int]] = {}
    for r in results:
        if r["kind"] != "planted" or "error" in r:
            continue
        hit = any(
            promoted(c) and c.get("oracle_correlation", 0.0) >= POSITION_CORRELATION
            for c in r["candidates"]
        )
        power.setdefault(f"{r['family']} t={r['target_t']:g}", []).append(int(hit))
    return {
        "false": false,
        "n_null": len(nulls),
        "power": {key: sum(v) / len(v) for key, v in sorted(power.items())},
    }


def what_if_table(results: list[dict[str, Any]]) -> str:
    """Return the DSR-threshold and concentration-threshold operating curves (Markdown)."""
    lines = []
    for gate, minima in (
        ("dsr", (0.0, 0.05, 0.1, 0.2, 0.5, 0.95)),
        ("concentration", (0.0, 0.5, 0.8, 0.9, 0.95)),
    ):
        rows = [(m, what_if(results, gate, m)) for m in minima]
        keys = sorted({k for _, row in rows for k in row["power"]})
        lines += [
            "",
            f"What if `{gate}` were judged at value >= m (recorded gate values re-judged):",
            "",
            "| m | false promotions | " + " | ".join(keys) + " |",
            "|---:|---:|" + "---:|" * len(keys),
        ]
        for m, row in rows:
            cells = " | ".join(f"{row['power'].get(k, 0):.0%}" for k in keys)
            lines.append(f"| {m:g} | {row['false']}/{row['n_null']} | {cells} |")
    return "\n".join(lines)


def table(results: list[dict[str, Any]]) -> str:
    """Return the calibration table (Markdown)."""
    lines = []
    nulls = [r for r in results if r["kind"] == "null" and "error" not in r]
    false = sum(1 for r in nulls if r["promoted"])
    lines += [
        "| null family | datasets | with a promotion |",
        "|---|---:|---:|",
        *(
            f"| {family} | {sum(r['family'] == family for r in nulls)} | "
            f"{sum(bool(r['promoted']) for r in nulls if r['family'] == family)} |"
            for family in NULLS
        ),
        "",
        f"False-promotion rate: {false}/{len(nulls)} = {false / max(len(nulls), 1):.1%} "
        f"(95 % Wilson upper bound {wilson_upper(false, len(nulls)):.1%})",
        "",
        "| family | target t | measured oracle t (mean) | datasets | power | "
        "promoted / oracle holdout Sharpe |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    planted = [r for r in results if r["kind"] == "planted" and "error" not in r]
    shares = []
    for family in PLANTED:
        for target in sorted({r["target_t"] for r in planted if r["family"] == family}):
            rows = [r for r in planted if r["family"] == family and r["target_t"] == target]
            hits = [r for r in rows if power_hits(r)]
            row_shares = []
            for r in hits:
                best = max(power_hits(r), key=lambda c: c["holdout_daily_sharpe"] or -1e9)
                if r["oracle_daily_sharpe"] > 0 and best["holdout_daily_sharpe"] is not None:
                    row_shares.append(best["holdout_daily_sharpe"] / r["oracle_daily_sharpe"])
            shares += row_shares
            share = f"{np.mean(row_shares):.0%}" if row_shares else "–"
            lines.append(
                f"| {family} | {target:g} | {np.mean([r['oracle_t'] for r in rows]):.2f} | "
                f"{len(rows)} | {len(hits)}/{len(rows)} = {len(hits) / len(rows):.0%} | {share} |"
            )
    errors = [r for r in results if "error" in r]
    lines += [
        "",
        "Promoted holdout Sharpe / oracle's, mean over detections: "
        + (f"{np.mean(shares):.0%} ({len(shares)} datasets)" if shares else "–"),
        f"Datasets that failed to run: {len(errors)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and print its table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibration")
    parser.add_argument("--quick", action="store_true", help="a tiny pass (minutes)")
    parser.add_argument("--jobs", type=int, default=2, help="datasets run in parallel")
    parser.add_argument("--out", type=Path, default=None, help="keep results.jsonl here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    budget = QUICK if args.quick else FULL
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calibration-") as work:
        tasks = _tasks(budget, Path(work))
        print(
            f"{len(tasks)} datasets: {budget.n_bars} 1h bars, population {budget.population}, "
            f"{budget.generations} generations, {args.jobs} job(s)",
            flush=True,
        )
        results = []
        out = args.out
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        context = multiprocessing.get_context("fork")
        with context.Pool(max(1, args.jobs), maxtasksperchild=4) as pool:
            for result in pool.imap_unordered(run_dataset, tasks):
                results.append(result)
                short = {k: result.get(k) for k in ("kind", "family", "seed", "target_t")}
                print(
                    f"[{len(results)}/{len(tasks)}] {short} promoted "
                    f"{len(result.get('promoted', []))} oracle_t {result.get('oracle_t')} "
                    f"{result.get('error', '')} ({result.get('seconds')} s)",
                    flush=True,
                )
                if out is not None:
                    with (out / "results.jsonl").open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(result) + "\n")
    print(table(results))
    print(what_if_table(results))
    print(f"(calibration: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
