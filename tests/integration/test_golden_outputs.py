"""Golden outputs: ``evolve run`` + ``evolve promote`` on a fixed planted-edge market give,
byte for byte, the hall of fame, promotion decisions and promoted specs recorded in golden/.

A regression guard for refactors that must change nothing: it drives only the command line
(``evolve.cli.main``), builds its data with ``tests.synthetic_markets`` and reads everything
else from tests/integration/golden/:

- ``run.toml.in``: the run configuration (``{datasets}`` and ``{seed_templates}`` filled in);
- ``seeds.txt``: the seed templates (a copy of examples/seeds.txt as of the recording);
- ``hall_of_fame.json``: RUN/hall_of_fame.json, byte for byte;
- ``promotion_decisions.json``: the ``decisions`` list of RUN/promotion.json (canonical JSON:
  ``sort_keys=True, indent=1``; compared parsed);
- ``promoted/<id>.json``: RUN/promoted/, every file byte for byte (4 of 23 candidates
  promoted: uncorrelated forms of the planted edge, each the simplest of its correlated group).

Data: 1 symbol (PEAUSDT), 2 years of 1h bars, ``planted_edge_series(17_520, 10)``; search:
population 30, 5 generations, seed 3, 2 discovery folds, 30 % holdout, 1 worker; promotion
with the default thresholds. About 3 s with a warm numba cache, about 12 s cold.

Normalised: only the absolute path of the data directory (it is under pytest's tmp_path),
which the specs record in ``data.datasets[].name``; it is replaced by ``<DATA_DIR>`` before
comparing. Nothing else in these files depends on the machine (no timestamps, no package
versions). Floating-point results are those of the recording environment (numpy, numba, CPU);
a different platform may legitimately differ in the last digits.

Regenerate (only when a change of outputs is intended, and say why in the commit)::

    EVOLVE_REGENERATE_GOLDEN=1 pytest tests/integration/test_golden_outputs.py

rewrites hall_of_fame.json, promotion_decisions.json and promoted/ from a fresh run and
skips the comparison; run it again without the variable to see it pass.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest

from evolve.cli import main
from tests.synthetic_markets import planted_edge_series, write_bar_file

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("EVOLVE_REGENERATE_GOLDEN", "") not in ("", "0")
DATA_DIR_TOKEN = "<DATA_DIR>"
N_BARS = 2 * 365 * 24
# variables that would override the configuration file (evolve.config) or the runs root
EVOLVE_ENVIRONMENT = ("EVOLVE_WORKERS", "EVOLVE_SEED", "EVOLVE_RUNS_ROOT", "EVOLVE_RAY_ADDRESS")


def normalised(raw: bytes, data_dir: Path) -> str:
    """Return a JSON file's text with the data directory (as JSON-escaped) replaced by a token."""
    escaped = json.dumps(str(data_dir))[1:-1]
    return raw.decode("utf-8").replace(escaped, DATA_DIR_TOKEN)


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=1) + "\n"


def assert_same_text(actual: str, expected: str, name: str) -> None:
    """Assert equal texts; on a difference show the start of a unified diff (not 100 KB)."""
    if actual == expected:
        return
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), f"golden/{name}", f"RUN/{name}", lineterm=""
    )
    lines = list(diff)
    shown = "\n".join(lines[:80]) + (
        f"\n... ({len(lines) - 80} more lines)" if len(lines) > 80 else ""
    )
    raise AssertionError(f"{name} differs from the golden fixture:\n{shown}")


@pytest.fixture
def golden_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Run ``evolve run`` and ``evolve promote`` on the golden market; return (run, data dir)."""
    for name in EVOLVE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = write_bar_file(data_dir, planted_edge_series(N_BARS, 10, symbol="PEAUSDT"))
    config = tmp_path / "run.toml"
    template = (GOLDEN / "run.toml.in").read_text("utf-8")
    config.write_text(
        template.format(
            datasets=json.dumps([str(data)]),
            seed_templates=(GOLDEN / "seeds.txt").as_posix(),
        ),
        "utf-8",
    )
    run_dir = tmp_path / "run"  # the directory name is the run id recorded in every spec

    assert main(["run", "--config", str(config), "--run-dir", str(run_dir), "--plain"]) == 0
    assert main(["promote", str(run_dir)]) == 0
    return run_dir, data_dir


def regenerate(run_dir: Path, data_dir: Path) -> None:
    hall_of_fame = normalised((run_dir / "hall_of_fame.json").read_bytes(), data_dir)
    (GOLDEN / "hall_of_fame.json").write_text(hall_of_fame, "utf-8", newline="")
    decisions = json.loads((run_dir / "promotion.json").read_text("utf-8"))["decisions"]
    (GOLDEN / "promotion_decisions.json").write_text(canonical(decisions), "utf-8", newline="")
    shutil.rmtree(GOLDEN / "promoted", ignore_errors=True)
    (GOLDEN / "promoted").mkdir()
    for path in sorted((run_dir / "promoted").glob("*.json")):
        text = normalised(path.read_bytes(), data_dir)
        (GOLDEN / "promoted" / path.name).write_text(text, "utf-8", newline="")


def test_golden_outputs_when_run_and_promoted_then_identical_to_the_fixture(
    golden_run: tuple[Path, Path],
) -> None:
    run_dir, data_dir = golden_run
    if REGENERATE:
        regenerate(run_dir, data_dir)
        pytest.skip(f"EVOLVE_REGENERATE_GOLDEN set: {GOLDEN} rewritten, not compared")

    hall_of_fame = normalised((run_dir / "hall_of_fame.json").read_bytes(), data_dir)
    expected = (GOLDEN / "hall_of_fame.json").read_bytes().decode("utf-8")
    assert_same_text(hall_of_fame, expected, "hall_of_fame.json")

    decisions = json.loads((run_dir / "promotion.json").read_text("utf-8"))["decisions"]
    golden_decisions = json.loads((GOLDEN / "promotion_decisions.json").read_text("utf-8"))
    if decisions != golden_decisions:
        assert_same_text(canonical(decisions), canonical(golden_decisions), "decisions")

    promoted = sorted(path.name for path in (run_dir / "promoted").glob("*.json"))
    golden_promoted = sorted(path.name for path in (GOLDEN / "promoted").glob("*.json"))
    assert promoted == golden_promoted
    assert promoted, "the golden run promotes at least one candidate"
    for name in promoted:
        text = normalised((run_dir / "promoted" / name).read_bytes(), data_dir)
        expected = (GOLDEN / "promoted" / name).read_bytes().decode("utf-8")
        assert_same_text(text, expected, f"promoted/{name}")
