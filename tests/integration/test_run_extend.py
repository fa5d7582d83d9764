"""Resume that extends: a completed or early-stopped run continued with a larger
``--generations`` or a raised ``--patience`` equals a run started with the final settings, bit
for bit; ``run.json`` records the extension; a resume with nothing to do changes no file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_run_cli import SMALL_CONFIG, cli, final_state


def _config(directory: Path, name: str, *, generations: int, patience: int) -> Path:
    text = SMALL_CONFIG.format(generations=generations).replace(
        "probe_copies = 2", f"probe_copies = 1\npatience = {patience}"
    )
    path = directory / f"{name}.toml"
    path.write_text(text.replace("population = 24", "population = 16"), "utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, run_dir: Path) -> None:
    code, _, err = cli(capsys, "run", "--config", str(config), "--run-dir", str(run_dir), "--plain")
    assert code == 0, err


def _manifest(run_dir: Path) -> dict[str, object]:
    return json.loads((run_dir / "run.json").read_text("utf-8"))


def _files(run_dir: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(path.relative_to(run_dir)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(run_dir.rglob("*"))
        if path.is_file()
    }


def _copy(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())


@pytest.fixture(scope="module")
def stopped_early(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run that stops early (patience 1) long before its 8 generations."""
    directory = tmp_path_factory.mktemp("stopped")
    config = _config(directory, "impatient", generations=8, patience=1)
    run_dir = directory / "run"
    from evolve.cli.app import main

    assert main(["run", "--config", str(config), "--run-dir", str(run_dir), "--plain"]) == 0
    manifest = _manifest(run_dir)
    assert manifest["status"] == "stopped_early" and manifest["generation"] < 6
    return config, run_dir


def test_resume_when_completed_run_extended_then_equals_fresh_run_bit_for_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = _config(tmp_path, "short", generations=2, patience=0)
    # same directory name: specs carry the run id
    run_dir, fresh_dir = tmp_path / "extended" / "run", tmp_path / "fresh" / "run"
    _run(capsys, short, run_dir)
    elapsed_before = _manifest(run_dir)["elapsed_seconds"]
    _run(capsys, _config(tmp_path, "long", generations=4, patience=0), fresh_dir)

    code, out, err = cli(
        capsys, "run", "--run-dir", str(run_dir), "--resume", "--generations", "4", "--plain"
    )

    assert code == 0, err
    assert "extending the completed run to 4 generations" in out and "gen 4/4" in out
    assert final_state(run_dir) == final_state(fresh_dir)
    checkpoint = "checkpoints/gen-000004.json"
    assert (run_dir / checkpoint).read_bytes() == (fresh_dir / checkpoint).read_bytes()
    manifest = _manifest(run_dir)
    assert (manifest["status"], manifest["generation"], manifest["n_generations"]) == (
        "completed",
        4,
        4,
    )
    (extension,) = manifest["extensions"]
    assert extension["from_generation"] == 2 and extension["from_status"] == "completed"
    assert (extension["previous_n_generations"], extension["n_generations"]) == (2, 4)
    assert (extension["previous_patience"], extension["patience"]) == (0, 0)
    assert manifest["config_hash"] == _manifest(fresh_dir)["config_hash"]
    assert manifest["elapsed_seconds"] > elapsed_before
    summary = (run_dir / "summary.md").read_text("utf-8")
    assert "**generations**: 4/4" in summary and "**Pareto front (population)**" in summary
    assert "**best validation score (top-5 mean Sharpe)**" in summary
    code, listing, _ = cli(capsys, "runs", "--runs-root", str(run_dir.parent))
    assert code == 0 and "completed" in listing and "4/4" in listing


