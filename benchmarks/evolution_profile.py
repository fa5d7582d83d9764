"""One profiled engine run in its own process: where a generation's driver time goes, and
the peak resident set size of the driver and of the workers.

``python -m benchmarks.evolution_profile DATASET POPULATION GENERATIONS WORKERS RUN_DIR
[--result-cache-megabytes N]`` prints one JSON object. Running each configuration in a fresh
process is what makes the driver's peak RSS (``getrusage``) belong to that configuration.

Phases are timed exclusively (time spent in a nested timed call counts for the inner one):

- ``variation``: selection of parents and making the offspring (``_children``);
- ``evaluation``: inside the evaluator (scoring and the hall of fame's probes), waiting for
  results included: with Ray the driver is idle there while the workers compute;
- ``lineage``: ids, result cache, lineage records and lineage penalties;
- ``selection``: semantic collapse and NSGA-II;
- ``hall_of_fame``: hall-of-fame update and probe bookkeeping (its evaluations excluded);
- ``snapshot``: capturing what the generation writes (specs, checkpoint payload);
- ``persistence wait``: waiting for the previous generation's background write;
- ``other``: the rest of the generation (statistics, diversity, the event).

The writes themselves (lineage parquet part, hall_of_fame.json, checkpoint, run.json) run on
a background thread while the next generation runs; ``write_seconds`` lists their durations.
A generation's wall time runs from the start of its ``GenerationStep.run`` to the next one's
(the last one's to the end of the run).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evolve.config import RunConfig
from evolve.engine import generation as generation_module
from evolve.engine import loop as loop_module
from evolve.engine.events import Event, GenerationCompleted, RunFinished
from fitness.evaluation.evaluator import peak_rss_bytes


class PhaseTimer:
    """Exclusive wall time per phase name, per generation."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.generations: list[dict[str, float]] = []
        self._stack: list[list[float]] = []  # [start, nested seconds]

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                total = time.perf_counter() - start
                self.current[name] += total - nested
                if self._stack:
                    self._stack[-1][1] += total

        return timed

    def close_generation(self) -> None:
        self.generations.append(dict(self.current))
        self.current = defaultdict(float)


class Clock:
    """Event sink: the generation events, and the end of the run."""

    def __init__(self) -> None:
        self.events: list[GenerationCompleted] = []
        self.finished = 0.0

    def emit(self, event: Event) -> None:
        if isinstance(event, GenerationCompleted):
            self.events.append(event)
        elif isinstance(event, RunFinished):
            self.finished = time.perf_counter()

    def close(self) -> None:
        pass


