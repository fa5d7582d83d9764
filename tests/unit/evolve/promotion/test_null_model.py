"""Null-model surrogates: day-aligned circular block bootstrap of bars, and the null run config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evolve.config import RunConfig
from evolve.promotion.null_model import null_run_config, surrogate_series
from fitness import DataError
from tests.synthetic_markets import planted_edge_series, random_walk_series

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def _source_of_each_bar(original, surrogate) -> np.ndarray:
    # every original log return is distinct (continuous noise), so each surrogate return
    # identifies the source bar it was copied from (bar 0's return is its open-to-close)
    first = np.log(original.close[0] / original.open[0])
    source = np.concatenate(([first], _log_returns(original.close)))
    order = np.argsort(source)
    wanted = _log_returns(surrogate.close)
    positions = np.searchsorted(source[order], wanted)
    positions = np.clip(positions, 1, len(order) - 1)  # neighbours of the insertion point
    left, right = order[positions - 1], order[positions]
    best = np.where(np.abs(source[left] - wanted) < np.abs(source[right] - wanted), left, right)
    assert np.max(np.abs(source[best] - wanted)) < 1e-9
    return np.concatenate(([-1], best))


@pytest.mark.parametrize("offset_bars", [0, 5])
def test_surrogate_when_built_then_same_timestamps_and_bars_come_from_same_hour(
    offset_bars: int,
) -> None:
    original = random_walk_series(24 * 60 + 7, 3).slice(offset_bars, 24 * 60 + 7)

    surrogate = surrogate_series(original, np.random.default_rng(1), block_days=3)

    np.testing.assert_array_equal(surrogate.timestamp, original.timestamp)
    assert surrogate.close[0] == original.close[0]
    source = _source_of_each_bar(original, surrogate)[1:]
    destination = np.arange(1, len(original))
    hours = (original.timestamp % DAY_MS) // HOUR_MS
    np.testing.assert_array_equal(hours[source], hours[destination])


def test_surrogate_when_built_then_blocks_are_runs_of_consecutive_source_bars() -> None:
    original = random_walk_series(24 * 40, 4)
    block_bars = 2 * 24

    surrogate = surrogate_series(original, np.random.default_rng(2), block_days=2)

    source = _source_of_each_bar(original, surrogate)
    for t in range(2, len(original)):
        if t % block_bars == 0:
            continue  # a new block starts on a block boundary
        wrapped = source[t - 1] == len(original) - 1 and source[t] == 0
        assert source[t] == source[t - 1] + 1 or wrapped, t
    assert len({source[k * block_bars + 1] for k in range(20)}) > 5  # blocks move around


def test_surrogate_when_built_then_shape_volume_and_funding_travel_with_the_bar() -> None:
    original = random_walk_series(24 * 30, 5)

    surrogate = surrogate_series(original, np.random.default_rng(3), block_days=1)

    source = _source_of_each_bar(original, surrogate)[1:]
    bars = np.arange(1, len(original))
    for column in ("open", "high", "low"):
        expected = (getattr(original, column) / original.close)[source]
        actual = (getattr(surrogate, column) / surrogate.close)[bars]
        np.testing.assert_allclose(actual, expected, rtol=1e-12)
    np.testing.assert_array_equal(surrogate.volume[bars], original.volume[source])
    np.testing.assert_array_equal(surrogate.funding_rate[bars], original.funding_rate[source])


def test_surrogate_when_built_then_funding_stays_on_settlement_bars() -> None:
    original = random_walk_series(24 * 50 + 11, 6).slice(3, 24 * 50 + 11)

    surrogate = surrogate_series(original, np.random.default_rng(4), block_days=7)

    settles = surrogate.timestamp % (8 * HOUR_MS) == 0
    assert np.all(surrogate.funding_rate[~settles] == 0.0)
    assert np.count_nonzero(surrogate.funding_rate[settles]) == np.count_nonzero(settles)


def test_surrogate_when_same_seed_then_identical_and_other_seed_differs() -> None:
    original = random_walk_series(24 * 30, 7)

    first = surrogate_series(original, np.random.default_rng(9), 2)
    again = surrogate_series(original, np.random.default_rng(9), 2)
    other = surrogate_series(original, np.random.default_rng(10), 2)

    assert first.content_hash == again.content_hash != other.content_hash


def _lag_one_autocorrelation(daily: np.ndarray) -> float:
    centred = daily - daily.mean()
    return float(centred[1:] @ centred[:-1] / (centred @ centred))


def test_surrogate_when_one_day_blocks_then_trend_persistence_is_destroyed() -> None:
    original = planted_edge_series(24 * 720, 8)
    daily = np.diff(np.log(original.close[::24]))

    surrogate = surrogate_series(original, np.random.default_rng(5), block_days=1)

    shuffled = np.diff(np.log(surrogate.close[::24]))
    assert _lag_one_autocorrelation(daily) > 0.25  # the planted regimes persist for days
    assert abs(_lag_one_autocorrelation(shuffled)) < 0.1
    assert np.std(shuffled) == pytest.approx(np.std(daily), rel=0.25)


def test_surrogate_when_less_than_a_day_then_data_error() -> None:
    with pytest.raises(DataError, match="no whole UTC day"):
        surrogate_series(random_walk_series(30, 1).slice(2, 30), np.random.default_rng(0))


def test_null_run_config_when_built_then_only_data_seed_and_execution_change(
    tmp_path: Path,
) -> None:
    config = RunConfig.model_validate(
        {
            "data": {"datasets": ["a.parquet"], "start": "2024-01-01", "end": "2024-06-01"},
            "gp": {"population": 30, "generations": 4},
            "run": {"seed": 11, "workers": 1},
        }
    )

    null = null_run_config(config, ["/x/null/A", "/x/null/B"], 3, tmp_path, workers=2)

    assert null.data.datasets == ("/x/null/A", "/x/null/B")
    assert null.data.start == "" and null.data.end == ""
    assert null.run.seed == 14 and null.run.workers == 2 and null.run.runs_root == str(tmp_path)
    assert null.gp == config.gp and null.costs == config.costs and null.folds == config.folds
