"""The evolution engine: the generation loop, its persistence order, resume and interrupts.

Generation 0 makes its population from the seed templates (file order) and random trees
(ramped half-and-half), unique by text, then runs steps 3-8. Every later generation runs, in
this exact order (all random draws from the run's one ``numpy.random.Generator``, in the
driver, so any worker count gives the same run):

1. Pareto ranks and crowding distances of the population (DEAP, ``evolve.engine.toolbox``).
2. Offspring: crowded binary tournaments, then typed crossover (``crossover_probability``) or
   one mutation (kind by ``mutation_weights``) within the size limits, rejecting texts already
   in the population; plus ``immigrant_fraction`` random trees when the previous generation's
   diversity (unique structures / population) fell below ``diversity_threshold``.
3. Evaluation of the texts not evaluated before (an id -> result cache; a re-created text is
   a lineage row with ``is_new_trial = False``, not a new trial) through the evaluator.
4. Lineage: every offspring is added to the lineage index first; then each one's
   lineage-stability penalty from its relatives (parents, grandparents, siblings) — their raw
   robust scores (NaN when infeasible) weighted by structural similarity — is subtracted from
   its robust score, giving the penalised objectives.
5. Semantic collapse over parents + offspring (same semantic hash -> keep the fewest nodes,
   then the smallest text), then NSGA-II survivor selection of ``population`` individuals.
6. Hall of fame: the offspring that survived the collapse are offered (feasible ones can
   enter); newly listed members are probed (perturbation probe, copies through the evaluator,
   in sorted-id order) for their ``stability``.
7. Early stopping bookkeeping: the hall of fame's validation score is the mean annualised
   validation Sharpe of its 5 best members by robust score (what selection favours, judged on
   bars it never saw; a maximum over all members would be fixed by one lucky early find);
   ``patience`` generations without a score strictly above the best so far stop the run
   (``stopped_early``).
8. Persistence: lineage part -> ``hall_of_fame.json`` -> checkpoint (the commit point) ->
   ``run.json``; then the events. With Ray workers the files are written on a background
   thread while the next generation runs (from a snapshot taken before it starts); its events
   follow when the write is done, and an interrupt or failure waits for the write in flight.

Elitism: NSGA-II over parents + offspring keeps every non-dominated individual that fits; the
hall of fame keeps the best ever found, and its members are not re-injected into the
population (that would shrink diversity; they are never lost either way).

Interrupts: SIGKILL needs nothing (the last checkpoint is the truth; ``evolve/resume.py``
discards what came after it). Ctrl-C/SIGTERM abandons the generation in flight, marks
``run.json`` ``interrupted`` at the last checkpointed generation and raises
:class:`RunInterruptedError` (exit code 3).
"""

from __future__ import annotations

import importlib.metadata
import random
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import RunConfig
from evolve.engine.events import (
    CheckpointWritten,
    EarlyStopped,
    EventSink,
    GenerationCompleted,
    JsonlSink,
    RunFailed,
    RunFinished,
    RunInterrupted,
    RunStarted,
    WorkerFailed,
    WorkersStarting,
    emit,
)
from evolve.engine.generation import GenerationStep
from evolve.engine.inputs import MarketInputs, load_market
from evolve.engine.specs import hall_of_fame_specs
from evolve.engine.state import EngineState
from evolve.engine.summary import RunSummary, write_summary
from evolve.engine.toolbox import rank_and_crowding
from populations import (
    EventLog,
    HallOfFame,
    LineageStore,
    Member,
    RunDir,
    RunManifest,
    StrategySpec,
    list_checkpoints,
    new_run_id,
    save_checkpoint,
    utc_timestamp,
    write_hall_of_fame,
)

PACKAGES = ("evolve", "numpy", "numba", "deap", "pyarrow", "pydantic", "ray")


