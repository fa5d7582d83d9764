"""Benchmark the evolution engine: generation wall time and ``evolve run`` start-up.

Run ``python -m benchmarks.evolution`` (``--quick`` for tiny sizes). Prints, in one run:

1. generation wall time — variation + evaluation + lineage penalties + selection + hall of
   fame + probes (persistence overlaps the next generation) — for a population of 1,000 on
   synthetic single-symbol markets of 100,000 and 1,000,000 bars, with 1 worker (in-process)
   and 2 workers (a local Ray instance), each run in its own process
   (``benchmarks.evolution_profile``): generation 0 (random trees, cold caches, Ray start-up
   excluded) and the mean of the following generations, the share spent evaluating, the
   workers' busy share, the peak RSS of the driver and of the busiest worker, the driver's
   result cache; then the second worker's speed-up beside this machine's 2-process ceiling
   and the driver's time per phase;
2. ``evolve run --workers 1`` start-up in a subprocess with a warm numba cache: seconds until
   the ``run_started`` event and until the first ``generation`` event (a population of 40 on
   the bundled data), against the issue's 2 s.

The engine runs exactly as ``evolve run`` does (``evolve.engine.loop.new_run``), on datasets
stored in a temporary data home. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._synthetic import synthetic_series
from benchmarks.evaluate import cpu_scaling
from fitness import save_dataset
from populations import read_events

STARTUP_TARGET_SECONDS = 2.0


def store_synthetic(home: Path, n_bars: int) -> str:
    """Store a synthetic 1h series of ``n_bars`` bars; return its dataset directory."""
    info = save_dataset(synthetic_series(n_bars, seed=1), home=home, name=f"bench/SYNTH-{n_bars}")
    return str(info.path)


def profile_run(
    dataset: str,
    population: int,
    generations: int,
    workers: int,
    run_dir: Path,
    sequential_writes: bool = False,
) -> dict[str, Any]:
    """Run ``benchmarks.evolution_profile`` in a fresh process (its peak RSS is the driver's)."""
    command = [
        sys.executable, "-m", "benchmarks.evolution_profile", dataset, str(population),
        str(generations), str(workers), str(run_dir),
    ]  # fmt: skip
    if sequential_writes:
        command.append("--sequential-writes")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"profiled run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f}"


def generation_section(sizes: Sequence[int], population: int, generations: int) -> None:
    print(f"\n1. generation wall time, population {population:,}, {generations} generations "
          "after generation 0 (synthetic 1h random walk, 1 symbol; each run in its own "
          "process)")  # fmt: skip
    print(f"{'bars':>10} {'workers':>7} {'gen 0 s':>8} {'next gens s':>11} {'evaluating':>10} "
          f"{'evals/s':>8} {'busy':>5} {'driver MB':>9} {'worker MB':>9} "
          f"{'results MB':>10}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="evolve-bench-") as scratch:
        root = Path(scratch)
        for n_bars in sizes:
            dataset = store_synthetic(root / "home", n_bars)
            steady: dict[int | str, float] = {}
            phases: dict[int | str, dict[str, float]] = {}
            writes: dict[int | str, float] = {}
            before = cpu_scaling()  # the machine's load changes: measured around the pair
            # the A/B of overlapped writes (2 workers, writes before the next generation) only
            # where the driver's share is large enough to see
            variants = [1, 2, "2 seq"] if n_bars <= 100_000 else [1, 2]
            for variant in variants:
                workers = 2 if variant == "2 seq" else int(variant)
                run_dir = root / "runs" / f"{n_bars}-{variant}".replace(" ", "-")
                run = profile_run(
                    dataset, population, generations, workers, run_dir, variant == "2 seq"
                )
                later = run["walls"][1:]
                steady[variant] = statistics.fmean(later)
                later_phases = run["phases"][1:]
                names = sorted({name for phase in later_phases for name in phase})
                phases[variant] = {
                    name: statistics.fmean(phase.get(name, 0.0) for phase in later_phases)
                    for name in names
                }
                writes[variant] = statistics.fmean(run["write_seconds"][1:])
                evaluating = phases[variant].get("evaluation", 0.0) / steady[variant]
                rate = statistics.fmean(run["evaluations_per_second"][1:])
                busy = statistics.fmean(run["busy_share"][1:])
                print(f"{n_bars:>10,} {variant!s:>7} {run['walls'][0]:>8.2f} "
                      f"{steady[variant]:>11.2f} "
                      f"{evaluating:>10.0%} {rate:>8.0f} {busy:>5.0%} "
                      f"{_mb(run['driver_peak_rss_bytes']):>9} "
                      f"{_mb(run['worker_peak_rss_bytes']):>9} "
                      f"{_mb(run['result_cache_bytes']):>10}")  # fmt: skip
            ceiling = statistics.fmean([before, cpu_scaling()])
            speed_up = steady[1] / steady[2]
            print(f"{'':>10} second worker (later generations): x{speed_up:.2f}; this "
                  f"machine's 2-process ceiling x{ceiling:.2f} (x{before:.2f} before the runs) "
                  f"-> {speed_up / ceiling:.0%} of it")  # fmt: skip
            if "2 seq" in steady:
                print(f"{'':>10} overlapped writes: 2 workers x{steady['2 seq'] / steady[2]:.2f} "
                      "faster per generation than writing before the next one")  # fmt: skip
            print(f"{'':>10} driver seconds per later generation, by phase (workers "
                  f"{' / '.join(map(str, variants))}; the last generation waits for its own "
                  "write):")  # fmt: skip
            for name in sorted({name for variant in variants for name in phases[variant]}):
                values = " ".join(f"{phases[v].get(name, 0.0):>7.3f}" for v in variants)
                print(f"{'':>12} {name:<18} {values}")
            values = " ".join(f"{writes[v]:>7.3f}" for v in variants)
            print(f"{'':>12} {'(background write)':<18} {values}")


def startup_section(population: int) -> None:
    print(f"\n2. `evolve run --workers 1` start-up (subprocess, warm numba cache, bundled data, "
          f"population {population})")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="evolve-bench-") as scratch:
        rows = []
        for attempt in range(3):  # the first run also warms numba's cache if it is cold
            run_dir = Path(scratch) / f"run{attempt}"
            command = [
                sys.executable, "-m", "evolve", "run", "--workers", "1", "--plain",
                "--population", str(population), "--generations", "1", "--run-dir", str(run_dir),
            ]  # fmt: skip
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            first_event = first_generation = None
            while process.poll() is None or first_generation is None:
                events = read_events(run_dir / "events.jsonl") if run_dir.exists() else []
                names = [event["event"] for event in events]
                now = time.perf_counter() - started
                if first_event is None and "run_started" in names:
                    first_event = now
                if first_generation is None and "generation" in names:
                    first_generation = now
                if process.poll() is not None and first_generation is None:
                    raise RuntimeError(f"evolve run failed: {process.stderr.read().decode()}")
                time.sleep(0.005)
            process.wait()
            rows.append((first_event, first_generation))
        print(f"{'attempt':>7} {'run_started s':>13} {'first generation s':>18}")
        for attempt, (first_event, first_generation) in enumerate(rows):
            note = " (may include numba compilation)" if attempt == 0 else ""
            print(f"{attempt:>7} {first_event:>13.2f} {first_generation:>18.2f}{note}")
        best = min(row[1] for row in rows[1:])
        verdict = "met" if best < STARTUP_TARGET_SECONDS else "MISSED"
        print(f"target: first generation event < {STARTUP_TARGET_SECONDS:.0f} s after the "
              f"first compile — {best:.2f} s ({verdict})")  # fmt: skip


DESCRIPTION = """\
Benchmark the evolution engine: generation wall time (population 1,000 on synthetic
100,000- and 1,000,000-bar markets, 1 worker and 2 Ray workers, each run profiled in its
own process by benchmarks.evolution_profile) and `evolve run --workers 1` start-up."""

EPILOG = """\
examples:
  python -m benchmarks.evolution                  population 1,000; 100,000 and 1,000,000 bars
  python -m benchmarks.evolution --quick          population 40 on 5,000 bars: a smoke run
  python -m benchmarks.evolution_profile --help   the profiled run behind each row"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evolution",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    if args.quick:
        generation_section([5_000], population=40, generations=2)
        startup_section(population=20)
    else:
        generation_section([100_000, 1_000_000], population=1_000, generations=3)
        startup_section(population=40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
