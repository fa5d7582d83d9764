"""Resume: continue a run from its last complete generation, or refuse (exit code 2).

Order: load the data, compare data hashes and result-affecting config values with the run's
(``ResumeMismatchError`` naming each difference), repair a torn ``events.jsonl`` line, load
the newest valid checkpoint, truncate the lineage after it, rebuild the lineage index from
``lineage.parquet``, restore the random states, rewrite ``hall_of_fame.json``, ``config.toml``
(the new generation total) and ``run.json``, then run the remaining generations. A run with
no checkpoint yet starts from generation 0 in the same directory.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from evolve.config import RunConfig, read_resolved_config
from evolve.engine.events import EventSink, Resumed, emit
from evolve.engine.inputs import MarketInputs, load_market
from evolve.engine.loop import Engine, RunResult, objective_layout, score_index_of, seed_trees
from evolve.engine.state import rebuild_lineage, state_from_payload
from populations import (
    EventLog,
    RunDir,
    RunManifest,
    changed_config_keys,
    check_resume,
    load_latest_checkpoint,
    utc_timestamp,
    write_hall_of_fame,
)


def check_resumable(run_dir: RunDir, config: RunConfig, inputs: MarketInputs) -> RunManifest:
    """Return the run's manifest if ``config`` and the data may continue it.

    Raises
    ------
    ResumeMismatchError
        (exit code 2) naming every changed dataset and result-affecting config key.
    """
    manifest = run_dir.read_manifest()
    stored = read_resolved_config(run_dir.config_path)
    changed = changed_config_keys(stored.result_affecting(), config.result_affecting())
    check_resume(manifest, data=inputs.datasets, config_hash=config.digest(), changed_keys=changed)
    return manifest


def resume_run(run_dir: RunDir, config: RunConfig, *, sinks: Sequence[EventSink] = ()) -> RunResult:
    """Continue a run from its last complete generation (see the module docstring).

    Raises
    ------
    ResumeMismatchError
        When the data's content hash or a result-affecting config value changed (exit 2).
    RunInterruptedError
        On Ctrl-C / SIGTERM.
    """
    inputs = load_market(config)
    manifest = check_resumable(run_dir, config, inputs)
    torn = EventLog(run_dir.events_path).repair()
    engine = Engine(config, run_dir, inputs, manifest, sinks)
    loaded = load_latest_checkpoint(run_dir)
    if loaded is None:
        engine.lineage_store.truncate_after(-1)
        state, rng = engine.fresh_state()
        engine.seeds = seed_trees(config)
    else:
        generation, payload = loaded
        state, python_state, rng = state_from_payload(
            payload, f"{run_dir.path} generation {generation}"
        )
        random.setstate(python_state)
        engine.lineage_store.truncate_after(generation)
        rebuild_lineage(state, engine.lineage_store, score_index_of(config))
        engine.seeds = []
        write_hall_of_fame(run_dir.hall_of_fame_path, generation, engine.specs(state))
    run_dir.write_config(config.to_toml())
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
        ),
    )
    return engine.run(state, rng)
