"""Resume: continue a run from its last complete generation, extend a finished one, or refuse.

Order: load the data, compare data hashes and result-affecting config values with the run's
(``ResumeMismatchError`` naming each difference; ``gp.patience`` may be raised, never
lowered), load the newest valid checkpoint and decide whether there is anything to do. With
nothing to do (:class:`NothingToDo`) no file is touched. Otherwise: repair a torn
``events.jsonl`` line, truncate the lineage after the checkpoint, rebuild the lineage index
from ``lineage.parquet``, restore the random states, rewrite ``hall_of_fame.json``,
``config.toml`` (the new settings) and ``run.json`` (status ``running``, the new generation
total, an ``extensions`` entry when the generation total or the patience changed), then run
the remaining generations. A run with no checkpoint yet starts from generation 0 in the same
directory.

Which patience. ``--patience P`` (or a ``--config`` file) sets it; otherwise the stored one is
kept, except that an early-stopped run given only a larger ``--generations N`` continues with
early stopping off (patience 0, recorded in ``extensions``), so that it runs to N
(:func:`implied_patience`).

Extending. A completed run resumed with ``--generations N`` above its last generation, or an
early-stopped run resumed with a raised ``--patience`` (and, if it stopped at its last
generation, a larger ``--generations``), continues from its last checkpoint. The
early-stopping counter (generations without a better validation score) and the best score so
far are carried on, not reset: they never depend on the patience, so a run started fresh with
the final settings computes the same counter at every generation. Since the patience is only
ever raised, that fresh run cannot stop before the point the extended run had reached, and
from there both run the same generations under the same settings: the extended run's
``hall_of_fame.json``, checkpoints and ``lineage.parquet`` equal the fresh run's byte for byte
(tested). ``run.json`` (times, ``extensions``), ``events.jsonl`` (a ``resumed`` event,
timings) and ``summary.md`` (elapsed) differ. Lowering the patience is refused: a fresh run
with the lower value might have stopped earlier than this one did, so no fresh run would
equal the result.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from evolve.config import RunConfig, read_resolved_config
from evolve.engine.events import EventSink, Resumed, emit
from evolve.engine.inputs import MarketInputs, load_market
from evolve.engine.loop import Engine, RunResult, objective_layout, score_index_of, seed_trees
from evolve.engine.state import EngineState, rebuild_lineage, state_from_payload
from populations import (
    FINISHED_STATUSES,
    EventLog,
    ResumeMismatchError,
    RunDir,
    RunExtension,
    RunManifest,
    changed_config_keys,
    check_resume,
    load_latest_checkpoint,
    utc_timestamp,
    write_hall_of_fame,
)

RAISABLE_KEY = "gp.patience"
"""The one result-affecting key a resume may change (upwards only; 0 means never stop)."""


@dataclass(frozen=True, slots=True)
class NothingToDo:
    """A resume found nothing to run and changed no file; ``message`` says why and what would."""

    run_dir: RunDir
    status: str
    generation: int
    message: str


def patience_not_lowered(before: int, after: int) -> bool:
    """Return whether ``after`` stops no earlier than ``before`` (0 = never stop early)."""
    if after == before or after == 0:
        return True
    return before != 0 and after > before


def implied_patience(manifest: RunManifest, generations: int | None) -> int | None:
    """Return the patience a resume uses when none was given, or ``None`` to keep the run's.

    An early-stopped run asked for more generations (``--generations N`` above its last
    generation) without a patience continues with early stopping off (0): it runs to N, as the
    request says, and equals a fresh run with patience 0. Everything else keeps the stored one.
    """
    if manifest.status == "stopped_early" and generations is not None:
        return 0 if generations > manifest.generation else None
    return None


def check_resumable(
    run_dir: RunDir, config: RunConfig, inputs: MarketInputs
) -> tuple[RunManifest, RunConfig]:
    """Return the run's manifest and stored configuration if ``config`` and the data may
    continue it.

    Raises
    ------
    ResumeMismatchError
        (exit code 2) naming every changed dataset and result-affecting config key, or a
        lowered ``gp.patience``.
    """
    manifest = run_dir.read_manifest()
    stored = read_resolved_config(run_dir.config_path)
    changed = [
        key
        for key in changed_config_keys(stored.result_affecting(), config.result_affecting())
        if key != RAISABLE_KEY
    ]
    # the run's hash covers the stored patience; compare like with like
    as_stored = config.model_copy(
        update={"gp": config.gp.model_copy(update={"patience": stored.gp.patience})}
    )
    check_resume(
        manifest, data=inputs.datasets, config_hash=as_stored.digest(), changed_keys=changed
    )
    before, after = stored.gp.patience, config.gp.patience
    if not patience_not_lowered(before, after):
        raise ResumeMismatchError(
            f"cannot resume run {manifest.run_id} ({run_dir.config_path}): gp.patience "
            f"expected {before} or more (0 = never stop early), found {after}; the patience may "
            "be raised on resume, never lowered (a lower one might have stopped the run "
            "earlier than it did)"
        )
    return manifest, stored


def nothing_to_do(
    manifest: RunManifest, state: EngineState, config: RunConfig, run_dir: RunDir
) -> NothingToDo | None:
    """Return why resuming with ``config`` would run nothing, or ``None`` when it would.

    Nothing to do: the last complete generation is past ``gp.generations``; or the run ended
    by itself (completed or stopped early) and neither a larger generation total nor a patience
    above its stale count would let it continue. An interrupted run at its last generation
    still has something to do (its status and summary).
    """
    generation, stale = state.generation, state.stale_generations
    total, patience = config.gp.generations, config.gp.patience
    if generation < 0:
        return None
    finished = manifest.status in FINISHED_STATUSES
    hints, reasons = [], []
    if generation > total or (finished and generation >= total):
        reasons.append(
            f"its last complete generation {generation} is not below --generations {total}"
        )
        hints.append(f"--generations N with N > {generation}")
    if finished and patience and stale >= patience:
        reasons.append(
            f"{stale} generation(s) passed without a better validation score (patience {patience})"
        )
        hints.append(f"--patience P with P > {stale} (or 0: never stop early)")
    if not reasons:
        return None
    message = (
        f"nothing to do: run {manifest.run_id} is {manifest.status} at generation "
        f"{generation}/{manifest.n_generations} and {' and '.join(reasons)}; no file was "
        f"changed. To continue it pass {' and '.join(hints)}"
    )
    return NothingToDo(run_dir, manifest.status, generation, message)


def resume_run(
    run_dir: RunDir, config: RunConfig, *, sinks: Sequence[EventSink] = ()
) -> RunResult | NothingToDo:
    """Continue or extend a run (see the module docstring); :class:`NothingToDo` when there is
    nothing to run (then no file is changed).

    Raises
    ------
    ResumeMismatchError
        When the data's content hash or a result-affecting config value changed, or the
        patience was lowered (exit 2).
    RunInterruptedError
        On Ctrl-C / SIGTERM.
    """
    inputs = load_market(config)
    manifest, stored = check_resumable(run_dir, config, inputs)
    loaded = load_latest_checkpoint(run_dir)
    restored = None
    if loaded is not None:
        generation, payload = loaded
        restored = state_from_payload(payload, f"{run_dir.path} generation {generation}")
        idle = nothing_to_do(manifest, restored[0], config, run_dir)
        if idle is not None:
            return idle
    # from here on files change
    torn = EventLog(run_dir.events_path).repair()
    engine = Engine(config, run_dir, inputs, manifest, sinks)
    if restored is None:
        engine.lineage_store.truncate_after(-1)
        state, rng = engine.fresh_state()
        engine.seeds = seed_trees(config)
    else:
        state, python_state, rng = restored
        random.setstate(python_state)
        engine.lineage_store.truncate_after(state.generation)
        rebuild_lineage(state, engine.lineage_store, score_index_of(config))
        engine.seeds = []
        write_hall_of_fame(run_dir.hall_of_fame_path, state.generation, engine.specs(state))
    from_status = manifest.status
    extended = (stored.gp.generations, stored.gp.patience) != (
        config.gp.generations,
        config.gp.patience,
    )
    run_dir.write_config(config.to_toml())
    if extended:
        manifest.extensions = [
            *manifest.extensions,
            RunExtension(
                at=utc_timestamp(),
                from_generation=state.generation,
                from_status=from_status,
                previous_n_generations=stored.gp.generations,
                n_generations=config.gp.generations,
                previous_patience=stored.gp.patience,
                patience=config.gp.patience,
            ),
        ]
        manifest.config_hash = config.digest()
    manifest.status = "running"
    manifest.n_generations = config.gp.generations
    manifest.generation = state.generation
    manifest.updated_at = utc_timestamp()
    run_dir.write_manifest(manifest)
    directions, _ = objective_layout(config)
    emit(
        engine.sinks,
        Resumed(
            run_id=manifest.run_id,
            run_dir=str(run_dir.path),
            from_generation=state.generation,
            n_generations=config.gp.generations,
            workers=config.workers(),
            torn_event_bytes=torn,
            datasets=[record["name"] for record in inputs.datasets],
            symbols=inputs.symbols,
            timeframe=inputs.timeframe,
            seed=config.run.seed,
            population=config.gp.population,
            objective_names=list(config.objectives.names),
            directions=list(directions),
            from_status=from_status,
            patience=config.gp.patience,
            extended=extended,
        ),
    )
    return engine.run(state, rng)
