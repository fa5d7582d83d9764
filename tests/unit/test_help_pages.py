"""Every entry point's ``--help`` exits 0, shows examples and explains every argument: each
``evolve`` command and sub-command, each benchmark module and each script (in-process: nothing
runs, nothing compiles)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evolve.cli.app import build_parser
from evolve.cli.app import main as evolve_main

ROOT = Path(__file__).resolve().parents[2]

# module → the prog its usage line shows
ENTRY_POINTS = {
    "benchmarks.__main__": "python -m benchmarks",
    **{
        f"benchmarks.{name}": f"python -m benchmarks.{name}"
        for name in (
            "ab",
            "calibration",
            "calibration_report",
            "decay",
            "evaluate",
            "evolution",
            "evolution_profile",
            "faults",
            "paper",
            "primitives",
            "simulate",
        )
    },
    "scripts.make_bundled": "python scripts/make_bundled.py",
    "scripts.primitive_table": "python scripts/primitive_table.py",
}


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):  # aliases once
                yield command
                yield from _commands(command)


EVOLVE_COMMANDS = ["evolve", *(command.prog for command in _commands(build_parser()))]


def _unexplained(parser: argparse.ArgumentParser) -> list[str]:
    """Return the arguments (and sub-commands) of ``parser`` that have no help text."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):  # its commands carry the help
            missing += [command.dest for command in action._choices_actions if not command.help]
        elif not action.help:
            missing.append(action.dest)
    return missing


def _recording(monkeypatch: pytest.MonkeyPatch, method: str) -> list[argparse.ArgumentParser]:
    """Record each parser whose ``method`` (``parse_args``, ``print_help``) is called."""
    parsers: list[argparse.ArgumentParser] = []
    original = getattr(argparse.ArgumentParser, method)

    def recording(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        parsers.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, method, recording)
    return parsers


def _help(
    capsys: pytest.CaptureFixture[str], main: Callable[[list[str]], Any], argv: list[str]
) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's --help
        code = e.code
    captured = capsys.readouterr()
    assert not captured.err, captured.err
    return (0 if code is None else int(code)), captured.out


@pytest.mark.parametrize("command", EVOLVE_COMMANDS)
def test_evolve_help_when_asked_then_exit_0_with_examples_and_every_argument_explained(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsers = _recording(monkeypatch, "print_help")

    code, out = _help(capsys, evolve_main, [*command.split()[1:], "--help"])

    assert code == 0
    assert out.startswith(f"usage: {command} ")
    assert "\nexamples:\n" in out
    assert [parser.prog for parser in parsers] == [command]
    assert _unexplained(parsers[0]) == [], "arguments without help"


@pytest.mark.timeout(60)  # a --help that starts the benchmark fails here, not hours later
@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_entry_point_help_when_asked_then_exit_0_with_examples_and_every_argument_explained(
    module: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main = importlib.import_module(module).main
    parsers = _recording(monkeypatch, "parse_args")

    code, out = _help(capsys, main, ["--help"])

    assert code == 0
    assert out.startswith(f"usage: {ENTRY_POINTS[module]} ")
    assert "\nexamples:\n" in out
    assert [parser.prog for parser in parsers] == [ENTRY_POINTS[module]]
    assert _unexplained(parsers[0]) == [], "arguments without help"


def test_entry_points_when_a_module_runs_as_a_script_then_it_is_listed() -> None:
    scripts = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for folder in ("benchmarks", "scripts")
        for path in (ROOT / folder).glob("*.py")
        if 'if __name__ == "__main__":' in path.read_text("utf-8")
    }

    assert scripts == set(ENTRY_POINTS)


def test_benchmarks_help_when_read_then_lists_every_module_it_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = importlib.import_module("benchmarks.__main__")

    _, out = _help(capsys, runner.main, ["--help"])

    assert [name for name in runner.MODULES if f"  benchmarks.{name} " not in out] == []
