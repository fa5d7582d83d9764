"""Determinism across worker counts: ``--workers 1`` (in-process) and ``--workers 2`` (a real
local Ray instance) give the same hall of fame to the last byte, population and lineage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_run_cli import final_state, run_evolve, write_config


@pytest.mark.ray
def test_run_when_one_or_two_workers_then_identical_hall_of_fame_bytes(tmp_path: Path) -> None:
    config = write_config(tmp_path, generations=3)
    states = []
    for workers in ("1", "2"):
        run_dir = tmp_path / f"workers-{workers}" / "run"
        done = run_evolve(
            "run", "--config", str(config), "--run-dir", str(run_dir), "--workers", workers,
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"{workers} worker(s)" in done.stdout
        states.append(final_state(run_dir))

    serial, parallel = states
    assert serial[0] == parallel[0]  # hall_of_fame.json bytes
    assert serial[1] == parallel[1]  # final checkpoint's population
    assert serial[2] == parallel[2]  # every lineage row


@pytest.mark.ray
def test_run_when_ray_workers_interrupted_then_exit_3_and_resume_equal(
    tmp_path: Path,
) -> None:
    """With Ray workers Ctrl-C lands between or inside generations (the writes are sequential:
    ``Engine.overlap_writes`` is off), names a safe generation, and the resumed run equals an
    uninterrupted one."""
    import signal
    import time

    from tests.integration.test_run_cli import start_evolve

    config = write_config(tmp_path, generations=8)
    reference_dir = tmp_path / "reference" / "run"
    done = run_evolve(
        "run", "--config", str(config), "--run-dir", str(reference_dir), "--workers", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "interrupted" / "run"
    process = start_evolve(
        "run", "--config", str(config), "--run-dir", str(run_dir), "--workers", "2", "--plain",
        cwd=tmp_path,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoints" / "gen-000002.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint 2"
        time.sleep(0.005)

    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 3, err
    assert "is safe" in err and "Traceback" not in err
    resumed = run_evolve("run", "--run-dir", str(run_dir), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert final_state(run_dir) == final_state(reference_dir)
