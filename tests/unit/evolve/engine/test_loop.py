"""The engine in-process (serial evaluator, real data slice): run dir contents, lineage, hall
of fame specs, determinism, resume == uninterrupted, interrupts, immigrants, early stopping.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evolve.config import RunConfig, read_resolved_config
from evolve.engine.events import (
    CheckpointWritten,
    EarlyStopped,
    GenerationCompleted,
    Recorder,
    RunFinished,
    RunInterrupted,
    RunStarted,
    WorkersStarting,
)
from evolve.engine.generation import GenerationStep
from evolve.engine.loop import RunInterruptedError, new_run
from evolve.engine.offspring import Child
from evolve.engine.resume import resume_run
from evolve.engine.state import EngineState
from fitness import lineage_stability_penalty
from populations import (
    OPERATORS,
    HallOfFame,
    RunDir,
    list_checkpoints,
    read_checkpoint,
    read_events,
    read_hall_of_fame,
)
from primitives import parse, strategy_id
from tests.stubs import make_evaluation

SEEDS_FILE = Path(__file__).resolve().parents[4] / "examples" / "seeds.txt"


def small_config(**sections: dict[str, object]) -> RunConfig:
    values: dict[str, dict[str, object]] = {
        "data": {"start": "2024-01-01", "end": "2024-07-01"},
        "folds": {"n_discovery_folds": 3},
        "gp": {"population": 24, "generations": 3, "probe_copies": 2, "max_nodes": 40},
        "run": {"workers": 1, "seed": 7},
    }
    for name, overrides in sections.items():
        values[name] = {**values.get(name, {}), **overrides}
    return RunConfig.model_validate(values)


def checkpoint_population(run_dir: RunDir) -> list[dict[str, object]]:
    _, path = list_checkpoints(run_dir)[-1]
    return read_checkpoint(path)[1]["population"]  # type: ignore[return-value]


def test_new_run_when_finished_then_run_dir_holds_everything_in_design(tmp_path: Path) -> None:
    recorder = Recorder()
    config = small_config()

    result = new_run(config, run_dir=tmp_path / "runs" / "r1", sinks=[recorder])

    run_dir = result.run_dir
    assert result.status == "completed" and result.generation == 3
    assert read_resolved_config(run_dir.config_path) == config
    manifest = run_dir.read_manifest()
    assert (manifest.status, manifest.generation, manifest.n_generations) == ("completed", 3, 3)
    assert manifest.config_hash == config.digest()
    assert [d["name"] for d in manifest.data] == ["bundled/BTCUSDT-1h", "bundled/ETHUSDT-1h"]
    assert [g for g, _ in list_checkpoints(run_dir)] == [0, 1, 2, 3]
    assert run_dir.summary_path.read_text().startswith(f"# Run {run_dir.run_id}")
    generation, specs = read_hall_of_fame(run_dir.hall_of_fame_path)
    assert generation == 3 and specs == result.members and specs
    names = [e["event"] for e in read_events(run_dir.events_path)]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert names.count("generation") == 4 and names.count("checkpoint") == 4
    assert [type(e) for e in recorder.events[:4]] == [
        RunStarted,
        WorkersStarting,
        CheckpointWritten,
        GenerationCompleted,
    ]
    assert recorder.events[1] == WorkersStarting(1, ray=False)  # small_config: in-process
    last = recorder.of_type(GenerationCompleted)[-1]
    assert last.patience == small_config().gp.patience and last.pareto
    nodes = [row.n_nodes for row in last.pareto]
    scores = [row.robust_score for row in last.pareto]
    assert nodes == sorted(set(nodes)) and scores == sorted(scores)  # a front: simpler = worse
    assert isinstance(recorder.events[-1], RunFinished)


def test_lineage_when_run_then_one_row_per_offspring_and_trials_counted(tmp_path: Path) -> None:
    result = new_run(small_config(), run_dir=tmp_path / "r")

    table = pq.read_table(result.run_dir.lineage_path).to_pylist()
    ids_by_generation: dict[int, set[str]] = {}
    for row in table:
        ids_by_generation.setdefault(row["generation"], set()).add(row["id"])
    new_trials = [row["id"] for row in table if row["is_new_trial"]]
    assert len(new_trials) == len(set(new_trials)) == result.n_trials
    assert result.run_dir.read_manifest().n_evaluated == result.n_trials
    for row in table:
        assert row["operator"] in OPERATORS
        assert row["id"] == strategy_id(row["expression"])
        earlier = set().union(
            *(ids for g, ids in ids_by_generation.items() if g < row["generation"])
        )
        assert set(row["parent_ids"]) <= earlier
        assert row["penalized_objectives"][1:] == row["objectives"][1:]
        assert row["penalized_objectives"][0] <= row["objectives"][0]
        if not row["feasible"]:
            assert row["penalized_objectives"] == row["objectives"]
    assert {row["operator"] for row in table if row["generation"] == 0} == {"init"}


def test_hall_of_fame_specs_when_run_then_match_lineage_and_data(tmp_path: Path) -> None:
    result = new_run(small_config(), run_dir=tmp_path / "r")

    rows = {r["id"]: r for r in pq.read_table(result.run_dir.lineage_path).to_pylist()}
    hashes = [d["content_hash"] for d in result.run_dir.read_manifest().data]
    scores = [spec.objectives[0] for spec in result.members]
    assert scores == sorted(scores, reverse=True)
    for spec in result.members:
        assert spec.objectives == rows[spec.id]["penalized_objectives"]
        assert spec.expression == rows[spec.id]["expression"] and spec.state == "candidate"
        assert [d["content_hash"] for d in spec.data["datasets"]] == hashes
        assert spec.stability is not None and math.isfinite(spec.stability)
        assert (
            set(spec.metrics) == {"train", "validation"} and "sharpe" in spec.metrics["validation"]
        )
        kinds = {row["kind"] for row in spec.fold_table}
        assert kinds == {"discovery", "validation"}  # the holdout is never evaluated


def test_new_run_when_same_seed_twice_then_identical_hall_of_fame_bytes(tmp_path: Path) -> None:
    first = new_run(small_config(), run_dir=tmp_path / "a" / "same")
    second = new_run(small_config(), run_dir=tmp_path / "b" / "same")
    other = new_run(small_config(run={"seed": 8}), run_dir=tmp_path / "c" / "same")

    assert (
        first.run_dir.hall_of_fame_path.read_bytes()
        == second.run_dir.hall_of_fame_path.read_bytes()
    )
    assert checkpoint_population(first.run_dir) == checkpoint_population(second.run_dir)
    assert checkpoint_population(other.run_dir) != checkpoint_population(first.run_dir)


def test_resume_when_completed_run_given_more_generations_then_equals_uninterrupted(
    tmp_path: Path,
) -> None:
    straight = new_run(small_config(gp={"generations": 4}), run_dir=tmp_path / "a" / "r")
    short = new_run(small_config(gp={"generations": 2}), run_dir=tmp_path / "b" / "r")

    resumed = resume_run(short.run_dir, small_config(gp={"generations": 4}))

    assert resumed.status == "completed" and resumed.generation == 4
    assert resumed.n_trials == straight.n_trials
    assert (
        resumed.run_dir.hall_of_fame_path.read_bytes()
        == straight.run_dir.hall_of_fame_path.read_bytes()
    )
    _, final_resumed = read_checkpoint(list_checkpoints(resumed.run_dir)[-1][1])
    _, final_straight = read_checkpoint(list_checkpoints(straight.run_dir)[-1][1])
    assert final_resumed == final_straight
    lineage = [pq.read_table(r.run_dir.lineage_path).to_pylist() for r in (straight, resumed)]
    assert lineage[0] == lineage[1]
    assert [e["event"] for e in read_events(resumed.run_dir.events_path)].count("resumed") == 1


def test_run_when_interrupted_mid_evaluation_then_exit_state_safe_and_resume_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = new_run(small_config(), run_dir=tmp_path / "a" / "r")
    calls = {"n": 0}
    original = GenerationStep._evaluate

    def interrupt_on_fourth_batch(self, texts):  # type: ignore[no-untyped-def]
        calls["n"] += bool(texts)
        if calls["n"] == 4:  # generation 0 makes two (population, probes): this is in gen 1
            raise KeyboardInterrupt
        return original(self, texts)

    monkeypatch.setattr(GenerationStep, "_evaluate", interrupt_on_fourth_batch)
    recorder = Recorder()
    with pytest.raises(RunInterruptedError) as caught:
        new_run(small_config(), run_dir=tmp_path / "b" / "r", sinks=[recorder])
    monkeypatch.setattr(GenerationStep, "_evaluate", original)

    run_dir = caught.value.run_dir
    safe = caught.value.generation
    assert safe == 0 and run_dir.read_manifest().status == "interrupted"
    assert [g for g, _ in list_checkpoints(run_dir)][-1] == safe
    assert recorder.of_type(RunInterrupted)[0].last_complete_generation == safe
    resumed = resume_run(run_dir, small_config())
    assert run_dir.hall_of_fame_path.read_bytes() == straight.run_dir.hall_of_fame_path.read_bytes()
    assert checkpoint_population(run_dir) == checkpoint_population(straight.run_dir)
    assert resumed.n_trials == straight.n_trials


def test_run_when_seed_templates_then_generation_zero_starts_with_them(tmp_path: Path) -> None:
    config = small_config(gp={"seed_templates": str(SEEDS_FILE), "generations": 1})

    result = new_run(config, run_dir=tmp_path / "r")

    rows = pq.read_table(result.run_dir.lineage_path).to_pylist()
    seeds = [line for line in SEEDS_FILE.read_text().splitlines() if line.strip()]
    assert [r["expression"] for r in rows if r["operator"] == "seed"] == seeds


def test_run_when_diversity_below_threshold_then_immigrants_next_generation(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    config = small_config(gp={"diversity_threshold": 1.0, "immigrant_fraction": 0.25})

    result = new_run(config, run_dir=tmp_path / "r", sinks=[recorder])

    rows = pq.read_table(result.run_dir.lineage_path).to_pylist()
    events = recorder.of_type(GenerationCompleted)
    assert any(e.unique_structures < 1.0 for e in events[:-1])
    for previous, current in itertools.pairwise(events):
        immigrants = [
            r
            for r in rows
            if r["generation"] == current.generation and r["operator"] == "immigrant"
        ]
        expected = 6 if previous.unique_structures < 1.0 else 0  # round(0.25 * 24)
        assert len(immigrants) == current.n_immigrants == expected
        assert all(r["parent_ids"] == [] for r in immigrants)


def test_run_when_patience_reached_then_stops_early_at_first_stale_streak(tmp_path: Path) -> None:
    recorder = Recorder()
    config = small_config(gp={"patience": 1, "generations": 8})

    result = new_run(config, run_dir=tmp_path / "r", sinks=[recorder])

    events = recorder.of_type(GenerationCompleted)
    for previous, current in itertools.pairwise(events):
        improved = current.best_validation_score > previous.best_validation_score
        assert current.stale_generations == (0 if improved else previous.stale_generations + 1)
    stale = [e.generation for e in events if e.stale_generations >= 1]
    if stale:
        assert result.status == "stopped_early" and result.generation == stale[0]
        assert recorder.of_type(EarlyStopped)[0].generation == stale[0]
        assert result.run_dir.read_manifest().status == "stopped_early"
    else:
        assert result.status == "completed" and result.generation == 8


def test_lineage_penalty_when_needle_among_identical_relatives_then_documented_value() -> None:
    # relatives' scores [0.1, 0.2, 0.15] with similarity 1 (same structure): the fitness
    # docstring's worked example gives a needle at 3.15 a penalty of 0.5 * (3.0 - 0.15)
    config = small_config()
    text = "long_only(gt(close, sma(close, 20)))"
    state = EngineState(-1, [], HallOfFame((1, -1, -1)))
    for id, parents, score in (("p1", (), 0.1), ("p2", (), 0.2), ("s", ("p1",), 0.15)):
        state.lineage.add(id, parents, 0 if not parents else 1, score, expression=text)
    step = GenerationStep(config, None, None, state, None)  # type: ignore[arg-type]
    child = Child(text, parse(text), ("p1", "p2"), "crossover")
    scored = make_evaluation("c", text, (3.15, 0.1, 6.0), n_nodes=6, semantic_hash="h")
    state.lineage.add("c", child.parent_ids, 1, 3.15, expression=text)

    penalty = step._lineage_penalty(scored, child, 1)

    assert penalty == pytest.approx(1.425)
    assert penalty == lineage_stability_penalty(3.15, [0.1, 0.2, 0.15], [1, 1, 1], config.penalties)


def test_run_when_events_written_then_generation_stats_are_json(tmp_path: Path) -> None:
    result = new_run(small_config(gp={"generations": 1}), run_dir=tmp_path / "r")

    generation = [e for e in read_events(result.run_dir.events_path) if e["event"] == "generation"]
    assert generation[-1]["n_trials"] == result.n_trials
    assert len(generation[-1]["top"]) <= 5
    json.dumps(generation[-1])
