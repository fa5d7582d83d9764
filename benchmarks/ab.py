"""A/B the evaluation rate of this tree against a git revision, alternating processes.

Run ``python -m benchmarks.ab --base REV`` (``--quick`` for a smoke run). The revision is
exported with ``git archive`` into a scratch directory with its own numba cache (warmed by
one untimed run); then ``--pairs`` pairs of processes run alternately, base then this tree,
each evaluating the same random trees (seed 2) and their offspring (seed 3) on the same
synthetic market (seed 7) through one ``SerialEvaluator``. Rates are texts per **CPU second**
of ``evaluate``: on a shared machine wall time swings by tens of percent from one minute to
the next, CPU time by a few. Each run also prints a hash of every offspring's objectives,
semantic hash, summaries, pretty form, table rows and daily validation record, so a speed-up
that changed a result shows as a different hash.

``--worker-like`` runs both with the Ray actors' collector settings (``gc.freeze``, thresholds
10,000/50/50). Prints every pair, then the medians and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# runs inside either tree (PYTHONPATH decides which): only APIs both have
CHILD = """
import gc, hashlib, json, os, sys, time
import primitives
from benchmarks._synthetic import synthetic_market
from benchmarks.evaluate import CONFIG, offspring_texts, random_texts
from fitness import SerialEvaluator

n_bars, n_trees = int(sys.argv[1]), int(sys.argv[2])
primitives.warmup()
market = synthetic_market(n_bars, 7)
texts = random_texts(n_trees, 2)
offspring = offspring_texts(texts, 3)
evaluator = SerialEvaluator(market, CONFIG)
if os.environ.get("AB_WORKER_LIKE"):
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)
out = {}
for label, batch in (("cold", texts), ("warm", offspring)):
    start = time.process_time()
    evaluations = evaluator.evaluate(batch)
    out[label] = len(batch) / (time.process_time() - start)
summary = [
    (e.objectives, e.semantic_hash, e.train, e.validation, e.pretty,
     [(row.segment, row.symbol, row.metrics) for row in e.table], e.validation_returns.tobytes())
    for e in evaluations
]
out["hash"] = hashlib.sha256(repr(summary).encode()).hexdigest()[:12]
print(json.dumps(out))
"""


def run_child(
    tree: Path, cache: Path, script: Path, bars: int, trees: int, worker_like: bool
) -> dict:
    """Run the child script on ``tree``'s packages; return its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache)}
    if worker_like:
        env["AB_WORKER_LIKE"] = "1"
    done = subprocess.run(
        [sys.executable, str(script), str(bars), str(trees)],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"A/B run in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


EPILOG = """\
examples:
  python -m benchmarks.ab                            uncommitted changes against HEAD
  python -m benchmarks.ab --base main --pairs 5      this tree against the main branch
  python -m benchmarks.ab --base 3744de1 --worker-like
  python -m benchmarks.ab --base HEAD~1 --quick      5,000 bars, 40 trees, 1 pair: a smoke run"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ab",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base", default="HEAD", metavar="REV", help="git revision to compare with (HEAD)"
    )
    parser.add_argument(
        "--bars",
        type=int,
        default=100_000,
        metavar="N",
        help="bars of the synthetic market (100000)",
    )
    parser.add_argument(
        "--trees",
        type=int,
        default=1_000,
        metavar="N",
        help="random trees, then their offspring (1000)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=3,
        metavar="N",
        help="base/this process pairs, run alternately (3)",
    )
    parser.add_argument("--worker-like", action="store_true", help="Ray actors' GC settings")
    parser.add_argument("--quick", action="store_true", help="5,000 bars, 40 trees, 1 pair")
    args = parser.parse_args(argv)
    if args.quick:
        args.bars, args.trees, args.pairs = 5_000, 40, 1
    own_cache = Path(os.environ.get("NUMBA_CACHE_DIR", ROOT / ".venv" / "numba-cache"))
    with tempfile.TemporaryDirectory(prefix="evolve-ab-") as scratch:
        base = Path(scratch) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        script = Path(scratch) / "ab_child.py"
        script.write_text(CHILD, encoding="utf-8")
        base_cache = Path(scratch) / "numba-cache"
        sides = {"base": (base, base_cache), "this": (ROOT, own_cache)}
        print(f"A/B {args.base} vs this tree: {args.bars:,} bars, {args.trees} trees + offspring, "
              f"{args.pairs} pairs{', worker-like GC' if args.worker_like else ''}")  # fmt: skip
        for tree, cache in sides.values():  # untimed: numba caches filled, pages warm
            run_child(tree, cache, script, min(args.bars, 5_000), 10, args.worker_like)
        rates: dict[str, dict[str, list[float]]] = {
            side: {"cold": [], "warm": []} for side in sides
        }
        hashes: dict[str, set[str]] = {side: set() for side in sides}
        for pair in range(args.pairs):
            for side, (tree, cache) in sides.items():
                result = run_child(tree, cache, script, args.bars, args.trees, args.worker_like)
                for label in ("cold", "warm"):
                    rates[side][label].append(result[label])
                hashes[side].add(result["hash"])
                rate = f"cold {result['cold']:8.1f}  warm {result['warm']:8.1f} ind/s (CPU)"
                print(f"  pair {pair + 1} {side:<5} {rate}  results {result['hash']}", flush=True)
        for label in ("cold", "warm"):
            before = statistics.median(rates["base"][label])
            after = statistics.median(rates["this"][label])
            print(f"median {label}: {before:.1f} -> {after:.1f} ind/s, x{after / before:.3f}")
        same = hashes["base"] == hashes["this"] and len(hashes["this"]) == 1
        print("results: identical" if same else f"results DIFFER: {hashes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