def test_resume_when_stopped_early_and_patience_raised_then_equals_fresh_run(
    stopped_early: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, original = stopped_early
    run_dir, fresh_dir = tmp_path / "extended" / "run", tmp_path / "fresh" / "run"
    _copy(original, run_dir)
    stopped_at = _manifest(run_dir)["generation"]
    _run(capsys, _config(tmp_path, "patient", generations=8, patience=3), fresh_dir)

    code, out, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--patience", "3")

    assert code == 0, err
    assert "extending the stopped_early run" in out
    assert final_state(run_dir) == final_state(fresh_dir)
    manifest, fresh = _manifest(run_dir), _manifest(fresh_dir)
    assert (manifest["status"], manifest["generation"]) == (fresh["status"], fresh["generation"])
    assert manifest["generation"] > stopped_at
    (extension,) = manifest["extensions"]
    assert extension["from_status"] == "stopped_early"
    assert (extension["from_generation"], extension["previous_patience"]) == (stopped_at, 1)
    assert extension["patience"] == 3 and "patience = 3" in (run_dir / "config.toml").read_text()
    code, listing, _ = cli(capsys, "runs", "--runs-root", str(run_dir.parent))
    assert f"{fresh['status']}" in listing and f"{manifest['generation']}/8" in listing


def test_resume_when_stopped_early_and_only_generations_raised_then_runs_to_n_patience_off(
    stopped_early: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the README's `evolve run --resume --generations 80` after a run that stopped early
    run_dir, fresh_dir = tmp_path / "extended" / "run", tmp_path / "fresh" / "run"
    _copy(stopped_early[1], run_dir)
    _run(capsys, _config(tmp_path, "off", generations=10, patience=0), fresh_dir)

    code, out, err = cli(
        capsys, "run", "--run-dir", str(run_dir), "--resume", "--generations", "10"
    )

    assert code == 0, err
    assert "extending the stopped_early run to 10 generations, patience off" in out
    assert "gen 10/10" in out
    assert final_state(run_dir) == final_state(fresh_dir)
    manifest = _manifest(run_dir)
    assert (manifest["status"], manifest["generation"], manifest["n_generations"]) == (
        "completed",
        10,
        10,
    )
    (extension,) = manifest["extensions"]
    assert (extension["previous_patience"], extension["patience"]) == (1, 0)
    assert (extension["previous_n_generations"], extension["n_generations"]) == (8, 10)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ([], "--patience P with P > 1"),
        (["--generations", "20", "--patience", "1"], "--patience P with P > 1"),
        (["--generations", "1"], "--generations N with N > 1"),
    ],
    ids=["same-settings", "more-generations-same-patience", "fewer-generations"],
)
def test_resume_when_nothing_to_do_then_says_so_exit_0_and_no_file_changed(
    arguments: list[str],
    says: str,
    stopped_early: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, run_dir = stopped_early
    before = _files(run_dir)

    code, out, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", *arguments)

    assert code == 0, err
    assert "nothing to do" in out and "no file was changed" in out and says in out
    assert _files(run_dir) == before


def test_resume_when_completed_and_same_settings_then_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    _run(capsys, _config(tmp_path, "done", generations=1, patience=0), run_dir)
    before = _files(run_dir)

    code, out, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume")

    assert code == 0, err
    assert "nothing to do: run run is completed at generation 1/1" in out
    assert "--generations N with N > 1" in out and _files(run_dir) == before


def test_resume_when_patience_lowered_then_exit_2_naming_key_and_no_file_changed(
    stopped_early: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    _copy(stopped_early[1], run_dir)
    assert cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--patience", "3")[0] == 0
    before = _files(run_dir)

    code, _, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--patience", "2")

    assert code == 2 and "Traceback" not in err
    assert "gp.patience expected 3 or more" in err and "found 2" in err
    assert _files(run_dir) == before


def test_resume_when_interrupted_after_last_checkpoint_then_finishes_with_full_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    _run(capsys, _config(tmp_path, "cut", generations=1, patience=0), run_dir)
    manifest = _manifest(run_dir)
    manifest["status"] = "interrupted"  # as if cut between the last checkpoint and the end
    (run_dir / "run.json").write_text(json.dumps(manifest), "utf-8")
    (run_dir / "summary.md").unlink()

    code, _, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume")

    assert code == 0, err
    assert _manifest(run_dir)["status"] == "completed"
    assert _manifest(run_dir)["elapsed_seconds"] >= manifest["elapsed_seconds"]
    summary = (run_dir / "summary.md").read_text("utf-8")
    assert "**Pareto front (population)**" in summary and "**generations**: 1/1" in summary
    assert "**best validation score (top-5 mean Sharpe)**" in summary
