"""Backtest kernel throughput vs vectorbt and the naive reference (python -m benchmarks.simulate).

Every evolve row runs with funding and every cost on (taker fee, slippage with volatility
scaling, latency, leverage). vectorbt (a benchmark-only extra) gets the same targets, fees and
slippage; it has no funding, leverage or volatility slippage. Slow methods are timed on a subset
of columns or bars and reported per bar·strategy (marked "subset").
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np

from fitness import CostModel, simulate, simulate_segment
from fitness.backtest.nb import simulate_nb, simulate_summary_nb

COSTS = CostModel(
    taker_fee=0.0005,
    slippage=0.0002,
    slippage_volatility_multiplier=0.5,
    latency_bars=1,
    leverage=2.0,
    funding=True,
)
LEVELS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
TARGET_POOL = 50  # distinct target arrays, cycled over the timed strategies
TARGET_NS_PER_BAR = 3.0


@dataclass(frozen=True)
class Row:
    method: str
    n_bars: int
    n_strategies: int  # strategies actually timed
    n_bars_timed: int  # bars per timed strategy
    seconds: float
    note: str = ""

    @property
    def ns_per_bar_strategy(self) -> float:
        return self.seconds / (self.n_bars_timed * self.n_strategies) * 1e9

    @property
    def bar_strategies_per_second(self) -> float:
        return 1e9 / self.ns_per_bar_strategy


def make_market(n_bars: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return a random-walk 1h market (open, close, funding every 8th bar)."""
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.006, n_bars)))
    open_ = np.concatenate(([30_000.0], close[:-1])) * np.exp(rng.normal(0.0, 0.0005, n_bars))
    funding = np.zeros(n_bars)
    funding[::8] = rng.normal(0.0001, 0.0002, len(funding[::8]))
    return open_, close, funding


def make_target(n_bars: int, rng: np.random.Generator) -> np.ndarray:
    """Return a realistic target: holds 20-50 bars, levels in {-1, -.5, 0, .5, 1}, NaN runs."""
    n_blocks = n_bars // 20 + 2
    lengths = rng.integers(20, 51, n_blocks)
    values = LEVELS[rng.integers(0, len(LEVELS), n_blocks)]
    values[rng.random(n_blocks) < 0.05] = np.nan  # warm-up-like gaps
    target = np.repeat(values, lengths)[:n_bars]
    target[: rng.integers(10, 200)] = np.nan  # indicator warm-up
    return np.ascontiguousarray(target)


def _time_loop(function: Callable[[np.ndarray], object], targets: list[np.ndarray], n: int):
    function(targets[0])  # compile / warm caches
    start = time.perf_counter()
    for i in range(n):
        function(targets[i % len(targets)])
    return time.perf_counter() - start


