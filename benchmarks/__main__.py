"""Run every benchmark in one go (``make bench`` / ``python -m benchmarks [--quick]``).

Each module prints its own table with the peer baseline its issue names side by side.
"""

from __future__ import annotations

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


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
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
