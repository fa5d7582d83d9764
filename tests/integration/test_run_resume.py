"""Kill and resume: SIGKILL at several points (start-up, right after a checkpoint, mid
generation, between the lineage part and its checkpoint) and SIGINT/SIGTERM (exit 3), each
resumed, end bit for bit where an uninterrupted run ends; resume refusals (exit 2).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from populations import read_events
from tests.integration.test_run_cli import (
    SMALL_CONFIG,
    cli,
    final_state,
    run_evolve,
    start_evolve,
    wait_for,
)
from tests.stubs import make_bar_columns, write_parquet_file

GENERATIONS = 6


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "kill.toml"
    text = SMALL_CONFIG.format(generations=GENERATIONS).replace(
        "population = 24", "population = 40"
    )
    path.write_text(text, "utf-8")
    return path


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    done = run_evolve("run", "--config", str(config), "--run-dir", str(run_dir), cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return final_state(run_dir)


def _checkpoint(run_dir: Path, generation: int) -> Path:
    return run_dir / "checkpoints" / f"gen-{generation:06d}.json"


def _kill_when(arguments: list[str], cwd: Path, condition, delay: float = 0.0) -> None:
    process = start_evolve(*arguments, cwd=cwd)
    wait_for(condition, process)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)


def test_run_when_sigkilled_at_four_points_and_resumed_then_equals_uninterrupted(
    config: Path, reference: tuple[object, ...], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    start = ["run", "--config", str(config), "--run-dir", str(run_dir), "--plain"]
    resume = ["run", "--run-dir", str(run_dir), "--resume", "--plain"]

    # 1: during start-up, before generation 0 is complete (resume starts from scratch)
    _kill_when(start, tmp_path, lambda: (run_dir / "events.jsonl").exists())
    # 2: right after a checkpoint lands
    _kill_when(resume, tmp_path, lambda: _checkpoint(run_dir, 1).exists())
    # 3: in the middle of a later generation
    _kill_when(resume, tmp_path, lambda: _checkpoint(run_dir, 3).exists(), delay=0.03)
    # 4: after a generation's lineage part, before (or just at) its checkpoint
    _kill_when(
        resume, tmp_path, lambda: (run_dir / "lineage.parquet" / "part-000005.parquet").exists()
    )
    done = run_evolve(*resume, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert final_state(run_dir) == reference
    events = read_events(run_dir / "events.jsonl")
    assert [e["event"] for e in events].count("resumed") == 4
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_run_when_interrupted_then_exit_3_safe_generation_named_and_resume_equal(
    signum: int, config: Path, reference: tuple[object, ...], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    process = start_evolve(
        "run", "--config", str(config), "--run-dir", str(run_dir), "--plain", cwd=tmp_path
    )
    wait_for(lambda: _checkpoint(run_dir, 2).exists(), process)

    process.send_signal(signum)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 3, err
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    safe = manifest["generation"]
    assert f"generation {safe} is safe" in err and f"--run-dir {run_dir} --resume" in err
    assert "Traceback" not in err
    assert read_events(run_dir / "events.jsonl")[-1]["event"] == "run_interrupted"
    done = run_evolve("run", "--run-dir", str(run_dir), "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert final_state(run_dir) == reference


@pytest.fixture
def synthetic_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    data = write_parquet_file(tmp_path / "SYNTHUSDT-1h.parquet", make_bar_columns(3000, seed=1))
    config = tmp_path / "synthetic.toml"
    config.write_text(
        f'[data]\ndatasets = ["{data}"]\n[gp]\npopulation = 16\ngenerations = 1\n'
        "probe_copies = 1\n[run]\nworkers = 1\n",
        "utf-8",
    )
    run_dir = tmp_path / "run"
    code, _, err = cli(capsys, "run", "--config", str(config), "--run-dir", str(run_dir))
    assert code == 0, err
    return data, config, run_dir


def test_resume_when_data_changed_then_exit_2_naming_dataset(
    synthetic_run: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, _, run_dir = synthetic_run
    write_parquet_file(data, make_bar_columns(3000, seed=2))

    code, _, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume")

    assert code == 2 and "Traceback" not in err
    assert str(data) in err and "content hash" in err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"


def test_resume_when_costs_or_seed_changed_then_exit_2_naming_keys(
    synthetic_run: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config, run_dir = synthetic_run
    costly = config.with_name("costly.toml")
    costly.write_text(config.read_text() + "[costs]\ntaker_fee = 0.001\n", "utf-8")

    costs = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--config", str(costly))
    seed = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--seed", "5")

    assert costs[0] == 2 and "costs.taker_fee" in costs[2]
    assert seed[0] == 2 and "run.seed" in seed[2]


def test_resume_when_more_generations_then_continues_to_the_new_total(
    synthetic_run: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, run_dir = synthetic_run

    code, out, err = cli(capsys, "run", "--run-dir", str(run_dir), "--resume", "--generations", "3")

    assert code == 0, err
    manifest = json.loads((run_dir / "run.json").read_text())
    assert (manifest["status"], manifest["generation"], manifest["n_generations"]) == (
        "completed",
        3,
        3,
    )
    assert "resuming run" in out and "gen 3/3" in out
    assert "generations = 3" in (run_dir / "config.toml").read_text()
