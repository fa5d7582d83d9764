"""`evolve promote --null-runs 2` on a tiny budget: two surrogate searches in RUN/null/<k>/,
their best holdout Sharpes as the null distribution, each candidate's percentile, the optional
gate, and reuse of finished null runs on a second pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.config import read_resolved_config
from populations import RunDir, read_hall_of_fame
from tests.integration.test_promote_cli import evolve_cli, run_search, strict_json, write_run_config
from tests.synthetic_markets import planted_edge_series, write_bar_file


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("null_model")
    data = write_bar_file(directory, planted_edge_series(24 * 200, 41, symbol="NULLUSDT"))
    config = write_run_config(
        directory, [data], population=16, generations=2, folds=2, probe_copies=2
    )
    return run_search(directory, config)


def test_promote_when_null_runs_2_then_two_surrogate_searches_and_percentiles(
    small_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate_config = tmp_path / "null.toml"
    gate_config.write_text("[promotion]\nnull_percentile_min = 0.5\n")

    code, _, err = evolve_cli(
        capsys, "promote", str(small_run), "--null-runs", "2", "--config", str(gate_config)
    )

    assert code == 0, err
    evidence = strict_json(small_run / "promotion.json")
    null = evidence["search"]["null_model"]
    assert null["n_runs"] == 2 and null["block_days"] == 7 and null["periods"] == "day"
    assert [run["run_dir"] for run in null["runs"]] == ["null/0/run", "null/1/run"]
    assert len(null["best_holdout_sharpes"]) == 2
    base_seed = read_resolved_config(small_run / "config.toml").run.seed
    for k, run in enumerate(null["runs"]):
        run_dir = small_run / "null" / str(k) / "run"
        manifest = RunDir(run_dir).read_manifest()
        assert manifest.status == "completed" and manifest.seed == base_seed + k == run["seed"]
        _, members = read_hall_of_fame(run_dir / "hall_of_fame.json")
        assert run["best_id"] in {member.id for member in members}
    for candidate in evidence["candidates"]:
        percentile = candidate["statistics"]["null_percentile"]
        assert percentile in (0.0, 0.25, 0.5, 0.75, 1.0)
        gate = next(g for g in candidate["gates"] if g["name"] == "null_model")
        assert gate["value"] == percentile and gate["passed"] is (percentile >= 0.5)


def test_promote_when_null_runs_repeated_then_finished_null_runs_are_reused(
    small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evolve_cli(capsys, "promote", str(small_run), "--null-runs", "2")[0] == 0
    created = [
        json.loads((small_run / "null" / str(k) / "run" / "run.json").read_text())["created_at"]
        for k in range(2)
    ]
    first = strict_json(small_run / "promotion.json")["search"]["null_model"]

    assert evolve_cli(capsys, "promote", str(small_run), "--null-runs", "2")[0] == 0

    again = strict_json(small_run / "promotion.json")["search"]["null_model"]
    assert again == first
    for k in range(2):
        run_json = json.loads((small_run / "null" / str(k) / "run" / "run.json").read_text())
        assert run_json["created_at"] == created[k]


def test_promote_when_no_null_runs_then_null_model_absent_and_no_gate(
    small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evolve_cli(capsys, "promote", str(small_run))[0] == 0

    evidence = strict_json(small_run / "promotion.json")

    assert evidence["search"]["null_model"] is None
    assert all(c["statistics"]["null_percentile"] is None for c in evidence["candidates"])
    assert all(g["name"] != "null_model" for c in evidence["candidates"] for g in c["gates"])
