"""The calibration benchmark's machinery, once, on tiny inputs (benchmarks.calibration)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from benchmarks import calibration, calibration_report
from benchmarks.calibration_markets import NULLS, PLANTED, last_settled


def test_wilson_upper_when_zero_of_73_then_below_5_percent() -> None:
    assert calibration_report.wilson_upper(0, 73) < 0.05 < calibration_report.wilson_upper(0, 72)
    assert calibration_report.wilson_upper(5, 20) == pytest.approx(0.4687, abs=1e-4)  # by hand


def test_markets_when_same_seed_then_same_bytes_and_hourly_settled_funding() -> None:
    for maker in NULLS.values():
        first, second = maker(24 * 30, 3), maker(24 * 30, 3)
        assert np.array_equal(first.close, second.close)
        assert np.count_nonzero(first.funding_rate) == 30 * 3
    for maker in PLANTED.values():
        assert np.array_equal(maker(24 * 30, 3, 1e-3).close, maker(24 * 30, 3, 1e-3).close)


def test_last_settled_when_funding_settles_every_8_hours_then_previous_rate_holds() -> None:
    funding = np.zeros(24)
    funding[[0, 8, 16]] = [1.0, 2.0, 3.0]

    held = last_settled(funding)

    assert held[0] == pytest.approx(1e-4) and held[1] == 1.0 and held[8] == 1.0
    assert held[9] == 2.0 and held[23] == 3.0


@pytest.mark.slow
def test_calibration_when_one_null_and_one_planted_dataset_then_outcomes_and_table(
    tmp_path: Path,
) -> None:
    budget = calibration.Budget(24 * 200, 12, 1, 1, 1, (6.0,))
    shared = {"budget": asdict(budget), "work": str(tmp_path)}
    tasks = [
        {**shared, "kind": "null", "family": "garch", "seed": 1, "strength": 0.0},
        {
            **shared,
            "kind": "planted",
            "family": "trend",
            "seed": 2,
            "strength": 2e-3,
            "target_t": 6.0,
        },
    ]

    results = [calibration.run_dataset(task) for task in tasks]

    assert all("error" not in r for r in results)
    assert results[0]["n_candidates"] >= 1 and results[0]["n_clusters"] >= 1
    assert results[1]["oracle_t"] > 3.0
    assert all("oracle_correlation" in c for c in results[1]["candidates"])
    text = calibration.table(results)
    assert "Wilson upper bound" in text and "| trend | 6 |" in text
    assert "stitched dsr>=0.05, family all" in calibration.what_if_table(results)
    assert all("stitched_dsr" in c["selection"] for r in results for c in r["candidates"])
    assert all("stitched_moments" in c["selection"] for r in results for c in r["candidates"])
    # the recorded moments rebuild the gated DSR (the run's own V[SR_n] method)
    rebuilt = calibration_report.Choice("stitched", 0.0, True, variance="estimation")
    for r in results:
        for c in r["candidates"]:
            recorded = c["selection"]["stitched_dsr"]
            value = calibration_report.selection_dsr(c, r, rebuilt)
            assert (value is None) == (recorded is None)
            assert value is None or value == pytest.approx(recorded, rel=1e-9, abs=1e-12)


def test_calibrate_strengths_when_searched_on_the_dataset_then_its_oracle_t_is_the_target() -> None:
    n_bars, seed = 24 * 200, 7
    strengths = calibration.calibrate_strengths("funding", n_bars, seed, (2.0, 4.0))

    for target, strength in strengths.items():
        assert calibration._dataset_t("funding", n_bars, seed, strength) == pytest.approx(
            target, abs=0.05
        )
    assert strengths[2.0] < strengths[4.0]


def test_rejudge_when_family_is_the_selected_clusters_then_holm_runs_over_fewer_tests() -> None:
    def candidate(cluster: int, dsr: float, psr: float) -> dict:
        gates = {"dsr": [dsr, 0.05, True], "psr": [psr, 0.95, True], "pbo": [0.1, 0.2, True]}
        return {
            "cluster": cluster,
            "gates": gates,
            "selection": {"stitched_dsr": dsr, "validation_dsr": dsr},
        }

    # psr 0.985: p = 0.015 > 0.05 / 4 (four clusters) but < 0.05 / 1 (one selected cluster)
    result = {
        "candidates": [candidate(0, 0.9, 0.985)] + [candidate(k, 0.0, 0.5) for k in (1, 2, 3)]
    }
    everyone = calibration_report.Choice("stitched", 0.05, selected_family=False)
    selected = calibration_report.Choice("stitched", 0.05, selected_family=True)

    assert calibration_report.rejudge(result, everyone) == []
    assert calibration_report.rejudge(result, selected) == [result["candidates"][0]]


def test_selection_dsr_when_estimation_variance_chosen_then_paper_example_0_9004() -> None:
    # the DSR paper's example (STATISTICS.md §1.3): SR 2.5 and V 1/2 annualised at 250 days,
    # T 1,250, skew -3, kurtosis 10, N 100 -> DSR 0.9004; the "trials" variance is a decoy
    candidate = {"selection": {"stitched_moments": [2.5 / 250**0.5, 1250, -3.0, 10.0]}}
    result = {
        "n_effective": 100.0,
        "stitched": {"sharpe_variance_estimation": 0.5 / 250, "sharpe_variance_trials": 1.0},
    }
    estimation = calibration_report.Choice("stitched", 0.95, True, variance="estimation")
    recorded = calibration_report.Choice("stitched", 0.95, True)

    value = calibration_report.selection_dsr(candidate, result, estimation)

    assert value == pytest.approx(0.9004, abs=1e-4)
    assert calibration_report.selection_dsr(candidate, result, recorded) is None
    assert estimation.label() == "stitched V=estimation dsr>=0.95, family selected"


def test_what_if_when_a_pass_lacks_moments_then_left_out_of_the_recomputed_rows() -> None:
    def null(seed: int, moments: bool) -> dict:
        selection = {"stitched_dsr": 0.0} | ({"stitched_moments": None} if moments else {})
        gates = {"dsr": [0.0, 0.95, False], "psr": [0.5, 0.95, False]}
        candidate = {"cluster": 0, "gates": gates, "selection": selection, "promoted": False}
        return {"kind": "null", "family": "garch", "seed": seed, "candidates": [candidate]}

    results = [null(1, True), null(2, False), null(3, False)]
    recomputed = calibration_report.Choice("stitched", 0.5, True, variance="estimation")
    recorded = calibration_report.Choice("stitched", 0.5, True)

    assert calibration_report.what_if(results, recomputed)["n_null"] == 1
    assert calibration_report.what_if(results, recorded)["n_null"] == 3


def test_report_main_when_two_passes_then_one_table_over_their_union(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def null(seed: int, promoted: list[str]) -> str:
        record = {"kind": "null", "family": "garch", "seed": seed, "promoted": promoted}
        return json.dumps(record | {"candidates": []}) + "\n"

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(null(100, []) + null(101, ["x"]), "utf-8")
    second.write_text(null(2100, []), "utf-8")

    assert calibration_report.main([str(first), str(second)]) == 0
    assert "False-promotion rate: 1/3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as no_file:  # argparse: usage and the error on stderr
        calibration_report.main([])
    assert no_file.value.code == 2
    assert "required: RESULTS.jsonl" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(null(1, []) + "{not json\n", "utf-8")
    assert calibration_report.main([str(broken)]) == 2
    assert f"{broken}: line 2: not JSON" in capsys.readouterr().err
    assert calibration_report.main([str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: cannot read" in capsys.readouterr().err
