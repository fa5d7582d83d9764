"""``kill -9`` at random points of a replay, then restart: the same final account as one run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fitness
from tests.integration.cli import run
from tests.paper_fixtures import DATASET, random_texts, store_dataset, write_spec

N_KILLS = 10
N_BARS = 2500
REPO = Path(__file__).resolve().parents[2]


def _bars_done(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1.0) as db:
            return int(db.execute("SELECT COUNT(*) FROM equity_marks").fetchone()[0])
    except sqlite3.Error:
        return 0


def _snapshot(state: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(state) as db:
        return {
            "fills": db.execute(
                "SELECT * FROM fills ORDER BY strategy, symbol, bar_time"
            ).fetchall(),
            "orders": db.execute("SELECT * FROM orders ORDER BY client_id").fetchall(),
            "positions": db.execute("SELECT * FROM positions ORDER BY strategy").fetchall(),
            "funding": db.execute("SELECT * FROM funding ORDER BY strategy, bar_time").fetchall(),
            "decisions": db.execute(
                "SELECT * FROM decisions ORDER BY strategy, symbol, bar_time"
            ).fetchall(),
            "equity": db.execute("SELECT * FROM equity_marks ORDER BY bar_time").fetchall(),
        }


def test_paper_replay_when_killed_at_random_points_then_restart_equals_uninterrupted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=N_BARS)
    rng = np.random.default_rng(99)
    paths = [
        str(write_spec(tmp_path / "specs", text, fitness.CostModel(latency_bars=k % 2))[0])
        for k, text in enumerate(random_texts(rng, 3))
    ]
    argv = ["paper", *paths, "--replay", DATASET, "--home", str(home), "--weights", "1,2,3"]
    reference = tmp_path / "reference.sqlite"
    assert run(capsys, *argv, "--state", str(reference))[0] == 0

    state = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    points = np.sort(rng.choice(np.arange(1, N_BARS - 50), N_KILLS, replace=False))
    killed_at = []
    for point in points:
        process = subprocess.Popen(
            [sys.executable, "-m", "evolve", *argv, "--state", str(state)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60.0
        while _bars_done(state) < point and process.poll() is None:
            assert time.monotonic() < deadline, "the replay did not progress"
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(_bars_done(state))
    assert len(set(killed_at)) >= N_KILLS // 2, killed_at  # distinct points of the replay
    assert run(capsys, *argv, "--state", str(state))[0] == 0
    assert _snapshot(state) == _snapshot(reference)
