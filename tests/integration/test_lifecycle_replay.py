"""Lifecycle on replayed bars: the moves and the monitor on a stored regime switch, and a replay
account that never qualifies for live (the venue-clock acceptance: test_lifecycle.py).

The market drifts up for ``UP_DAYS`` days (the always-long rule earns), then switches to a
falling regime (the rule loses). The baseline is the first ``BASELINE_DAYS``; the account
replays from there on, so every record is out of sample of the baseline.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import fitness
from benchmarks._synthetic import START_MS, bars_from_log_returns
from tests.integration.cli import run
from tests.paper_fixtures import write_spec

DATASET = "local/SYNTHUSDT-1h"
ALWAYS_LONG = "long_only(delta_positive(atr(14)))"
BASELINE_DAYS, UP_DAYS, DOWN_DAYS = 40, 80, 40
DAY_MS = 86_400_000


def _day(n: int) -> str:
    return (datetime.fromtimestamp(START_MS / 1000, UTC) + timedelta(days=n)).strftime("%Y-%m-%d")


def _regime_market(home: Path) -> None:
    rng = np.random.default_rng(5)
    up = rng.normal(0.0008, 0.006, UP_DAYS * 24)
    down = rng.normal(-0.0015, 0.006, DOWN_DAYS * 24)
    series = bars_from_log_returns(
        np.concatenate([up, down]), rng, symbol="SYNTHUSDT", source="regime switch"
    )
    fitness.save_dataset(series, home=home, name=DATASET)


def _rows(state: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(state) as db:
        return db.execute(sql).fetchall()


@pytest.fixture()
def account(tmp_path: Path) -> tuple[Path, Path, Path]:
    home = tmp_path / "home"
    _regime_market(home)
    path, _ = write_spec(tmp_path / "specs", ALWAYS_LONG, fitness.CostModel(funding=True))
    return home, path, tmp_path / "account.sqlite"


def _paper(capsys: pytest.CaptureFixture[str], home: Path, spec: Path, state: Path, to: int):
    return run(
        capsys,
        "paper", str(spec), "--replay", DATASET, "--from", _day(BASELINE_DAYS), "--to", _day(to),
        "--state", str(state), "--home", str(home),
    )  # fmt: skip


def _deploy(capsys: pytest.CaptureFixture[str], home: Path, spec: Path, state: Path, *extra: str):
    return run(
        capsys, "deploy", str(spec), "--state", str(state), "--home", str(home), *extra
    )  # fmt: skip


def test_lifecycle_when_driven_through_states_then_moves_are_evidenced_and_decay_demotes(
    capsys: pytest.CaptureFixture[str], account: tuple[Path, Path, Path]
) -> None:
    home, spec, state = account
    baseline = ("--baseline", DATASET, "--baseline-to", _day(BASELINE_DAYS))

    code, out, err = _deploy(capsys, home, spec, state, "--to", "demo", *baseline)
    assert code == 2 and "skips paper" in err
    code, out, err = _deploy(capsys, home, spec, state, "--to", "paper", *baseline)
    assert code == 0, err
    assert "promoted -> paper" in out

    # a short paper record: the move to demo is refused, naming the record length
    assert _paper(capsys, home, spec, state, BASELINE_DAYS + 3)[0] == 0
    code, out, err = _deploy(capsys, home, spec, state, "--to", "demo")
    assert code == 2
    assert "record_length" in err and "complete days in paper" in err

    # long enough and consistent with the holdout: allowed
    assert _paper(capsys, home, spec, state, BASELINE_DAYS + 30)[0] == 0
    code, out, err = _deploy(capsys, home, spec, state, "--to", "demo")
    assert code == 0, err
    assert "ok   consistency" in out and "ok   slippage" in out and "ok   funding" in out
    code, out, err = _deploy(capsys, home, spec, state, "--to", "live")
    assert code == 2 and "replay account" in err and "never qualifies for real money" in err

    # planted decay: prices fall from UP_DAYS on; the monitor demotes demo -> paper
    assert _paper(capsys, home, spec, state, UP_DAYS + DOWN_DAYS)[0] == 0
    moves = _rows(
        state,
        "SELECT from_state, to_state, actor, bar_time, reason FROM lifecycle_transitions "
        "ORDER BY id",
    )
    assert [m[:3] for m in moves[:2]] == [
        ("promoted", "paper", "deploy"),
        ("paper", "demo", "deploy"),
    ]
    decay = moves[2]
    assert decay[:3] == ("demo", "paper", "monitor")
    delay_days = (decay[3] - (START_MS + UP_DAYS * DAY_MS)) / DAY_MS
    assert 0 <= delay_days <= 15, decay
    assert "decay" in decay[4]
    kinds = [k for (k,) in _rows(state, "SELECT kind FROM events ORDER BY id")]
    assert "decay" in kinds
    # no decay alarm before the switch (the undecayed record)
    assert all(m[3] is None or m[3] >= START_MS + UP_DAYS * DAY_MS for m in moves[2:])

    code, out, err = run(capsys, "retire", str(spec), "--state", str(state), "--reason", "decayed")
    assert code == 0, err
    code, out, err = _deploy(capsys, home, spec, state, "--to", "paper")
    assert code == 2 and "retired" in err
    code, out, err = _paper(capsys, home, spec, state, UP_DAYS + DOWN_DAYS)
    assert code == 2 and "retired" in err

    # the account page: equity against the band, fills, funding, events, transitions
    code, out, err = run(capsys, "report", "--account", str(state))
    assert code == 0, err
    page = state.with_name("account.html").read_text("utf-8")
    assert page.count("<svg") == 2 and "<script" not in page
    assert "backtest band" in page and "demo → paper by monitor" in page
    assert "record_length" in page and "modelled slip." in page and ">decay<" in page
