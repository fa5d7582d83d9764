"""Run directory: layout, manifest I/O, run ids, latest/list lookup, resume guard messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from populations import (
    CheckpointError,
    ResumeMismatchError,
    RunDir,
    RunDirError,
    RunExtension,
    RunManifest,
    changed_config_keys,
    check_resume,
    config_digest,
    latest_run,
    list_runs,
    new_run_id,
    utc_timestamp,
)

DATA = [
    {
        "name": "binanceusdm/BTCUSDT-1h",
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "content_hash": "0123456789abcdef" * 4,
    },
    {
        "name": "binanceusdm/ETHUSDT-1h",
        "symbol": "ETHUSDT",
        "timeframe": "1h",
        "content_hash": "fedcba9876543210" * 4,
    },
]


def make_manifest(run_id: str = "run-a", **overrides: object) -> RunManifest:
    values: dict[str, object] = {
        "run_id": run_id,
        "seed": 42,
        "status": "running",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "data": [dict(entry) for entry in DATA],
        "config_hash": "c0ffee" * 10 + "abcd",
        "package_versions": {"python": "3.11.9", "evolve": "0.1.0"},
        "n_generations": 20,
    }
    values.update(overrides)
    return RunManifest.model_validate(values)


def make_run(root, run_id, **overrides):
    run_dir = RunDir.create(root, run_id)
    run_dir.write_manifest(make_manifest(run_id, **overrides))
    return run_dir


def test_run_dir_when_created_then_paths_follow_design_layout(tmp_path):
    run_dir = RunDir.create(tmp_path / "runs", "r1")

    assert run_dir.path == tmp_path / "runs" / "r1" and run_dir.run_id == "r1"
    assert run_dir.checkpoints_dir.is_dir()
    names = [
        run_dir.config_path,
        run_dir.run_json_path,
        run_dir.lineage_path,
        run_dir.hall_of_fame_path,
        run_dir.events_path,
        run_dir.summary_path,
        run_dir.promoted_dir,
    ]
    assert [path.name for path in names] == [
        "config.toml",
        "run.json",
        "lineage.parquet",
        "hall_of_fame.json",
        "events.jsonl",
        "summary.md",
        "promoted",
    ]
    assert all(path.parent == run_dir.path for path in names)


def test_run_dir_create_when_directory_exists_then_refused_and_untouched(tmp_path):
    run_dir = make_run(tmp_path, "r1")
    before = run_dir.run_json_path.read_bytes()

    with pytest.raises(RunDirError, match="already exists"):
        RunDir.create(tmp_path, "r1")

    assert run_dir.run_json_path.read_bytes() == before


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden", "x" * 200])
def test_run_dir_create_when_run_id_not_plain_name_then_refused(tmp_path, bad):
    with pytest.raises(RunDirError, match="run id"):
        RunDir.create(tmp_path, bad)


def test_run_dir_open_when_not_a_run_then_checkpoint_error_names_path(tmp_path):
    (tmp_path / "empty").mkdir()

    with pytest.raises(CheckpointError, match=r"empty: not a run directory \(run\.json"):
        RunDir.open(tmp_path / "empty")
    with pytest.raises(RunDirError, match="no such directory"):
        RunDir.open(tmp_path / "absent")
    assert RunDir.open(make_run(tmp_path, "ok").path) == RunDir(tmp_path / "ok")


def test_manifest_when_written_and_read_then_equal(tmp_path):
    run_dir = make_run(tmp_path, "r1", generation=4, n_evaluated=123)

    manifest = run_dir.read_manifest()

    assert manifest == make_manifest("r1", generation=4, n_evaluated=123)
    manifest.status = "completed"
    run_dir.write_manifest(manifest)
    assert run_dir.read_manifest().status == "completed"
    assert [p.name for p in run_dir.path.iterdir() if p.name.endswith(".tmp")] == []


def test_manifest_when_extended_then_extensions_and_elapsed_round_trip(tmp_path):
    extension = RunExtension(
        at="2026-01-02T00:00:00.000Z",
        from_generation=12,
        from_status="stopped_early",
        previous_n_generations=20,
        n_generations=40,
        previous_patience=5,
        patience=10,
    )
    run_dir = make_run(tmp_path, "r1", elapsed_seconds=61.5, extensions=[extension])

    manifest = run_dir.read_manifest()

    assert manifest.extensions == [extension] and manifest.elapsed_seconds == 61.5
    with pytest.raises(ValueError, match="from_status"):
        RunExtension.model_validate({**extension.model_dump(), "from_status": "paused"})


def test_manifest_when_written_before_extensions_existed_then_reads_with_defaults(tmp_path):
    run_dir = make_run(tmp_path, "r1")
    payload = json.loads(run_dir.run_json_path.read_text())
    del payload["extensions"], payload["elapsed_seconds"]
    run_dir.run_json_path.write_text(json.dumps(payload))

    manifest = run_dir.read_manifest()

    assert manifest.extensions == [] and manifest.elapsed_seconds == 0.0


def test_manifest_when_bad_status_or_extra_key_then_rejected(tmp_path):
    with pytest.raises(ValueError, match="status"):
        make_manifest(status="paused")
    manifest = make_manifest()
    with pytest.raises(ValueError, match="status"):
        manifest.status = "paused"
    run_dir = make_run(tmp_path, "r1")
    payload = json.loads(run_dir.run_json_path.read_text())
    payload["extra"] = 1
    run_dir.run_json_path.write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match=r"run\.json: invalid run manifest: extra"):
        run_dir.read_manifest()


def test_write_config_when_called_then_text_written_atomically(tmp_path):
    run_dir = RunDir.create(tmp_path, "r1")

    run_dir.write_config("seed = 42\n[costs]\ntaker_fee = 0.0005\n")

    assert run_dir.config_path.read_text() == "seed = 42\n[costs]\ntaker_fee = 0.0005\n"


def test_new_run_id_when_given_time_and_seed_then_sortable_utc_name():
    moment = datetime(2026, 11, 23, 21, 14, 55, tzinfo=timezone(timedelta(hours=1)))

    run_id = new_run_id(42, moment, suffix="ab12")
    later = new_run_id(7, moment + timedelta(seconds=1), suffix="0000")

    assert run_id == "20261123-201455-s42-ab12"
    assert later > run_id
    assert new_run_id(42, moment).startswith("20261123-201455-s42-")
    assert len(new_run_id(42, moment)) == len(run_id)


def test_new_run_id_when_naive_time_or_bad_suffix_then_value_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        new_run_id(1, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="suffix"):
        new_run_id(1, datetime(2026, 1, 1, tzinfo=UTC), suffix="a/b")


def test_utc_timestamp_when_aware_time_then_iso_utc_with_z():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert utc_timestamp(moment) == "2026-01-02T03:04:05.678Z"
    assert utc_timestamp().endswith("Z")


def test_list_runs_when_mixed_directory_then_only_runs_oldest_first(tmp_path, caplog):
    make_run(tmp_path, "20260102-000000-s1-aaaa")
    make_run(tmp_path, "20260101-000000-s1-bbbb")
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("x")
    broken = RunDir.create(tmp_path, "20260103-000000-s1-cccc")
    broken.run_json_path.write_text("{")

    runs = list_runs(tmp_path)

    assert [run_dir.run_id for run_dir, _ in runs] == [
        "20260101-000000-s1-bbbb",
        "20260102-000000-s1-aaaa",
    ]
    assert runs[0][1].run_id == "20260101-000000-s1-bbbb"
    assert "skipping" in caplog.text and "cccc" in caplog.text
    assert latest_run(tmp_path) == runs[-1][0]


def test_latest_run_when_no_runs_then_none(tmp_path):
    assert latest_run(tmp_path / "absent") is None
    (tmp_path / "junk").mkdir()
    assert latest_run(tmp_path) is None


def test_check_resume_when_nothing_changed_then_passes():
    manifest = make_manifest()
    check_resume(manifest, data=[dict(entry) for entry in DATA], config_hash=manifest.config_hash)


def test_check_resume_when_content_hash_changed_then_names_dataset_and_hash_prefixes():
    manifest = make_manifest()
    data = [dict(entry) for entry in DATA]
    data[1]["content_hash"] = "9999aaaabbbbcccc" * 4

    with pytest.raises(ResumeMismatchError) as caught:
        check_resume(manifest, data=data, config_hash=manifest.config_hash)

    message = str(caught.value)
    assert "binanceusdm/ETHUSDT-1h" in message and "BTCUSDT" not in message
    assert "fedcba987654" in message and "9999aaaabbbb" in message
    assert "run-a" in message and "without --resume" in message
    assert isinstance(caught.value, ValueError)


def test_check_resume_when_dataset_removed_or_added_then_named():
    manifest = make_manifest()
    data = [dict(DATA[0]), {**DATA[1], "name": "binanceusdm/SOLUSDT-1h"}]

    with pytest.raises(ResumeMismatchError) as caught:
        check_resume(manifest, data=data, config_hash=manifest.config_hash)

    assert "'binanceusdm/ETHUSDT-1h' of the run is no longer" in str(caught.value)
    assert "'binanceusdm/SOLUSDT-1h' is new" in str(caught.value)


def test_check_resume_when_config_keys_changed_then_names_keys():
    manifest = make_manifest()

    with pytest.raises(ResumeMismatchError, match=r"costs\.taker_fee, population_size"):
        check_resume(
            manifest,
            data=[dict(entry) for entry in DATA],
            config_hash="different",
            changed_keys=["population_size", "costs.taker_fee"],
        )
    with pytest.raises(ResumeMismatchError, match="config hash expected c0ffeec0ffee"):
        check_resume(manifest, data=[dict(entry) for entry in DATA], config_hash="d1ff")


def test_config_digest_when_key_order_differs_then_same_hash():
    first = config_digest({"seed": 1, "costs": {"taker_fee": 0.0005, "slippage": 0.0}})
    second = config_digest({"costs": {"slippage": 0.0, "taker_fee": 0.0005}, "seed": 1})

    assert first == second and len(first) == 64
    assert config_digest({"seed": 2}) != config_digest({"seed": 1})


def test_changed_config_keys_when_nested_differences_then_dotted_names_sorted():
    old = {"seed": 1, "costs": {"taker_fee": 0.0005, "leverage": 1.0}, "gone": True}
    new = {"seed": 1, "costs": {"taker_fee": 0.0004, "leverage": 1}, "added": 3}

    assert changed_config_keys(old, new) == [
        "added",
        "costs.leverage",
        "costs.taker_fee",
        "gone",
    ]
    assert changed_config_keys(old, old) == []
