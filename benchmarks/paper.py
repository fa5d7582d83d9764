"""Per-bar decision time of the paper runner beside the bar interval (python -m benchmarks.paper).

One step = the closed bar processed for every strategy (funding → fill → mark through
``fitness.bar_step_nb``), every strategy's new target from its compiled tree, and the SQLite
transaction. Measured for 1, 10 and 50 random strategies on 1h and 1m bars, with targets
recomputed over each strategy's lookback window (``lookback + settle_bars``) and over the whole
history the feed holds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import fitness
import primitives
from benchmarks._synthetic import bars_from_log_returns
from execution.feed import ReplayFeed
from execution.runner import Runner, StrategyRun
from execution.state import StateStore

TIMEFRAMES = {"1h": 3600, "1m": 60}


def _series(n_bars: int, timeframe: str) -> fitness.BarSeries:
    rng = np.random.default_rng(7)
    hourly = bars_from_log_returns(
        rng.normal(0.0, 0.006, n_bars),
        rng,
        symbol="BENCHUSDT",
        source="bench",
        wick_volatility=0.002,
    )
    if timeframe == "1h":
        return hourly
    step = 60_000
    start = int(hourly.timestamp[0])
    return fitness.BarSeries(
        timestamp=start + step * np.arange(n_bars, dtype=np.int64),
        open=hourly.open,
        high=hourly.high,
        low=hourly.low,
        close=hourly.close,
        volume=hourly.volume,
        funding_rate=np.zeros(n_bars),
        symbol="BENCHUSDT",
        timeframe="1m",
    )


def _strategies(n: int) -> list[StrategyRun]:
    rng = np.random.default_rng(3)
    runs = []
    while len(runs) < n:
        compiled = primitives.compile(primitives.random_tree(rng))
        if compiled.is_stateful or any(r.id == compiled.id for r in runs):
            continue
        runs.append(StrategyRun(compiled.id, compiled.text, fitness.CostModel()))
    return runs


def measure(series: fitness.BarSeries, n_strategies: int, window: bool, steps: int) -> float:
    """Return the mean seconds per runner step over the last ``steps`` bars of ``series``."""
    with tempfile.TemporaryDirectory() as directory:
        feed = ReplayFeed([series], start_ms=int(series.timestamp[-steps - 1]))
        store = StateStore(Path(directory) / "bench.sqlite")
        runner = Runner(
            store,
            feed,
            _strategies(n_strategies),
            equity=10_000.0,
            history_bars=1 if window else None,
        )
        runner.step_once()  # warm: first compile/cached kernels, tables created
        start = time.perf_counter()
        done = runner.run(max_steps=steps)
        elapsed = time.perf_counter() - start
        store.close()
    return elapsed / max(done, 1)


EPILOG = """\
examples:
  python -m benchmarks.paper           1m histories of 100,000 bars, 20 steps per row
  python -m benchmarks.paper --quick   1m histories of 20,000 bars, 5 steps per row"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.paper",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller histories and fewer steps")
    args = parser.parse_args(argv)
    history = {"1h": 5_000, "1m": 20_000 if args.quick else 100_000}
    steps = 5 if args.quick else 20
    print(
        f"{'tf':>3} {'strategies':>10} {'history':>8} {'targets over':>13} "
        f"{'ms / bar':>9} {'bar interval':>12} {'share':>8}"
    )
    for timeframe, interval_s in TIMEFRAMES.items():
        series = _series(history[timeframe], timeframe)
        for n in (1, 10, 50):
            for window in (True, False):
                seconds = measure(series, n, window, steps)
                print(
                    f"{timeframe:>3} {n:>10} {history[timeframe]:>8} "
                    f"{'lookback' if window else 'all history':>13} {seconds * 1e3:>9.2f} "
                    f"{interval_s:>11}s {seconds / interval_s:>8.2e}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