def bench_evolve(n_bars: int, n_strategies: int, seed: int) -> list[Row]:
    open_, close, funding = make_market(n_bars, seed)
    rng = np.random.default_rng(seed + 1)
    targets = [make_target(n_bars, rng) for _ in range(min(TARGET_POOL, n_strategies))]
    scalars = (
        COSTS.latency_bars,
        COSTS.fee_rate,
        COSTS.slippage,
        COSTS.slippage_volatility_multiplier,
        COSTS.leverage,
        COSTS.funding,
        1.0,
    )
    empty = np.empty(0)
    latency, fee, slip, multiplier, leverage, funding_on, equity = scalars

    def full_kernel(target):
        return simulate_nb(open_, close, funding, target, *scalars)

    def summary_kernel(target):
        return simulate_summary_nb(
            open_, close, funding, target, 0, n_bars, latency, fee, slip, multiplier,
            leverage, funding_on, equity, 0, empty,
        )  # fmt: skip

    def segment_wrapper(target):
        return simulate_segment(open_, close, funding, target, COSTS, 0, n_bars, validate=False)

    def simulate_wrapper(target):
        return simulate(open_, close, funding, target, COSTS)

    cases = [
        ("evolve summary kernel (simulate_summary_nb)", summary_kernel, n_strategies, ""),
        ("evolve simulate_segment(validate=False)", segment_wrapper, n_strategies, ""),
        ("evolve full kernel (simulate_nb)", full_kernel, n_strategies, "allocates 6 arrays"),
        ("evolve simulate() incl. validation", simulate_wrapper, max(n_strategies // 10, 1), ""),
    ]
    rows = []
    for name, function, count, note in cases:
        seconds = _time_loop(function, targets, count)
        rows.append(Row(name, n_bars, count, n_bars, seconds, note))
    return rows


def _vectorbt_inputs(n_bars: int, n_columns: int, seed: int):
    open_, close, _ = make_market(n_bars, seed)
    rng = np.random.default_rng(seed + 1)
    target = np.column_stack([make_target(n_bars, rng) for _ in range(n_columns)])
    # our s[t] fills at open[t + 1 + L]; vectorbt fills size[t] at price[t]
    lag = 1 + COSTS.latency_bars
    executable = np.vstack([np.zeros((lag, n_columns)), np.nan_to_num(target[:-lag])])
    previous = np.vstack([np.zeros((1, n_columns)), executable[:-1]])
    changed = executable != previous
    return open_[:, None], close[:, None], executable, changed


def bench_vectorbt(n_bars: int, n_columns: int, seed: int) -> list[Row]:
    try:
        import vectorbt as vbt
    except ImportError:
        return [Row("vectorbt", n_bars, 1, 1, float("nan"), "not installed (pip install .[bench])")]
    open_, close, executable, changed = _vectorbt_inputs(n_bars, n_columns, seed)
    size = np.where(changed, executable, np.nan)  # NaN = no order
    sign = np.sign(executable)
    previous_sign = np.vstack([np.zeros((1, n_columns)), sign[:-1]])
    signals = {
        "entries": changed & (sign > 0) & (previous_sign <= 0),
        "exits": changed & (sign <= 0) & (previous_sign > 0),
        "short_entries": changed & (sign < 0) & (previous_sign >= 0),
        "short_exits": changed & (sign >= 0) & (previous_sign < 0),
    }
    common = {"price": open_, "fees": COSTS.fee_rate, "slippage": COSTS.slippage}
    common |= {"init_cash": 1.0, "freq": "1h"}

    def from_orders(rows_slice: slice):
        return vbt.Portfolio.from_orders(
            close=close[rows_slice],
            size=size[rows_slice],
            size_type="targetpercent",
            direction="both",
            **{**common, "price": open_[rows_slice]},
        )

    def from_signals(rows_slice: slice):
        return vbt.Portfolio.from_signals(
            close=close[rows_slice],
            **{key: value[rows_slice] for key, value in signals.items()},
            **{**common, "price": open_[rows_slice]},
        )

    rows = []
    note = f"subset: {n_columns} columns, extrapolated"
    for name, function in (("orders", from_orders), ("signals", from_signals)):
        function(slice(0, 500))  # compile once
        start = time.perf_counter()
        portfolio = function(slice(None))
        seconds = time.perf_counter() - start
        rows.append(Row(f"vectorbt from_{name}", n_bars, n_columns, n_bars, seconds, note))
        if name == "orders":
            start = time.perf_counter()
            portfolio.value()
            seconds += time.perf_counter() - start
            label = "vectorbt from_orders + value()"
            rows.append(Row(label, n_bars, n_columns, n_bars, seconds, note))
    return rows


def bench_naive(n_bars: int, n_naive_bars: int, seed: int) -> Row:
    from tests.reference.naive_simulate import naive_simulate

    open_, close, funding = make_market(n_naive_bars, seed)
    target = make_target(n_naive_bars, np.random.default_rng(seed + 1))
    lists = [array.tolist() for array in (open_, close, funding, target)]
    start = time.perf_counter()
    naive_simulate(*lists, **COSTS.model_dump(), initial_equity=1.0)
    seconds = time.perf_counter() - start
    note = f"subset: {n_naive_bars} bars, extrapolated"
    return Row("naive pure-Python reference", n_bars, 1, n_naive_bars, seconds, note)


def check_agreement(seed: int) -> float:
    """Return the largest relative gap between vectorbt's and our equity with zero costs."""
    import vectorbt as vbt

    n_bars = 5_000
    open_, close, _ = make_market(n_bars, seed)
    target = make_target(n_bars, np.random.default_rng(seed))
    ours = simulate(open_, close, None, target, CostModel.zero()).equity
    executable = np.concatenate(([0.0], np.nan_to_num(target[:-1])))
    changed = executable != np.concatenate(([0.0], executable[:-1]))
    portfolio = vbt.Portfolio.from_orders(
        close=close, size=np.where(changed, executable, np.nan), size_type="targetpercent",
        direction="both", price=open_, init_cash=1.0,
    )  # fmt: skip
    return float(np.max(np.abs(portfolio.value().to_numpy() / ours - 1.0)))


def _versions() -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    parts.append(f"numba {numba.__version__}")
    try:
        import vectorbt

        parts.append(f"vectorbt {vectorbt.__version__}")
    except ImportError:
        parts.append("vectorbt not installed")
    return ", ".join(parts)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def print_table(rows: Sequence[Row]) -> None:
    header = (
        f"{'method':<46} {'n_bars':>9} {'timed':>6} {'ns/bar·strat':>13} "
        f"{'bar·strat/s':>12} {'x vbt':>7}  note"
    )
    print(header)
    print("-" * len(header))
    reference = {row.n_bars: row for row in rows if row.method == "vectorbt from_orders"}
    for row in rows:
        base = reference.get(row.n_bars)
        ratio = base.ns_per_bar_strategy / row.ns_per_bar_strategy if base else float("nan")
        print(
            f"{row.method:<46} {row.n_bars:>9,} {row.n_strategies:>6} "
            f"{row.ns_per_bar_strategy:>13.2f} {row.bar_strategies_per_second:>12.3g} "
            f"{ratio:>7.1f}  {row.note}"
        )


EPILOG = """\
examples:
  python -m benchmarks.simulate                      100,000 and 1,000,000 bars, 1,000 targets
  python -m benchmarks.simulate --quick              2,000 and 10,000 bars, 20 targets
  python -m benchmarks.simulate --skip-vectorbt      evolve and the naive reference only
  python -m benchmarks.simulate --quick --skip-vectorbt --strategies 2   the unit test's run"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.simulate",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--skip-vectorbt", action="store_true", help="leave vectorbt out")
    parser.add_argument(
        "--strategies",
        type=int,
        default=None,
        metavar="N",
        help="targets per size (1000; --quick 20)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=20240101,
        metavar="S",
        help="seed of the synthetic prices and targets (20240101)",
    )
    args = parser.parse_args(argv)
    sizes = (2_000, 10_000) if args.quick else (100_000, 1_000_000)
    n_strategies = args.strategies or (20 if args.quick else 1_000)
    vectorbt_columns = {2_000: 5, 10_000: 5, 100_000: 50, 1_000_000: 10}
    naive_bars = 2_000 if args.quick else 20_000

    print(f"hardware: {_cpu_name()}, {os.cpu_count()} logical cores; {platform.platform()}")
    print(f"versions: {_versions()}")
    print(f"costs: {COSTS.model_dump()}")
    print(f"targets: {n_strategies} per size (a pool of {TARGET_POOL} distinct arrays, cycled)")
    print()
    rows: list[Row] = []
    for n_bars in sizes:
        rows += bench_evolve(n_bars, n_strategies, args.seed)
        if not args.skip_vectorbt:
            rows += bench_vectorbt(n_bars, vectorbt_columns[n_bars], args.seed)
        rows.append(bench_naive(n_bars, min(naive_bars, n_bars), args.seed))
    print_table(rows)
    print()
    if not args.skip_vectorbt:
        try:
            gap = check_agreement(args.seed)
            print(f"agreement with vectorbt from_orders at zero costs: max |rel gap| = {gap:.1e}")
        except ImportError:
            pass
    summary = [row for row in rows if row.method.startswith("evolve summary")]
    worst = max(row.ns_per_bar_strategy for row in summary)
    verdict = "met" if worst <= TARGET_NS_PER_BAR else "NOT met"
    print(f"target <= {TARGET_NS_PER_BAR} ns/bar (summary kernel, all costs on): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