def instrument(
    timer: PhaseTimer, steps: list[Any], starts: list[float], writes: list[float]
) -> None:
    """Wrap the engine's phases (module attributes and methods) with ``timer``; record each
    generation's start in ``starts`` and each background write's duration in ``writes``."""
    step_class = generation_module.GenerationStep
    original_init, original_run = step_class.__init__, step_class.run

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        steps.append(self)

    def run(self: Any, generation: int) -> Any:
        if starts:
            timer.close_generation()
        starts.append(time.perf_counter())
        return original_run(self, generation)

    step_class.__init__ = init  # type: ignore[method-assign]
    for name, phase in (
        ("_children", "variation"),
        ("_evaluate", "evaluation"),
        ("_score", "lineage"),
        ("_offspring", "lineage"),
        ("_hall_of_fame", "hall_of_fame"),
    ):
        setattr(step_class, name, timer.wrap(phase, getattr(step_class, name)))
    step_class.run = timer.wrap("other", run)  # type: ignore[method-assign]
    for name in ("collapse_semantic", "select_nsga2"):
        setattr(generation_module, name, timer.wrap("selection", getattr(generation_module, name)))
    engine = loop_module.Engine
    engine._snapshot = timer.wrap("snapshot", engine._snapshot)  # type: ignore[method-assign]
    engine._drain = timer.wrap("persistence wait", engine._drain)  # type: ignore[method-assign]
    original_write = engine._write

    def write(self: Any, snapshot: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original_write(self, snapshot)
        finally:
            writes.append(time.perf_counter() - begin)

    engine._write = write  # type: ignore[method-assign]


def profile(
    dataset: str,
    population: int,
    generations: int,
    workers: int,
    run_dir: Path,
    result_cache_megabytes: int | None = None,
    sequential_writes: bool = False,
) -> dict[str, Any]:
    """Run the engine as ``evolve run`` does; return walls, phases, busy shares and RSS."""
    loop_module.Engine.overlap_writes = not sequential_writes
    timer, steps, starts, writes = PhaseTimer(), [], [], []
    instrument(timer, steps, starts, writes)
    run: dict[str, Any] = {"workers": workers, "seed": 3}
    if result_cache_megabytes is not None:
        run["result_cache_megabytes"] = result_cache_megabytes
    config = RunConfig.model_validate(
        {
            "data": {"datasets": [dataset]},
            "gp": {"population": population, "generations": generations, "patience": 0},
            "run": run,
        }
    )
    clock = Clock()
    loop_module.new_run(config, run_dir=run_dir, sinks=[clock])
    timer.close_generation()
    marks = [*starts, clock.finished]
    walls = [after - before for before, after in itertools.pairwise(marks)]
    stats = steps[-1].evaluator.stats()
    return {
        "walls": walls,
        "phases": timer.generations,
        "write_seconds": writes,
        "n_evaluated": [e.n_evaluated for e in clock.events],
        "evaluations_per_second": [e.evaluations_per_second for e in clock.events],
        "busy_share": [e.busy_share for e in clock.events],
        "n_trials": clock.events[-1].n_trials,
        "driver_peak_rss_bytes": peak_rss_bytes(),
        "worker_peak_rss_bytes": stats.worker_peak_rss_bytes,
        "result_cache_bytes": steps[-1]._cache.bytes,
        "result_cache_entries": len(steps[-1]._cache),
    }


DESCRIPTION = """\
One profiled engine run in its own process, exactly as `evolve run` runs it (seed 3): prints
one JSON object with each generation's wall time, the driver's exclusive time per phase
(variation, evaluation, lineage, selection, hall_of_fame, snapshot, persistence wait,
other), the background writes' durations, evaluations/s, the workers' busy share and the
peak RSS of the driver and of the busiest worker."""

EPILOG = """\
examples:
  python -m benchmarks.evolution_profile bundled/BTCUSDT-1h 200 3 1 /tmp/profile-1
  python -m benchmarks.evolution_profile bundled/BTCUSDT-1h 1000 3 2 /tmp/profile-2 \\
      --result-cache-megabytes 64
  python -m benchmarks.evolution_profile bundled/BTCUSDT-1h 1000 3 2 /tmp/profile-3 \\
      --sequential-writes      writes before the next generation (overlap's A/B baseline)"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evolution_profile",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="dataset name (evolve data ls) or a dataset directory")
    parser.add_argument("population", type=int, help="population size")
    parser.add_argument("generations", type=int, help="generations after generation 0")
    parser.add_argument("workers", type=int, help="1: in-process; more: a local Ray instance")
    parser.add_argument(
        "run_dir", type=Path, help="the run directory to create (must not exist yet)"
    )
    parser.add_argument(
        "--result-cache-megabytes",
        type=int,
        metavar="MB",
        help="the driver's cache of evaluations by strategy id (default: the run default, 128)",
    )
    parser.add_argument(
        "--sequential-writes", action="store_true", help="persist before the next generation"
    )
    args = parser.parse_args(argv)
    result = profile(
        args.dataset,
        args.population,
        args.generations,
        args.workers,
        args.run_dir,
        args.result_cache_megabytes,
        args.sequential_writes,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
