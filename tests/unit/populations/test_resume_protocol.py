"""The persistence protocol of one generation, killed and resumed, equals an uninterrupted run.

A toy engine (random objectives instead of backtests) drives the real API in the order the
engine uses: lineage part -> hall_of_fame.json -> checkpoint (the commit point) -> run.json.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from populations import (
    EventLog,
    HallOfFame,
    LineageStore,
    RunDir,
    RunManifest,
    load_latest_checkpoint,
    restore_rng_states,
    rng_state_to_json,
    save_checkpoint,
    write_hall_of_fame,
)
from tests.stubs import make_member
from tests.unit.populations.helpers import make_spec

N_GENERATIONS = 6


class KilledError(Exception):
    pass


def start(root, run_id):
    run_dir = RunDir.create(root, run_id)
    run_dir.write_manifest(
        RunManifest(
            run_id=run_id,
            seed=5,
            status="running",
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            data=[],
            config_hash="h",
            package_versions={},
            n_generations=N_GENERATIONS,
        )
    )
    return run_dir


def generation_rows(generation, python_random, generator):
    rows = []
    for _ in range(5):
        id = f"{python_random.randrange(40):04d}"  # small id space: re-creations happen
        objectives = (float(generator.normal()), float(generator.uniform()), 5.0)
        rows.append(
            make_member(
                id,
                f"expr_{id}",
                objectives,
                feasible=bool(generator.uniform() > 0.2),
                generation=generation,
                operator="mutate_point",
                returns=tuple(generator.normal(size=3)),
            )
        )
    return rows


def run(run_dir, *, kill_before_checkpoint_of=None, resume=False):
    store, log = LineageStore(run_dir), EventLog(run_dir.events_path)
    hall = HallOfFame((1, -1, -1), top_k=3, max_front=4)
    python_random, generator, first = random.Random(5), np.random.default_rng(5), 0
    if resume:
        log.repair()
        generation, state = load_latest_checkpoint(run_dir)
        python_state, generator = restore_rng_states(state["rng"])
        python_random.setstate(python_state)
        hall = HallOfFame.from_state(state["hall_of_fame"])
        store.truncate_after(generation)
        first = generation + 1
    for generation in range(first, N_GENERATIONS):
        rows = generation_rows(generation, python_random, generator)
        store.append_generation(generation, rows)
        hall.update(rows)
        specs = [
            make_spec(m.id, objectives=list(m.penalized), generation=m.generation)
            for m in hall.members()
        ]
        write_hall_of_fame(run_dir.hall_of_fame_path, generation, specs)
        if generation == kill_before_checkpoint_of:
            raise KilledError
        state = {
            "rng": rng_state_to_json(python_random.getstate(), generator),
            "hall_of_fame": hall.to_state(),
        }
        save_checkpoint(run_dir, generation, state)
        log.write("checkpoint", generation=generation)


def test_run_when_killed_before_a_checkpoint_and_resumed_then_outputs_equal_uninterrupted(
    tmp_path,
):
    reference = start(tmp_path, "reference")
    run(reference)
    interrupted = start(tmp_path, "interrupted")
    with pytest.raises(KilledError):
        run(interrupted, kill_before_checkpoint_of=3)
    with interrupted.events_path.open("ab") as handle:
        handle.write(b'{"event": "torn')

    run(interrupted, resume=True)

    assert interrupted.hall_of_fame_path.read_bytes() == reference.hall_of_fame_path.read_bytes()
    assert LineageStore(interrupted).read().equals(LineageStore(reference).read())
    assert load_latest_checkpoint(interrupted) == load_latest_checkpoint(reference)
    events = interrupted.events_path.read_text().splitlines()
    assert [line.count('"generation"') for line in events] == [1] * N_GENERATIONS
