"""``evolve kill`` / ``evolve unhalt`` find the account file: --state, else the one default."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.cli import main
from execution.state import StateStore


def _account(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    StateStore(path).close()
    return path


def test_kill_when_one_default_account_then_halts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _account(tmp_path / "demo" / "account.sqlite")

    assert main(["kill", "--home", str(tmp_path)]) == 0

    assert str(path) in capsys.readouterr().out
    store = StateStore(path)
    try:
        assert store.active_halt_id() is not None
    finally:
        store.close()
    assert main(["unhalt", "--confirm", "--home", str(tmp_path)]) == 0


@pytest.mark.parametrize("folders", [(), ("demo", "paper")])
def test_kill_when_no_or_several_default_accounts_then_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], folders: tuple[str, ...]
) -> None:
    for folder in folders:
        _account(tmp_path / folder / "account.sqlite")

    assert main(["kill", "--home", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert "expected exactly one default account state file" in err and "--state" in err
    for folder in folders:
        assert str(tmp_path / folder / "account.sqlite") in err
