"""``evolve promote`` / ``evolve report`` on unusable inputs: exit 2 with one message naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.test_promote_cli import evolve_cli, run_search, write_run_config
from tests.synthetic_markets import planted_edge_series, write_bar_file


def test_promote_when_run_has_no_holdout_then_exit_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_bar_file(tmp_path, planted_edge_series(24 * 120, 31, symbol="NOHOLDUSDT"))
    config = write_run_config(
        tmp_path, [data], population=8, generations=1, folds=2, holdout=0.0, probe_copies=2
    )
    run_dir = run_search(tmp_path, config)

    code, _, err = evolve_cli(capsys, "promote", str(run_dir))

    assert code == 2, err
    assert "the run has no holdout" in err and "holdout_fraction" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (run_dir / "promotion.json").exists()


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: _edit(text, lambda e: e.pop("decisions")), "field decisions: field required"),
        (
            lambda text: _edit(text, lambda e: e["decisions"][0].update(promoted="no")),
            "field decisions[0].promoted",
        ),
    ],
    ids=["truncated", "missing-field", "wrong-type"],
)
def test_report_when_promotion_json_malformed_then_exit_2_naming_file_and_field(
    promoted_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage, field: str
) -> None:
    run_dir = Path(shutil.copytree(promoted_run, tmp_path / "run"))
    path = run_dir / "promotion.json"
    path.write_text(damage(path.read_text("utf-8")), "utf-8")

    code, _, err = evolve_cli(capsys, "report", str(run_dir))

    assert code == 2 and str(path) in err and field in err
    assert "Traceback" not in err


def _edit(text: str, change) -> str:
    evidence = json.loads(text)
    change(evidence)
    return json.dumps(evidence)


@pytest.fixture(scope="module")
def promoted_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished and promoted run (1 symbol, 150 days, population 8, 1 generation)."""
    directory = tmp_path_factory.mktemp("promoted")
    data = write_bar_file(directory, planted_edge_series(24 * 150, 31, symbol="TINYUSDT"))
    config = write_run_config(
        directory, [data], population=8, generations=1, folds=2, probe_copies=2
    )
    run_dir = run_search(directory, config)
    from tests.integration.test_promote_cli import evolve_main

    assert evolve_main("promote", str(run_dir)) == 0
    return run_dir
