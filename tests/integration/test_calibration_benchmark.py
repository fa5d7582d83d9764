"""The calibration benchmark's machinery, once, on tiny inputs (benchmarks.calibration)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from benchmarks import calibration
from benchmarks.calibration_markets import NULLS, PLANTED, last_settled


def test_wilson_upper_when_zero_of_73_then_below_5_percent() -> None:
    assert calibration.wilson_upper(0, 73) < 0.05 < calibration.wilson_upper(0, 72)
    assert calibration.wilson_upper(5, 20) == pytest.approx(0.4687, abs=1e-4)  # by hand


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
    assert "| 0.05 |" in calibration.what_if_table(results)
