"""Guards of the lifecycle commands: restart after a demotion, re-deploys, retire everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from evolve.cli.lifecycle import _retire_paths, _target_allows
from evolve.cli.live import _not_deployed
from evolve.errors import UsageError
from execution.lifecycle import Decision, ensure_tables, record_transition
from execution.state import StateStore


def _ledger(path: Path, *moves: tuple[str, str, int | None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    store = StateStore(path)
    ensure_tables(store)
    with store.step():
        for source, target, bar in moves:
            decision = Decision("s1", source, target, True, f"{source}->{target}")
            record_transition(store, decision, "test", f"{source}->{target}", bar)
    store.close()
    return path


def test_not_deployed_when_demoted_after_live_then_the_runner_may_restart(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "live.sqlite", ("demo", "live", None), ("live", "paper", 1_000))

    assert _not_deployed(path, ["s1"]) == []


def test_not_deployed_when_never_live_there_then_refused_naming_the_state(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "live.sqlite", ("promoted", "paper", None))

    (missing,) = _not_deployed(path, ["s1"])

    assert "it is paper" in missing and "evolve deploy SPEC --to live" in missing


def test_target_allows_when_already_live_there_then_refused(tmp_path: Path) -> None:
    store = StateStore(_ledger(tmp_path / "live.sqlite", ("demo", "live", None)))

    with pytest.raises(UsageError, match="already live"):
        _target_allows(store, "s1", "live")


def test_target_allows_when_demoted_there_then_record_counts_after_the_demotion(
    tmp_path: Path,
) -> None:
    moves = (("demo", "live", None), ("live", "paper", 5_000))
    store = StateStore(_ledger(tmp_path / "live.sqlite", *moves))

    assert _target_allows(store, "s1", "live") == 5_000


def test_target_allows_when_retired_there_then_refused(tmp_path: Path) -> None:
    store = StateStore(_ledger(tmp_path / "live.sqlite", ("live", "retired", 9)))

    with pytest.raises(UsageError, match="retired"):
        _target_allows(store, "s1", "live")


def test_retire_paths_when_no_state_then_every_account_holding_the_strategy(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    _ledger(home / "paper" / "account.sqlite", ("promoted", "paper", None))
    _ledger(home / "live" / "account.sqlite", ("demo", "live", None))
    _ledger(home / "demo" / "account.sqlite", ("paper", "demo", None), ("demo", "retired", 3))
    args = argparse.Namespace(state=None, home=home)

    paths = _retire_paths(args, "s1")

    assert paths == [home / "paper" / "account.sqlite", home / "live" / "account.sqlite"]


def test_deploy_when_refused_then_no_empty_account_file_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evolve.cli.app import main
    from fitness import CostModel
    from tests.paper_fixtures import write_spec

    path, _ = write_spec(tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", CostModel())
    home = tmp_path / "home"

    code = main(["deploy", str(path), "--to", "demo", "--home", str(home)])

    assert code == 2 and "skips paper" in capsys.readouterr().err
    assert not (home / "demo" / "account.sqlite").exists()
