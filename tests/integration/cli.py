"""Run the ``evolve`` command line in-process and capture what it prints."""

from __future__ import annotations

import pytest

from evolve.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
