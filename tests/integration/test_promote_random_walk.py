"""Acceptance: on a random walk (no edge) `evolve run` + `evolve promote` promotes nothing, the
report says why (every failed gate with its value and threshold), and a re-run is identical.

Data: 2 symbols × 2 years of 1h driftless random walk (0.6 % per bar) with 8-hourly funding;
search: population 50, 8 generations, seeded with examples/seeds.txt; 30 % holdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.promotion.document import PromotionDocument
from evolve.reports.gates import gate_explanation
from populations import read_events
from tests.integration.test_promote_cli import (
    evolve_cli,
    evolve_main,
    parse_report,
    run_search,
    strict_json,
    write_run_config,
)
from tests.synthetic_markets import random_walk_series, write_bar_file

N_BARS = 2 * 365 * 24


@pytest.fixture(scope="module")
def promoted_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("random_walk")
    data = [
        write_bar_file(directory, random_walk_series(N_BARS, 10, symbol="RWAUSDT")),
        write_bar_file(directory, random_walk_series(N_BARS, 11, symbol="RWBUSDT")),
    ]
    run_dir = run_search(directory, write_run_config(directory, data))
    assert evolve_main("promote", str(run_dir)) == 0
    return run_dir


def test_random_walk_when_promoted_then_nothing_is_promoted(promoted_run: Path) -> None:
    evidence = strict_json(promoted_run / "promotion.json")

    assert evidence["summary"]["n_promoted"] == 0
    assert evidence["summary"]["n_candidates"] == len(evidence["candidates"]) >= 5
    assert not any(promoted_run.joinpath("promoted").glob("*.json"))
    assert all(
        not candidate["promoted"] and candidate["failed"] for candidate in evidence["candidates"]
    )
    # the deflated Sharpe alone rejects every lucky member of the hall of fame
    assert all("dsr" in candidate["failed"] for candidate in evidence["candidates"])


def test_random_walk_when_promoted_then_decisions_follow_the_design_contract(
    promoted_run: Path,
) -> None:
    evidence = strict_json(promoted_run / "promotion.json")

    for decision, candidate in zip(evidence["decisions"], evidence["candidates"], strict=True):
        assert set(decision) == {"id", "promoted", "gates"}
        assert decision["id"] == candidate["id"] and decision["promoted"] is False
        for gate in decision["gates"]:
            assert set(gate) == {"name", "value", "threshold", "passed"}
            assert isinstance(gate["passed"], bool)
            assert gate["value"] is None or isinstance(gate["value"], int | float)
        failed = [gate["name"] for gate in decision["gates"] if not gate["passed"]]
        assert failed == candidate["failed"]


def test_random_walk_when_report_opened_then_it_says_why_nothing_was_promoted(
    promoted_run: Path,
) -> None:
    evidence = json.loads((promoted_run / "promotion.json").read_text())
    html = (promoted_run / "report.html").read_text("utf-8")

    ids, text = parse_report(promoted_run / "report.html")
    document = PromotionDocument.model_validate(evidence)

    assert "Nothing was promoted" in text and "0 of " in text
    assert {"search", "evidence", "sign-off"} <= ids
    representatives = {cluster.representative for cluster in document.clusters or []}
    assert representatives and len(representatives) <= len(document.candidates)
    for candidate in document.candidates:
        assert candidate.id in text  # every member is listed under its cluster
        if candidate.id not in representatives:
            continue  # one full section per cluster of near-identical candidates
        assert f"candidate-{candidate.id}" in ids and f"gates-{candidate.id}" in ids
        for gate in candidate.gates:
            if not gate.passed:
                explanation = " ".join(gate_explanation(gate, document, candidate).split())
                assert explanation in text, explanation
    assert "<script src" not in html and "<link" not in html and 'src="http' not in html


def test_random_walk_when_promoted_twice_then_identical_but_generated_at(
    promoted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = {name: (promoted_run / name).read_text() for name in ("promotion.json", "report.html")}
    stamp = json.loads(first["promotion.json"])["generated_at"]

    code, _, err = evolve_cli(capsys, "promote", str(promoted_run))

    assert code == 0, err
    again = json.loads((promoted_run / "promotion.json").read_text())["generated_at"]
    for name, text in first.items():
        assert (promoted_run / name).read_text().replace(again, "T") == text.replace(stamp, "T")


def test_random_walk_when_promoted_then_events_and_statistics_recorded(
    promoted_run: Path,
) -> None:
    evidence = strict_json(promoted_run / "promotion.json")
    events = [e for e in read_events(promoted_run / "events.jsonl") if "promotion" in e["event"]]
    search = evidence["search"]

    assert events[0]["event"] == "promotion_started" and events[-1]["n_promoted"] == 0
    assert search["n_trials"] >= search["n_effective"] >= 2
    assert search["n_effective_average_correlation"] > 0 and search["periods"] == "day"
    assert search["expected_max_sharpe"] > 0 and search["pbo"]["n_combinations"] > 0
    assert set(search["spa"]["benchmark"]) == {"flat", "buy_and_hold"}


def test_report_when_hall_of_fame_changed_after_promotion_then_warns_to_promote_again(
    promoted_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(promoted_run, run_dir)
    code, _, err = evolve_cli(capsys, "report", str(run_dir))
    assert code == 0 and "warning" not in err
    hall = json.loads((run_dir / "hall_of_fame.json").read_text())
    hall["members"] = hall["members"][:-1]  # as if an extension had changed the hall of fame
    (run_dir / "hall_of_fame.json").write_text(json.dumps(hall), "utf-8")

    code, _, err = evolve_cli(capsys, "report", str(run_dir))

    assert code == 0
    assert "warning: promotion.json judged" in err and f"evolve promote {run_dir}" in err
