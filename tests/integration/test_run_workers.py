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
