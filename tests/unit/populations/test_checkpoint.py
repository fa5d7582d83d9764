"""Checkpoints: atomic save, checksum-verified load, corruption fallback, pruning, RNG states."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from populations import (
    CheckpointError,
    RunDir,
    list_checkpoints,
    load_latest_checkpoint,
    read_checkpoint,
    restore_rng_states,
    rng_state_to_json,
    save_checkpoint,
)


@pytest.fixture
def run_dir(tmp_path):
    return RunDir.create(tmp_path, "run")


def state_of(generation: int) -> dict[str, object]:
    return {
        "generation": generation,
        "population": [f"sma(close, {generation})", "rsi(close, 14)"],
        "objectives": [[0.1 + generation, math.nan], [-math.inf, 2.5e-310]],
        "counter": 2**80 + generation,
        "pair": (1, "two"),
    }


def test_save_checkpoint_when_loaded_then_identical_state_with_tuples_as_lists(run_dir):
    path = save_checkpoint(run_dir, 12, state_of(12))

    generation, state = load_latest_checkpoint(run_dir)

    assert path.name == "gen-000012.json"
    assert generation == 12
    assert state["population"] == ["sma(close, 12)", "rsi(close, 14)"]
    assert state["objectives"][0][0] == 12.1 and math.isnan(state["objectives"][0][1])
    assert state["objectives"][1] == [-math.inf, 2.5e-310]
    assert state["counter"] == 2**80 + 12
    assert state["pair"] == [1, "two"]


def test_checkpoint_file_when_opened_then_human_readable_json_with_header(run_dir):
    path = save_checkpoint(run_dir, 0, {"population": ["close"]})

    text = path.read_text()
    document = json.loads(text)

    assert text.startswith('{\n "format": "evolve-checkpoint"')
    assert document["generation"] == 0 and document["payload"] == {"population": ["close"]}
    assert len(document["payload_sha256"]) == 64


def test_load_latest_checkpoint_when_none_then_none(run_dir):
    assert load_latest_checkpoint(run_dir) is None


def test_load_latest_checkpoint_when_newest_corrupt_then_previous_with_warning(run_dir, caplog):
    save_checkpoint(run_dir, 4, state_of(4))
    newest = save_checkpoint(run_dir, 5, state_of(5))
    # flip one payload digit: still valid JSON, but the checksum no longer matches
    newest.write_text(newest.read_text().replace("5.1", "5.2", 1))

    generation, state = load_latest_checkpoint(run_dir)

    assert generation == 4 and json.dumps(state) == json.dumps(state_of(4))
    assert "checksum mismatch" in caplog.text and "gen-000005.json" in caplog.text


def test_load_latest_checkpoint_when_truncated_or_renamed_then_skipped(run_dir, caplog):
    save_checkpoint(run_dir, 1, {"x": 1})
    save_checkpoint(run_dir, 2, {"x": 2})
    path3 = save_checkpoint(run_dir, 3, {"x": 3})
    path3.write_text(path3.read_text()[:40])
    # a checkpoint whose content belongs to another generation is not trusted either
    (run_dir.checkpoints_dir / "gen-000002.json").replace(run_dir.checkpoints_dir / "x")
    (run_dir.checkpoints_dir / "gen-000001.json").replace(
        run_dir.checkpoints_dir / "gen-000002.json"
    )

    assert load_latest_checkpoint(run_dir) is None
    assert "invalid JSON" in caplog.text and "holds generation 1, expected 2" in caplog.text


def test_load_latest_checkpoint_when_stray_temp_files_then_removed(run_dir):
    save_checkpoint(run_dir, 0, {"x": 0})
    stray = run_dir.checkpoints_dir / ".gen-000001.json.123.abcd.tmp"
    stray.write_text('{"half": ')

    assert load_latest_checkpoint(run_dir) == (0, {"x": 0})
    assert not stray.exists()


def test_read_checkpoint_when_not_a_checkpoint_then_error_names_file(run_dir):
    path = run_dir.checkpoints_dir / "gen-000007.json"
    path.write_text('{"format": "something-else"}')

    with pytest.raises(CheckpointError, match=r"gen-000007\.json: not an evolve checkpoint"):
        read_checkpoint(path)


def test_save_checkpoint_when_many_generations_then_keeps_last_three_and_every_tenth(run_dir):
    for generation in range(26):
        save_checkpoint(run_dir, generation, {"g": generation})

    kept = [generation for generation, _ in list_checkpoints(run_dir)]

    assert kept == [0, 10, 20, 23, 24, 25]
    assert [p.name for p in run_dir.checkpoints_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_save_checkpoint_when_custom_keep_then_respected(run_dir):
    for generation in range(8):
        save_checkpoint(run_dir, generation, {"g": generation}, keep=1, keep_every=5)

    assert [generation for generation, _ in list_checkpoints(run_dir)] == [0, 5, 7]


def test_save_checkpoint_when_resumed_from_earlier_then_later_files_removed(run_dir):
    for generation in range(5):
        save_checkpoint(run_dir, generation, {"g": generation})

    save_checkpoint(run_dir, 3, {"g": "again"})

    assert [generation for generation, _ in list_checkpoints(run_dir)] == [0, 2, 3]
    assert load_latest_checkpoint(run_dir) == (3, {"g": "again"})


def test_save_checkpoint_when_state_not_plain_json_then_type_error_names_path(run_dir):
    with pytest.raises(TypeError, match=r"state\.population\[1\]: .*found int64"):
        save_checkpoint(run_dir, 0, {"population": [1, np.int64(2)]})
    with pytest.raises(TypeError, match="expected string keys"):
        save_checkpoint(run_dir, 0, {"table": {1: "x"}})
    assert list_checkpoints(run_dir) == []


def test_rng_states_when_restored_then_next_thousand_draws_equal():
    python_random = random.Random(7)
    generator = np.random.default_rng(7)
    python_random.random()
    python_random.gauss(0.0, 1.0)  # leaves gauss_next set
    generator.standard_normal(3)
    generator.integers(0, 2**32)  # leaves has_uint32 set
    saved = json.loads(json.dumps(rng_state_to_json(python_random.getstate(), generator)))

    python_state, restored = restore_rng_states(saved)
    clone = random.Random()
    clone.setstate(python_state)

    assert [python_random.gauss(0, 1) for _ in range(1000)] == [
        clone.gauss(0, 1) for _ in range(1000)
    ]
    assert np.array_equal(generator.random(1000), restored.random(1000))
    assert np.array_equal(generator.integers(0, 2**40, 1000), restored.integers(0, 2**40, 1000))


@pytest.mark.parametrize("name", ["MT19937", "Philox", "SFC64", "PCG64DXSM"])
def test_rng_states_when_array_based_bit_generator_then_restorable(name):
    generator = np.random.Generator(getattr(np.random, name)(3))
    generator.random(5)
    saved = json.loads(json.dumps(rng_state_to_json(random.getstate(), generator)))

    _, restored = restore_rng_states(saved)

    assert np.array_equal(generator.random(1000), restored.random(1000))


def test_restore_rng_states_when_garbage_then_checkpoint_error():
    with pytest.raises(CheckpointError, match="RNG state"):
        restore_rng_states({"python": {"version": 3}, "numpy": {}})
    good = rng_state_to_json(random.getstate(), np.random.default_rng(0))
    with pytest.raises(CheckpointError, match="unknown bit generator"):
        restore_rng_states({**good, "numpy": {**good["numpy"], "bit_generator": "Evil"}})


def test_checkpoint_when_format_1_file_then_still_read_and_checksum_verified(run_dir):
    import hashlib

    state = state_of(4)
    payload = json.dumps(state, indent=1, allow_nan=True, ensure_ascii=True)
    digest = hashlib.sha256(payload.encode("ascii")).hexdigest()
    header = json.dumps(
        {"format": "evolve-checkpoint", "format_version": 1, "generation": 4,
         "payload_sha256": digest},
        indent=1,
    )  # fmt: skip
    path = run_dir.checkpoints_dir / "gen-000004.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{header[:-2]},\n "payload": {payload}\n}}\n')

    generation, loaded = read_checkpoint(path)

    assert generation == 4 and loaded["counter"] == 2**80 + 4
    path.write_text(path.read_text().replace("rsi(close, 14)", "rsi(close, 15)"))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        read_checkpoint(path)


def test_checkpoint_file_when_population_then_one_member_per_line(run_dir):
    members = [{"text": f"sma(close, {n})", "objectives": [0.1 * n, math.nan]} for n in range(3)]

    path = save_checkpoint(run_dir, 1, {"population": members, "counters": {"n": 3}})

    lines = path.read_text().splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith('{"text": "sma(close,')) == 3
    assert read_checkpoint(path)[1]["population"][2]["objectives"][0] == 0.1 * 2