class RunInterruptedError(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; ``generation`` is the last complete (safe) one."""

    def __init__(self, run_dir: RunDir, generation: int) -> None:
        super().__init__(f"run {run_dir.run_id} interrupted")
        self.run_dir = run_dir
        self.generation = generation


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: status, last generation, trial count, hall of fame, summary."""

    run_dir: RunDir
    status: str
    generation: int
    n_trials: int
    elapsed_seconds: float
    members: list[StrategySpec]
    summary: RunSummary


def package_versions() -> dict[str, str]:
    """Return the installed versions of the packages a run depends on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one generation writes, captured before the next generation starts."""

    generation: int
    offspring: list[Member]
    specs: list[StrategySpec]
    payload: dict[str, Any]
    n_trials: int


@dataclass(frozen=True, slots=True)
class _Pending:
    """A generation being written in the background, and its statistics event."""

    future: Future[CheckpointWritten]
    event: GenerationCompleted


class Engine:
    """One run in one process: owns the evaluator, the state, the sinks and the run dir."""

    # write generation g while g + 1 runs on Ray workers: off until the SIGSEGV described in
    # _overlapping is explained (a crash-safe engine beats a 1.14-1.24x faster generation);
    # the benchmark's A/B turns it on to measure it
    overlap_writes = False

    def __init__(
        self,
        config: RunConfig,
        run_dir: RunDir,
        inputs: MarketInputs,
        manifest: RunManifest,
        sinks: Sequence[EventSink],
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.inputs = inputs
        self.manifest = manifest
        self.sinks: list[EventSink] = [JsonlSink(EventLog(run_dir.events_path)), *sinks]
        self.lineage_store = LineageStore(run_dir)
        # elapsed time counts every session: a resume continues the clock of run.json
        self.started = time.perf_counter() - manifest.elapsed_seconds
        self.step: GenerationStep | None = None
        self.seeds: list[Any] = []

    # -- set-up -----------------------------------------------------------------------------
    def fresh_state(self) -> tuple[EngineState, np.random.Generator]:
        """Return generation -1's state and the run's generator (both seeded from the seed)."""
        seed = self.config.run.seed
        random.seed(seed)
        rng = np.random.Generator(np.random.PCG64(seed))
        directions, score_index = objective_layout(self.config)
        hall = HallOfFame(
            directions,
            top_k=self.config.gp.hall_of_fame_top_k,
            max_front=self.config.gp.hall_of_fame_max_front,
            score_index=score_index,
        )
        return EngineState(generation=-1, population=[], hall=hall), rng

    def _evaluator(self) -> Any:
        from fitness import make_evaluator

        return make_evaluator(
            self.inputs.market,
            self.config.fitness(),
            workers=self.config.workers(),
            ray_address=self.config.run.ray_address or None,
            memo_bytes=self.config.run.memo_megabytes * 2**20,
            semantic_bytes=self.config.run.semantic_cache_megabytes * 2**20,
            on_worker_failure=lambda message: emit(self.sinks, WorkerFailed(message)),
        )

    # -- the loop ---------------------------------------------------------------------------
    def run(self, state: EngineState, rng: np.random.Generator) -> RunResult:
        """Run generations ``state.generation + 1 .. n_generations``; return how it ended.

        Raises
        ------
        RunInterruptedError
            On Ctrl-C / SIGTERM (``run.json`` says ``interrupted``).
        """
        evaluator = None
        try:
            workers, address = self.config.workers(), self.config.run.ray_address
            emit(self.sinks, WorkersStarting(workers, ray=workers > 1 or bool(address)))
            evaluator = self._evaluator()
            self.step = GenerationStep(
                self.config,
                self.inputs,
                evaluator,
                state,
                rng,
                seeds=self.seeds,
                started=self.started,
            )
            return self._finish(state, self._loop(state))
        except KeyboardInterrupt as e:
            with _ignoring_interrupts():  # a second Ctrl-C must not tear the status write
                safe = self._finish_interrupted(state)
            raise RunInterruptedError(self.run_dir, safe) from e
        except BaseException as e:
            safe = self._last_checkpoint_generation(state)
            self._set_status("failed", safe)
            emit(self.sinks, RunFailed(self.manifest.run_id, safe, repr(e)))
            raise
        finally:
            if evaluator is not None:
                evaluator.close()
            for sink in self.sinks:
                sink.close()

    def _loop(self, state: EngineState) -> str:
        patience = self.config.gp.patience
        if patience and state.generation >= 0 and state.stale_generations >= patience:
            return "stopped_early"
        assert self.step is not None
        # Generation g is written on a background thread while generation g + 1 is made and
        # evaluated (with Ray the driver mostly waits there); its events follow once it is on
        # disk. The snapshot (offspring, specs, checkpoint payload) is taken before g + 1
        # starts, so the files are exactly those of the sequential order.
        # the driver's young collections rescan its growing live heap (results, lineage, hall
        # of fame): ~9 % of a run's time at 10,000 bars with the default thresholds; the
        # workers' rarer ones hold for the loop and the caller's are restored after it
        from fitness import rare_collections

        with (
            rare_collections(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="evolve-persist") as writer,
        ):
            pending: _Pending | None = None
            try:
                for generation in range(state.generation + 1, self.config.gp.generations + 1):
                    event = self.step.run(generation)
                    self._drain(pending)
                    snapshot = self._snapshot(state)
                    pending = _Pending(writer.submit(self._write, snapshot), event)
                    if not self._overlapping():
                        self._drain(pending)
                        pending = None
                    if patience and state.stale_generations >= patience:
                        self._drain(pending)
                        pending = None
                        emit(
                            self.sinks,
                            EarlyStopped(generation, patience, state.best_validation_score),
                        )
                        return "stopped_early"
                self._drain(pending)
                pending = None
            finally:
                if pending is not None:  # interrupted or failed: finish the write in flight
                    with _ignoring_interrupts():
                        pending.future.exception()
        return "completed"

    def _overlapping(self) -> bool:
        """Write in the background only while Ray workers evaluate: the driver then waits on
        Ray, and the write costs nothing. In-process evaluation runs ``nogil`` numba kernels
        beside the writer thread, and a SIGINT/SIGTERM arriving then crashed the process
        (SIGSEGV inside ``simulate_summary_nb``, about 1 run in 5 in the interrupt test, not
        yet explained), so it keeps the sequential order."""
        ray = self.config.workers() > 1 or bool(self.config.run.ray_address)
        return self.overlap_writes and ray

    def _drain(self, pending: _Pending | None) -> None:
        """Wait for a background write; emit its checkpoint and generation events."""
        if pending is not None:
            emit(self.sinks, pending.future.result())
            emit(self.sinks, pending.event)

    def pareto_size(self, state: EngineState) -> int | None:
        """Return the size of the population's first front (None before generation 0)."""
        if state.generation < 0 or not state.population:
            return None
        directions, _ = objective_layout(self.config)
        return rank_and_crowding([i.penalized for i in state.population], directions).front_size

    # -- persistence ------------------------------------------------------------------------
    def specs(self, state: EngineState) -> list[StrategySpec]:
        """Return the hall of fame as strategy specs, best first."""
        return hall_of_fame_specs(state, self.config, self.inputs, self.manifest.run_id)

    def persist(self, state: EngineState) -> None:
        """Write generation ``state.generation``: lineage, hall of fame, checkpoint, run.json."""
        emit(self.sinks, self._write(self._snapshot(state)))

    def _snapshot(self, state: EngineState) -> _Snapshot:
        """Capture what generation ``state.generation`` writes (before the next one starts)."""
        assert self.step is not None
        return _Snapshot(
            generation=state.generation,
            offspring=list(self.step.offspring),
            specs=self.specs(state),
            payload=state.to_payload(self.step.rng),
            n_trials=state.n_trials,
        )

    def _write(self, snapshot: _Snapshot) -> CheckpointWritten:
        """Write a snapshot in the persistence order: lineage part, hall_of_fame.json,
        checkpoint (the commit point), run.json; return the checkpoint event (not emitted)."""
        generation = snapshot.generation
        self.lineage_store.append_generation(generation, snapshot.offspring)
        write_hall_of_fame(self.run_dir.hall_of_fame_path, generation, snapshot.specs)
        begin = time.perf_counter()
        path = save_checkpoint(self.run_dir, generation, snapshot.payload)
        seconds = time.perf_counter() - begin
        self.manifest.generation = generation
        self.manifest.n_evaluated = snapshot.n_trials
        self.manifest.elapsed_seconds = self.elapsed_seconds()
        self.manifest.updated_at = utc_timestamp()
        self.run_dir.write_manifest(self.manifest)
        return CheckpointWritten(generation, str(path), seconds)

    def elapsed_seconds(self) -> float:
        """Return the run's running time over all its sessions so far."""
        return max(0.0, time.perf_counter() - self.started)

    def _set_status(self, status: str, generation: int) -> None:
        try:
            self.manifest.status = status
            self.manifest.generation = generation
            self.manifest.elapsed_seconds = self.elapsed_seconds()
            self.manifest.updated_at = utc_timestamp()
            self.run_dir.write_manifest(self.manifest)
        except OSError:  # pragma: no cover - the disk failed while failing; keep the original
            pass

    def _finish_interrupted(self, state: EngineState) -> int:
        # the generation in flight may have been cut between its lineage part and its
        # checkpoint: only a checkpoint makes a generation safe
        safe = self._last_checkpoint_generation(state)
        self._set_status("interrupted", safe)
        how = f"evolve run --run-dir {self.run_dir.path} --resume"
        done = f"generation {safe} is safe" if safe >= 0 else "no generation completed yet"
        emit(
            self.sinks,
            RunInterrupted(
                self.manifest.run_id, str(self.run_dir.path), safe, f"{done}; continue with: {how}"
            ),
        )
        return safe

    def _last_checkpoint_generation(self, state: EngineState) -> int:
        present = [generation for generation, _ in list_checkpoints(self.run_dir)]
        return max((g for g in present if g <= state.generation), default=-1)

    def _finish(self, state: EngineState, status: str) -> RunResult:
        self._set_status(status, state.generation)
        elapsed = self.manifest.elapsed_seconds
        specs = self.specs(state)
        summary = RunSummary(
            run_id=self.manifest.run_id,
            run_dir=str(self.run_dir.path),
            status=status,
            datasets=[record["name"] for record in self.inputs.datasets],
            timeframe=self.inputs.timeframe,
            seed=self.config.run.seed,
            generation=state.generation,
            n_generations=self.config.gp.generations,
            n_trials=state.n_trials,
            elapsed_seconds=elapsed,
            objective_names=list(self.config.objectives.names),
            members=specs,
            pareto_size=self.pareto_size(state),
            best_validation_score=state.best_validation_score,
        )
        write_summary(self.run_dir.summary_path, summary)
        emit(
            self.sinks,
            RunFinished(
                self.manifest.run_id,
                str(self.run_dir.path),
                status,
                state.generation,
                state.n_trials,
                elapsed,
                str(self.run_dir.summary_path),
            ),
        )
        return RunResult(
            self.run_dir, status, state.generation, state.n_trials, elapsed, specs, summary
        )


@contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to shield
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def objective_layout(config: RunConfig) -> tuple[tuple[int, ...], int]:
    """Return the objective directions and the index of the score objective."""
    from fitness import objective_directions

    names = list(config.objectives.names)
    score_index = names.index("robust_score") if "robust_score" in names else 0
    return tuple(objective_directions(config.fitness())), score_index


def score_index_of(config: RunConfig) -> int:
    """Return the index of the score objective (``robust_score``, else the first)."""
    return objective_layout(config)[1]


def new_run(
    config: RunConfig,
    *,
    run_dir: Path | None = None,
    sinks: Sequence[EventSink] = (),
    now: datetime | None = None,
) -> RunResult:
    """Start a new run: create its directory, load the data, evolve, report.

    Parameters
    ----------
    config : RunConfig
        The resolved configuration (written to ``config.toml``).
    run_dir : Path, optional
        Create the run exactly here (it must not exist; the run id is its name); default
        ``<run.runs_root>/<new run id>``.
    sinks : sequence of EventSink
        Receivers of the events besides ``events.jsonl`` (the live view).

    Raises
    ------
    DataError, ExpressionError, RunDirError
        Bad data, seed templates or run directory (exit code 2); nothing is created for bad
        data or templates.
    RunInterruptedError
        On Ctrl-C / SIGTERM.
    """
    inputs = load_market(config)
    seeds = seed_trees(config)
    if run_dir is None:
        run_id = new_run_id(config.run.seed, now or datetime.now(UTC))
        directory = RunDir.create(Path(config.run.runs_root), run_id)
    else:
        directory = RunDir.create(Path(run_dir).parent, Path(run_dir).name)
    directory.write_config(config.to_toml())
    created = utc_timestamp(now)
    manifest = RunManifest(
        run_id=directory.run_id,
        seed=config.run.seed,
        status="running",
        created_at=created,
        updated_at=created,
        data=inputs.datasets,
        config_hash=config.digest(),
        package_versions=package_versions(),
        n_generations=config.gp.generations,
    )
    directory.write_manifest(manifest)
    engine = Engine(config, directory, inputs, manifest, sinks)
    directions, _ = objective_layout(config)
    emit(
        engine.sinks,
        RunStarted(
            run_id=directory.run_id,
            run_dir=str(directory.path),
            datasets=[record["name"] for record in inputs.datasets],
            symbols=inputs.symbols,
            timeframe=inputs.timeframe,
            n_bars=inputs.n_bars,
            seed=config.run.seed,
            population=config.gp.population,
            n_generations=config.gp.generations,
            workers=config.workers(),
            objective_names=list(config.objectives.names),
            directions=list(directions),
            config_hash=manifest.config_hash,
        ),
    )
    state, rng = engine.fresh_state()
    engine.seeds = seeds
    return engine.run(state, rng)


def seed_trees(config: RunConfig) -> list[Any]:
    """Return the parsed seed templates of ``gp.seed_templates`` (none when unset)."""
    from evolve.engine.offspring import read_seed_templates

    path = config.gp.seed_templates
    return read_seed_templates(Path(path)) if path else []
