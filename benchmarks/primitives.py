"""Benchmark the primitives layer: kernels vs pandas, population evaluation vs DEAP's path.

Run ``python -m benchmarks.primitives`` (``--bars``, ``--trees``, ``--seed`` to change the
workload). Prints, in one run: kernel ns/bar next to the pandas/numpy equivalent; population
throughput (trees/s, bar·nodes/s) for random trees with and without the subtree memo, beside
DEAP's canonical ``gp.compile`` + numpy primitives on the same texts; and the memory-copy floor
for the bytes our plan writes. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pandas as pd

import primitives
from benchmarks._synthetic import synthetic_series
from benchmarks.primitives_baseline import BaselineEvaluator
from fitness import BarSeries
from primitives.interpret import _compile_text
from primitives.registry import registry
from primitives.types import Signal


def make_market(n_bars: int, seed: int) -> BarSeries:
    """The benchmark market: a synthetic 1h random walk (0.4 % per bar) with 8-hourly funding."""
    return synthetic_series(n_bars, seed, volatility=0.004)


def best_seconds(function: Callable[[], Any], repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _pandas_rsi(s: pd.Series, n: int) -> pd.Series:
    change = s.diff()
    gain = change.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    loss = (-change).clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    return 100 * gain / (gain + loss)


def _pandas_atr(frame: pd.DataFrame, n: int) -> pd.Series:
    previous = frame["close"].shift()
    ranges = pd.concat(
        [
            frame["high"] - frame["low"],
            (frame["high"] - previous).abs(),
            (frame["low"] - previous).abs(),
        ],
        axis=1,
    )
    return ranges.max(axis=1).ewm(alpha=1 / n, adjust=False).mean()


def _pandas_zscore(s: pd.Series, n: int) -> pd.Series:
    rolling = s.rolling(n)
    return (s - rolling.mean()) / rolling.std(ddof=0)


def kernel_table(market: BarSeries) -> None:
    kernels = {entry.key: entry.kernel for entry in registry()}
    x = market.close
    y = np.asarray(market.open)
    series = pd.Series(np.asarray(x))
    high, low = market.high, market.low
    frame = pd.DataFrame({"high": high, "low": low, "close": x})
    a = x > y
    b = np.asarray(market.high) > np.asarray(market.low) * 1.003
    a.flags.writeable = False
    b.flags.writeable = False
    k = kernels
    rows: list[tuple[str, Callable[[], Any], str, Callable[[], Any]]] = [
        ("SMA(20)", lambda: k["sma"](x, 20),
         "rolling(20).mean()", lambda: series.rolling(20).mean()),
        ("SMA(200)", lambda: k["sma"](x, 200),
         "rolling(200).mean()", lambda: series.rolling(200).mean()),
        ("EMA(20)", lambda: k["ema"](x, 20),
         "ewm(span=20).mean()", lambda: series.ewm(span=20, adjust=False).mean()),
        ("RSI(14) Wilder", lambda: k["rsi"](x, 14),
         "diff/clip/ewm x2", lambda: _pandas_rsi(series, 14)),
        ("rolling max(20)", lambda: k["rolling_max"](x, 20),
         "rolling(20).max()", lambda: series.rolling(20).max()),
        ("rolling max(200)", lambda: k["rolling_max"](x, 200),
         "rolling(200).max()", lambda: series.rolling(200).max()),
        ("z-score(20)", lambda: k["zscore"](x, 20),
         "(s-mean)/std(ddof=0)", lambda: _pandas_zscore(series, 20)),
        ("ATR(14) Wilder", lambda: k["atr"](high, low, x, 14),
         "max(3 ranges)+ewm", lambda: _pandas_atr(frame, 14)),
        ("gt (a > b)", lambda: k["gt_price"](x, y), "numpy a > b", lambda: x > y),
        ("and_", lambda: k["and_"](a, b), "numpy a & b", lambda: a & b),
        ("pos_from", lambda: k["pos_from"](a, b),
         "numpy where x2", lambda: np.where(a & ~b, 1.0, np.where(b & ~a, -1.0, 0.0))),
    ]  # fmt: skip
    n = x.shape[0]
    print(f"\nKernels on {n:,} bars (float64, best of 7; ns per bar)")
    print(f"{'kernel':<18}{'ours ns/bar':>12}   {'peer':<22}{'peer ns/bar':>12}{'speed-up':>10}")
    for name, ours, peer_name, peer in rows:
        ours()
        peer()
        t_ours = best_seconds(ours) / n * 1e9
        t_peer = best_seconds(peer) / n * 1e9
        print(f"{name:<18}{t_ours:>12.2f}   {peer_name:<22}{t_peer:>12.2f}{t_peer / t_ours:>9.1f}x")


def bytes_written(tree: Any) -> tuple[int, int]:
    """Count the distinct non-column series nodes of ``tree``: (float64 outputs, bool outputs)."""
    entries = {entry.name: entry for entry in registry()}
    seen: set[str] = set()
    floats = bools = 0
    for node, text in zip(tree, primitives.subtree_texts(tree), strict=True):
        entry = entries.get(node.name)
        if (
            entry is None
            or entry.is_column
            or text in seen
            or isinstance(node, primitives.Constant)
        ):
            continue
        seen.add(text)
        if node.ret is Signal:
            bools += 1
        else:
            floats += 1
    return floats, bools


def _run_ours(texts: list[str], market: BarSeries, memo: primitives.Memo | None) -> float:
    _compile_text.cache_clear()
    start = time.perf_counter()
    for text in texts:
        primitives.compile(text).positions(market, memo)
    return time.perf_counter() - start


def _copy_floor(trees: list[Any], n_bars: int) -> tuple[float, float]:
    """Time copying the bytes our plans write (one n_bars array per distinct series node)."""
    floats = bools = 0
    for tree in trees:
        f, b = bytes_written(tree)
        floats, bools = floats + f, bools + b
    source_f, target_f = np.ones(n_bars), np.empty(n_bars)
    source_b, target_b = np.ones(n_bars, dtype=bool), np.empty(n_bars, dtype=bool)
    start = time.perf_counter()
    for _ in range(floats):
        np.copyto(target_f, source_f)
    for _ in range(bools):
        np.copyto(target_b, source_b)
    return time.perf_counter() - start, (floats * 8 + bools) * n_bars / 1e9


def population_table(market: BarSeries, n_trees: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    limits = primitives.SizeLimits(max_depth=8, max_nodes=40)
    trees = [
        primitives.random_tree(rng, min_depth=2, max_depth=6, limits=limits) for _ in range(n_trees)
    ]
    texts = [primitives.to_text(tree) for tree in trees]
    n_bars = market.close.shape[0]
    bar_nodes = n_bars * sum(len(tree) for tree in trees)
    print(
        f"\nPopulation: {n_trees:,} random trees (mean {np.mean([len(t) for t in trees]):.1f} "
        f"nodes, max depth {max(t.height for t in trees)}) on {n_bars:,} bars; compile included;"
        "\neach target array is consumed and dropped, as the fitness layer does; timed after an"
        " untimed warm-up pass (steady-state worker); the memo starts empty"
    )
    baseline = BaselineEvaluator()
    arguments = baseline.bind(market)
    # untimed warm-up pass: process heap and caches in the steady state of a long-lived worker
    _run_ours(texts, market, None)
    for text in texts[:100]:
        baseline.compile(text)(*arguments)

    t_plain = _run_ours(texts, market, None)
    memo = primitives.Memo()
    t_memo = _run_ours(texts, market, memo)
    start = time.perf_counter()
    arguments = baseline.bind(market)
    for text in texts:
        baseline.compile(text)(*arguments)
    t_deap = time.perf_counter() - start
    t_copy, copied_gb = _copy_floor(trees, n_bars)

    hit_rate = memo.hits / max(memo.hits + memo.misses, 1)
    rows = [
        ("DEAP gp.compile + numpy", t_deap),
        ("ours, no memo", t_plain),
        (f"ours, memo (hits {hit_rate:.0%})", t_memo),
        (f"memcpy floor ({copied_gb:.1f} GB)", t_copy),
    ]
    print(
        f"{'path':<30}{'seconds':>9}{'trees/s':>10}{'bar·nodes/s':>14}"
        f"{'ns/bar·node':>13}{'vs DEAP':>9}"
    )
    for name, seconds in rows:
        print(
            f"{name:<30}{seconds:>9.2f}{n_trees / seconds:>10.1f}{bar_nodes / seconds:>14.3g}"
            f"{seconds / bar_nodes * 1e9:>13.3f}{t_deap / seconds:>8.1f}x"
        )
    print(f"memo: {memo.bytes / 2**20:.0f} MB held, {memo.hits:,} hits, {memo.misses:,} misses")
    offspring_table(market, trees, memo, baseline, rng)
    agree = 0
    for text in texts:
        strategy = primitives.compile(text)
        ours = strategy.positions(market)[strategy.lookback :]
        theirs = baseline.compile(text)(*arguments)[strategy.lookback :]
        agree += bool(np.allclose(ours, theirs, atol=1e-9, equal_nan=True))
    print(
        f"DEAP baseline positions equal ours after warm-up on {agree}/{n_trees} trees; the rest: "
        "stateful roots (the baseline does not mask inner warm-up) and exact ties on flat "
        "windows that its cumulative sums round away"
    )


def _offspring(trees: list[Any], rng: np.random.Generator) -> list[str]:
    """Return one generation of GP offspring: 60 % crossover pairs, 40 % mutations."""
    limits = primitives.SizeLimits(max_depth=8, max_nodes=40)
    texts: list[str] = []
    while len(texts) < len(trees):
        a, b = (trees[i] for i in rng.integers(0, len(trees), 2))
        if rng.random() < 0.6:
            children = primitives.crossover(a, b, rng, limits)
        else:
            kind = primitives.MUTATIONS[int(rng.integers(0, len(primitives.MUTATIONS)))]
            children = (primitives.mutate(a, rng, kind, limits),)
        texts.extend(primitives.to_text(child) for child in children)
    return texts[: len(trees)]


def offspring_table(
    market: BarSeries,
    trees: list[Any],
    memo: primitives.Memo,
    baseline: BaselineEvaluator,
    rng: np.random.Generator,
) -> None:
    """Time the regime a GP worker lives in: offspring of an evaluated population."""
    texts = _offspring(trees, rng)
    n_bars = market.close.shape[0]
    bar_nodes = n_bars * sum(len(primitives.parse(text)) for text in texts)
    hits, misses = memo.hits, memo.misses
    t_memo = _run_ours(texts, market, memo)
    rate = (memo.hits - hits) / max(memo.hits - hits + memo.misses - misses, 1)
    t_plain = _run_ours(texts, market, None)
    arguments = baseline.bind(market)
    start = time.perf_counter()
    for text in texts:
        baseline.compile(text)(*arguments)
    t_deap = time.perf_counter() - start
    print(
        f"\nNext generation: {len(texts):,} offspring of that population (60 % crossover, 40 % "
        "mutation), the worker's memo warm from evaluating their parents"
    )
    for name, seconds in (
        ("DEAP gp.compile + numpy", t_deap),
        ("ours, no memo", t_plain),
        (f"ours, memo (hits {rate:.0%})", t_memo),
    ):
        print(
            f"{name:<30}{seconds:>9.2f}{len(texts) / seconds:>10.1f}{bar_nodes / seconds:>14.3g}"
            f"{seconds / bar_nodes * 1e9:>13.3f}{t_deap / seconds:>8.1f}x"
        )


EPILOG = """\
examples:
  python -m benchmarks.primitives                           100,000 bars, 1,000 trees
  python -m benchmarks.primitives --bars 20000 --trees 100  as `python -m benchmarks --quick`
  python -m benchmarks.primitives --bars 1000000 --seed 1   longer series, other trees"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.primitives",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bars", type=int, default=100_000, metavar="N", help="bars per series (100000)"
    )
    parser.add_argument(
        "--trees", type=int, default=1_000, metavar="N", help="population size (1000)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (0)")
    args = parser.parse_args(argv)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    print(
        f"primitives benchmark: {cpu}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}, pandas {pd.__version__}, "
        f"PSET_VERSION {primitives.PSET_VERSION}"
    )
    start = time.perf_counter()
    primitives.warmup()
    print(f"warmup(): {time.perf_counter() - start:.2f} s (numba cache load/compile)")
    market = make_market(args.bars, args.seed)
    kernel_table(market)
    population_table(market, args.trees, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
