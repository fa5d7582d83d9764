"""The README says what the code does: its primitive table and quick start stay current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _primitive_table() -> str:
    spec = importlib.util.spec_from_file_location(
        "primitive_table", ROOT / "scripts/primitive_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.primitive_table())


def test_readme_when_registry_changes_then_primitive_table_must_follow() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")

    table = re.search(
        r"<!-- primitive-table:start -->\n(.*?)\n<!-- primitive-table:end -->", readme, re.DOTALL
    )

    assert table is not None, "README.md lost its primitive-table markers"
    assert table.group(1) == _primitive_table(), (
        "README.md's primitive table is stale: regenerate it with "
        "`python scripts/primitive_table.py` and paste it between the markers"
    )


def test_readme_quick_start_when_read_then_exactly_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")

    quick_start = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]

    assert commands == ["make run", "make test"]


def test_design_example_when_parsed_then_round_trips() -> None:
    import primitives

    design = (ROOT / "DESIGN.md").read_text("utf-8")
    example = re.search(r"e\.g\.\s*`(pos_from\(.*?\))`", design)

    assert example is not None
    assert primitives.to_text(primitives.parse(example.group(1))) == example.group(1)


def _one_strategy_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("### One strategy", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.strip().splitlines()]


def test_readme_one_strategy_when_commands_run_then_each_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    from evolve.cli.app import main

    monkeypatch.chdir(tmp_path)
    ran = 0
    for command in _one_strategy_commands():
        argv = shlex.split(command)
        assert argv[0] == "evolve", command
        if "RUN_A" in argv:  # needs two finished runs: the runs --compare tests cover it
            continue
        code = main(argv[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{command}: {captured.err}"
        assert captured.out.strip(), command
        ran += 1

    assert ran >= 3
    assert (tmp_path / "sma50.svg").read_text("utf-8").startswith("<?xml")


def test_readme_commands_table_when_read_then_every_registered_command_listed() -> None:
    from evolve.cli.app import build_parser

    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    subparsers = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)

    missing = [name for name in subparsers.choices if f"`evolve {name}" not in table]

    assert missing == [], f"README ## Commands lacks {missing}"
