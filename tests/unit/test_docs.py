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


# Every command in the README's ```sh / ```bash blocks is either run below (in-process, exit 0)
# or named here with the reason it is not: a new README command fails the test until it is
# classified. Keys are command prefixes after normalisation (see _readme_commands).
NOT_RUN = {
    "make run": "creates .venv and runs a full search (about a minute)",
    "make test": "the whole suite",
    "make bench": "every benchmark",
    "evolve promote": "needs a finished run; the gauntlet takes ~30 s (integration tests)",
    "evolve run": "a search (tests/integration run small ones)",
    "evolve data import FILE": "placeholder FILE (tests/integration/test_data_cli.py)",
    "evolve data fetch": "network (the exchange)",
    "evolve runs --compare RUN_A RUN_B": "needs two finished runs (the runs --compare tests)",
    "evolve paper": "needs promoted specs or live bars (tests/integration paper tests)",
    "evolve status": "needs a paper account's state file",
    "evolve deploy": "needs a promoted spec and records (tests/integration/test_lifecycle.py)",
    "evolve retire": "needs a run's promoted spec (tests/integration/test_lifecycle.py)",
    "evolve portfolio": "needs two finished runs (tests/integration/test_promote_planted_edge.py)",
    "evolve live": "needs venue keys (tests/integration/test_lifecycle.py: the fake venue)",
}
MUST_RUN = (
    "evolve runs",
    "evolve data ls",
    "evolve data show bundled/BTCUSDT-1h",
    "evolve primitives --search rsi",
    "evolve backtest",
)


def _readme_commands() -> list[str]:
    """Return the README's shell commands: continuation lines joined, comments and optional
    ``[...]`` synopsis parts dropped, ``.venv/bin/evolve`` as ``evolve``."""
    readme = (ROOT / "README.md").read_text("utf-8")
    commands = []
    for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", readme, re.DOTALL | re.MULTILINE):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if not line or line.startswith("#"):
                continue
            line = re.sub(r"\s*\[[^\[\]]*\]", "", line)  # optional flags of a synopsis
            line = re.sub(r"^\.venv/bin/evolve\b", "evolve", line)
            commands.append(" ".join(line.split()))
    return commands


def _skip_reason(command: str) -> str | None:
    for prefix, reason in NOT_RUN.items():
        if command == prefix or command.startswith(prefix + " "):
            return reason
    return None


def test_readme_commands_when_extracted_then_every_one_runs_or_is_listed_as_not_run() -> None:
    commands = _readme_commands()
    runnable = [c for c in commands if _skip_reason(c) is None]

    assert all(c.startswith("evolve ") for c in runnable), runnable
    assert not [c for c in runnable if re.search(r"&&|\||;|>", c)], "one command per line"
    for prefix in MUST_RUN:
        assert any(c == prefix or c.startswith(prefix + " ") for c in runnable), prefix


def test_readme_commands_when_run_then_each_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    from evolve.cli.app import main

    monkeypatch.chdir(tmp_path)  # no ./runs: `evolve runs` on an empty runs root
    monkeypatch.setenv("EVOLVE_HOME", str(tmp_path / "home"))  # a fresh data store
    monkeypatch.delenv("EVOLVE_RUNS_ROOT", raising=False)
    ran = []
    for command in [*_readme_commands(), "evolve --help"]:
        if _skip_reason(command) is not None:
            continue
        try:
            code = main(shlex.split(command)[1:])
        except SystemExit as e:  # argparse's --help
            code = e.code
        captured = capsys.readouterr()
        assert code in (0, None), f"{command}: exit {code}: {captured.err}"
        assert captured.out.strip(), command
        ran.append(command)

    assert len(ran) >= 6, ran
    assert "bundled/BTCUSDT-1h" in " ".join(ran)
    assert (tmp_path / "sma50.svg").read_text("utf-8").startswith("<?xml")


def test_readme_commands_table_when_read_then_every_registered_command_listed() -> None:
    from evolve.cli.app import build_parser

    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    subparsers = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)

    missing = [name for name in subparsers.choices if f"`evolve {name}" not in table]

    assert missing == [], f"README ## Commands lacks {missing}"
