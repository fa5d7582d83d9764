"""The parser: light imports at parse time, unknown options reported by their command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evolve.cli.app import main

HEAVY = ("ray", "numba", "pyarrow", "ccxt", "numpy", "pydantic", "fitness", "rich")


def test_build_parser_when_parsing_help_then_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from evolve.cli.app import build_parser\n"
        "parser = build_parser()\n"
        "for argv in (['run', '--seed', '1'], ['data', 'ls'], ['backtest', 'x'], ['runs']):\n"
        "    parser.parse_known_args(argv)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


def test_main_when_option_misspelt_then_command_usage_and_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "--populaton", "64"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("usage: evolve run ")
    assert "unrecognized arguments: --populaton 64; did you mean --population?" in err


def test_main_when_nested_command_option_misspelt_then_nested_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["data", "ls", "--hme=/tmp"])

    err = capsys.readouterr().err
    assert code == 2 and err.startswith("usage: evolve data ls ")
    assert "did you mean --home?" in err


def test_main_when_unknown_word_far_from_any_option_then_no_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["runs", "--zzzzzz"])

    err = capsys.readouterr().err
    assert code == 2 and "unrecognized arguments: --zzzzzz" in err and "did you mean" not in err
