"""Run every benchmark in one go (``make bench`` / ``python -m benchmarks [--quick]``).

Each module prints its own table with the peer baseline its issue names side by side.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

MODULES = (
    "primitives",
    "simulate",
    "evaluate",
    "evolution",
    "paper",
    "faults",
    "decay",
    "calibration",
)

DESCRIPTION = """\
Run every benchmark, one after the other, each printing its own table with the peer
baseline its issue names side by side (a full pass takes hours; --quick is a smoke pass):

  benchmarks.primitives    kernels vs pandas, population evaluation vs DEAP's gp.compile
  benchmarks.simulate      backtest kernel throughput vs vectorbt and the naive reference
  benchmarks.evaluate      full-fitness evaluation, serial and 2 Ray workers, vs a DEAP loop
  benchmarks.evolution     generation wall time and `evolve run` start-up
  benchmarks.paper         per-bar decision time of the paper runner
  benchmarks.faults        the venue-fault battery against the live runner
  benchmarks.decay         the decay monitor's false alarms and detection delay
  benchmarks.calibration   the promoter's false promotions on nulls and power on planted edges

A module missing from this checkout is skipped; the first module that exits non-zero
stops the pass with its exit code."""

EPILOG = """\
examples:
  python -m benchmarks               every benchmark at full size (make bench)
  python -m benchmarks --quick       tiny sizes: a smoke pass of every benchmark
  python -m benchmarks.simulate -h   one benchmark's own options"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes: each module's --quick (primitives: --bars 20000 --trees 100)",
    )
    quick = parser.parse_args(sys.argv[1:] if argv is None else argv).quick
    for name in MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"benchmarks.{name}":
                raise
            continue
        print(f"\n===== benchmarks.{name} =====", flush=True)
        start = time.perf_counter()
        module_args = ["--quick"] if quick and name != "primitives" else []
        if quick and name == "primitives":
            module_args = ["--bars", "20000", "--trees", "100"]
        status = module.main(module_args)
        print(f"(benchmarks.{name}: {time.perf_counter() - start:.0f} s)", flush=True)
        if status:
            return int(status)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
