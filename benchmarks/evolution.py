"""Benchmark the evolution engine: generation wall time and ``evolve run`` start-up.

Run ``python -m benchmarks.evolution`` (``--quick`` for tiny sizes). Prints, in one run:

1. generation wall time — variation + evaluation + lineage penalties + selection + hall of
   fame + probes + persistence (lineage part, hall_of_fame.json, checkpoint, run.json) — for a
   population of 1,000 on synthetic single-symbol markets of 100,000 and 1,000,000 bars, with 1
   worker (in-process) and 2 workers (a local Ray instance): generation 0 (random trees, cold
   caches, Ray start-up excluded) and the mean of the following generations, with the share
   spent evaluating;
2. ``evolve run --workers 1`` start-up in a subprocess with a warm numba cache: seconds until
   the ``run_started`` event and until the first ``generation`` event (a population of 40 on
   the bundled data), against the issue's 2 s.

The engine runs exactly as ``evolve run`` does (``evolve.engine.loop.new_run``), on datasets
stored in a temporary data home. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._synthetic import synthetic_series
from evolve.config import RunConfig
from evolve.engine.events import Event, GenerationCompleted, RunStarted
from evolve.engine.loop import new_run
from fitness import save_dataset
from populations import read_events

STARTUP_TARGET_SECONDS = 2.0


class GenerationClock:
    """Event sink timing each generation from the previous generation event (or run start)."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self.events: list[GenerationCompleted] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.marks = [time.perf_counter()]
        elif isinstance(event, GenerationCompleted):
            self.marks.append(time.perf_counter())
            self.events.append(event)

    def close(self) -> None:
        pass

    def walls(self) -> list[float]:
        return [after - before for before, after in zip(self.marks, self.marks[1:], strict=False)]


def store_synthetic(home: Path, n_bars: int) -> str:
    """Store a synthetic 1h series of ``n_bars`` bars; return its dataset directory."""
    info = save_dataset(synthetic_series(n_bars, seed=1), home=home, name=f"bench/SYNTH-{n_bars}")
    return str(info.path)


def time_generations(
    dataset: str, population: int, generations: int, workers: int, root: Path
) -> tuple[list[float], list[GenerationCompleted], float]:
    """Run the engine; return per-generation wall seconds, the events and Ray start-up."""
    config = RunConfig.model_validate(
        {
            "data": {"datasets": [dataset]},
            "gp": {"population": population, "generations": generations, "patience": 0},
            "run": {"workers": workers, "seed": 3},
        }
    )
    clock = GenerationClock()
    started = time.perf_counter()
    new_run(config, run_dir=root / f"w{workers}-{os.path.basename(dataset)}", sinks=[clock])
    total = time.perf_counter() - started
    walls = clock.walls()
    # the first interval also holds the evaluator's start-up (Ray init, actors' warm-up)
    evaluation_start = walls[0] - _evaluation_seconds(clock.events[0]) - _rest(clock.events[0])
    return walls, clock.events, max(0.0, min(evaluation_start, total))


def _evaluation_seconds(event: GenerationCompleted) -> float:
    rate = event.evaluations_per_second
    return event.n_evaluated / rate if rate else 0.0


def _rest(event: GenerationCompleted) -> float:
    return max(0.0, event.generation_seconds - _evaluation_seconds(event))


def generation_section(sizes: Sequence[int], population: int, generations: int) -> None:
    print(f"\n1. generation wall time, population {population:,}, {generations} generations "
          "after generation 0 (synthetic 1h random walk, 1 symbol)")  # fmt: skip
    print(f"{'bars':>10} {'workers':>7} {'start-up s':>10} {'gen 0 s':>8} {'next gens s':>11} "
          f"{'evaluating':>10} {'evals/gen':>9} {'evals/s':>8} {'trials':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="evolve-bench-") as scratch:
        root = Path(scratch)
        for n_bars in sizes:
            dataset = store_synthetic(root / "home", n_bars)
            steady: dict[int, float] = {}
            for workers in (1, 2):
                walls, events, startup = time_generations(
                    dataset, population, generations, workers, root / "runs"
                )
                later, later_events = walls[1:], events[1:]
                steady[workers] = statistics.fmean(later) if later else float("nan")
                evaluating = sum(_evaluation_seconds(e) for e in later_events) / max(
                    sum(later), 1e-9
                )
                per_generation = statistics.fmean(e.n_evaluated for e in later_events)
                rate = statistics.fmean(e.evaluations_per_second for e in later_events)
                gen0 = walls[0] - startup
                print(f"{n_bars:>10,} {workers:>7} {startup:>10.1f} {gen0:>8.2f} "
                      f"{steady[workers]:>11.2f} {evaluating:>10.0%} {per_generation:>9.0f} "
                      f"{rate:>8.0f} {events[-1].n_trials:>7,}")  # fmt: skip
            print(f"{'':>10} speed-up of the second worker (later generations): "
                  f"{steady[1] / steady[2]:.2f}x")  # fmt: skip


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.evolution")
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
