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
- ``persistence``: the lineage parquet part, hall_of_fame.json (specs), checkpoint, run.json;
- ``other``: the rest of the generation (statistics, diversity, the event).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evolve.config import RunConfig
from evolve.engine import generation as generation_module
from evolve.engine import loop as loop_module
from evolve.engine.events import Event, GenerationCompleted, RunStarted
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
    """Event sink: generation walls (event to event) and the events themselves."""

    def __init__(self, timer: PhaseTimer) -> None:
        self.timer = timer
        self.marks: list[float] = []
        self.events: list[GenerationCompleted] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.marks = [time.perf_counter()]
        elif isinstance(event, GenerationCompleted):
            self.marks.append(time.perf_counter())
            self.events.append(event)
            self.timer.close_generation()

    def close(self) -> None:
        pass


def instrument(timer: PhaseTimer, steps: list[Any]) -> None:
    """Wrap the engine's phases (module attributes and methods) with ``timer``."""
    step_class = generation_module.GenerationStep
    original_init = step_class.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        steps.append(self)

    step_class.__init__ = init  # type: ignore[method-assign]
    for name, phase in (
        ("_children", "variation"),
        ("_evaluate", "evaluation"),
        ("_score", "lineage"),
        ("_offspring", "lineage"),
        ("_hall_of_fame", "hall_of_fame"),
        ("run", "other"),
    ):
        setattr(step_class, name, timer.wrap(phase, getattr(step_class, name)))
    for name in ("collapse_semantic", "select_nsga2"):
        setattr(generation_module, name, timer.wrap("selection", getattr(generation_module, name)))
    engine = loop_module.Engine
    engine.persist = timer.wrap("persistence", engine.persist)  # type: ignore[method-assign]


def profile(
    dataset: str,
    population: int,
    generations: int,
    workers: int,
    run_dir: Path,
    result_cache_megabytes: int | None = None,
) -> dict[str, Any]:
    """Run the engine as ``evolve run`` does; return walls, phases, busy shares and RSS."""
    timer, steps = PhaseTimer(), []
    instrument(timer, steps)
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
    clock = Clock(timer)
    loop_module.new_run(config, run_dir=run_dir, sinks=[clock])
    walls = [after - before for before, after in zip(clock.marks, clock.marks[1:], strict=False)]
    stats = steps[-1].evaluator.stats()
    return {
        "walls": walls,
        "phases": timer.generations,
        "n_evaluated": [e.n_evaluated for e in clock.events],
        "evaluations_per_second": [e.evaluations_per_second for e in clock.events],
        "busy_share": [e.busy_share for e in clock.events],
        "n_trials": clock.events[-1].n_trials,
        "driver_peak_rss_bytes": peak_rss_bytes(),
        "worker_peak_rss_bytes": stats.worker_peak_rss_bytes,
        "result_cache_bytes": steps[-1]._cache.bytes,
        "result_cache_entries": len(steps[-1]._cache),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.evolution_profile")
    parser.add_argument("dataset")
    parser.add_argument("population", type=int)
    parser.add_argument("generations", type=int)
    parser.add_argument("workers", type=int)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--result-cache-megabytes", type=int)
    args = parser.parse_args(argv)
    result = profile(
        args.dataset,
        args.population,
        args.generations,
        args.workers,
        args.run_dir,
        args.result_cache_megabytes,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
