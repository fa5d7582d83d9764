"""The README says what the code does: its primitive table and quick start stay current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

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
