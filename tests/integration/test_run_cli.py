"""``evolve run`` / ``runs`` / ``lineage`` end to end: the run directory of DESIGN §4, the
listing, ancestry, and exit code 2 for bad configuration, templates and resume requests.

Shared helpers (a small config on a slice of the bundled data, a subprocess runner) are
imported by the other ``test_run_*`` modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evolve.cli.app import main
from populations import read_events, read_hall_of_fame

SMALL_CONFIG = """\
[data]
datasets = ["bundled/BTCUSDT-1h", "bundled/ETHUSDT-1h"]
start = "2024-01-01"
end = "2024-05-01"

[folds]
n_discovery_folds = 3

[gp]
population = 24
generations = {generations}
probe_copies = 2
max_nodes = 40

[run]
seed = 11
workers = 1
"""


def write_config(directory: Path, generations: int = 4, extra: str = "") -> Path:
    """Write the small test configuration (a 4-month slice of the bundled BTC+ETH data)."""
    path = directory / "small.toml"
    path.write_text(SMALL_CONFIG.format(generations=generations) + extra, "utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``evolve`` in-process; return (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def start_evolve(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m evolve ARGV`` in a subprocess (its own session, output piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "evolve", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def run_evolve(*argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m evolve ARGV`` to completion."""
    process = start_evolve(*argv, cwd=cwd)
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 120):
    """Poll ``condition`` every 5 ms until true; fail if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"evolve exited {process.returncode} early:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("timed out waiting for the run")
        time.sleep(0.005)


def final_state(run_dir: Path) -> tuple[bytes, list[object], list[object]]:
    """Return (hall_of_fame.json bytes, final checkpoint population, lineage rows)."""
    import pyarrow.parquet as pq

    from populations import RunDir, list_checkpoints, read_checkpoint

    checkpoints = list_checkpoints(RunDir(run_dir))
    payload = read_checkpoint(checkpoints[-1][1])[1]
    lineage = pq.read_table(run_dir / "lineage.parquet").to_pylist()
    return (run_dir / "hall_of_fame.json").read_bytes(), payload["population"], lineage


def test_run_when_small_config_then_design_run_dir_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)

    code, out, err = cli(
        capsys, "run", "--config", str(config), "--runs-root", str(tmp_path / "runs")
    )

    assert code == 0, err
    (run_dir,) = (tmp_path / "runs").iterdir()
    for name in ("config.toml", "run.json", "checkpoints", "lineage.parquet", "hall_of_fame.json"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "events.jsonl").exists() and (run_dir / "summary.md").exists()
    assert str(run_dir) in out and "gen 4/4" in out and "hall of fame" in out
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["generation"] == 4
    assert manifest["package_versions"]["deap"] and len(manifest["data"]) == 2
    generation, members = read_hall_of_fame(run_dir / "hall_of_fame.json")
    assert generation == 4 and members
    events = [e["event"] for e in read_events(run_dir / "events.jsonl")]
    assert events[0] == "run_started" and events[-1] == "run_finished"


def test_runs_and_lineage_when_run_exists_then_listed_and_ancestry_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_root = tmp_path / "runs"
    config = write_config(tmp_path, generations=3)
    assert cli(capsys, "run", "--config", str(config), "--runs-root", str(runs_root))[0] == 0
    (run_dir,) = runs_root.iterdir()
    _, members = read_hall_of_fame(run_dir / "hall_of_fame.json")
    youngest = max(members, key=lambda spec: spec.generation)

    code, listing, _ = cli(capsys, "runs", "--runs-root", str(runs_root))
    code_lineage, ancestry, err = cli(
        capsys, "lineage", youngest.id[:10], "--runs-root", str(runs_root), "--depth", "2"
    )

    assert code == 0 and run_dir.name in listing and "completed" in listing
    assert "3/3" in listing
    assert code_lineage == 0, err
    assert youngest.id in ancestry and youngest.expression[:30] in ancestry


def test_lineage_when_unknown_id_then_exit_2_with_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, generations=1)
    assert cli(capsys, "run", "--config", str(config), "--run-dir", str(tmp_path / "r"))[0] == 0

    code, _, err = cli(capsys, "lineage", "zzzz", "--run-dir", str(tmp_path / "r"))

    assert code == 2 and "not in the lineage" in err and "Traceback" not in err


def test_run_when_unknown_config_key_then_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra="[costs]\ntaker_fees = 0.001\n")

    code, _, err = cli(capsys, "run", "--config", str(config), "--runs-root", str(tmp_path / "r"))

    assert code == 2
    assert err.count("\n") == 1 and "small.toml" in err and "costs.taker_fees" in err
    assert not (tmp_path / "r").exists()


def test_run_when_seed_template_bad_then_exit_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(
        "long_only(gt(close, sma(close, 20)))\nlong_only(gt(close, smaa(close, 20)))\n"
    )
    config = write_config(tmp_path)

    code, _, err = cli(
        capsys,
        "run",
        "--config",
        str(config),
        "--seed-templates",
        str(seeds),
        "--runs-root",
        str(tmp_path / "runs"),
    )

    assert code == 2 and "seeds.txt line 2" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_run_when_resume_without_runs_then_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "run", "--resume", "--runs-root", str(tmp_path / "none"))

    assert code == 2 and "no run to resume" in err


def test_run_when_run_dir_exists_then_exit_2_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, generations=1)
    assert cli(capsys, "run", "--config", str(config), "--run-dir", str(tmp_path / "r"))[0] == 0

    code, _, err = cli(capsys, "run", "--config", str(config), "--run-dir", str(tmp_path / "r"))

    assert code == 2 and "already exists" in err


def test_run_help_when_asked_then_runs_root_relative_to_current_directory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cli(capsys, "run", "--help")

    assert code == 0
    assert "relative to the current directory" in " ".join(out.split())
    for flag in ("--config", "--data", "--timeframe", "--seed", "--population", "--generations"):
        assert flag in out
    for flag in ("--workers", "--ray-address", "--runs-root", "--run-dir", "--resume"):
        assert flag in out
    assert "--seed-templates" in out
