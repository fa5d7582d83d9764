"""Decay statistics: lower CUSUM, Sharpe consistency, running drawdown, each checked twice."""

from __future__ import annotations

import numpy as np
import pytest

from fitness import DataError
from fitness.stats.monitoring import lower_cusum, running_drawdown, sharpe_consistency
from fitness.stats.sharpe import probabilistic_sharpe_ratio, sample_moments


def test_lower_cusum_when_random_returns_then_equals_walk_minus_running_minimum() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.001, 0.02, 400)
    mean, std, k, h = 0.004, 0.02, 0.25, 6.0
    result = lower_cusum(returns, mean, std, k=k, h=h)

    # S_t = max(0, S_{t-1} + y_t) is the walk Y_t minus its running minimum (Y_0 = 0)
    walk = np.concatenate(([0.0], np.cumsum(-(returns - mean) / std - k)))
    path = walk - np.minimum.accumulate(walk)
    assert result.statistic == pytest.approx(path[-1], abs=1e-9)
    assert result.peak == pytest.approx(path.max(), abs=1e-9)
    over = np.flatnonzero(path[1:] > h)
    assert result.alarm_index == (int(over[0]) if over.size else None)


def test_lower_cusum_when_returns_above_mean_then_never_alarms() -> None:
    result = lower_cusum(np.full(1000, 0.01), 0.0, 0.01, k=0.0, h=0.5)
    assert result.statistic == 0.0 and result.alarm_index is None


def test_lower_cusum_when_deviation_is_zero_then_data_error() -> None:
    with pytest.raises(DataError, match="deviation > 0"):
        lower_cusum([0.0, 0.1], 0.0, 0.0, k=0.25, h=5.0)


def test_sharpe_consistency_when_gaussian_shape_then_is_one_minus_psr_of_backtest() -> None:
    for observed, expected, n in ((0.05, 0.2, 60), (0.3, 0.1, 30), (-0.1, 0.15, 200)):
        p = sharpe_consistency(observed, n, expected, 0.0, 3.0)
        assert p == pytest.approx(
            1.0 - probabilistic_sharpe_ratio(expected, n, 0.0, 3.0, sr_benchmark=observed)
        )
    assert sharpe_consistency(0.2, 50, 0.2, -1.0, 8.0) == 0.5


def test_sharpe_consistency_when_drawn_from_the_backtest_then_5_percent_fall_below() -> None:
    rng = np.random.default_rng(11)
    n_days, true_sr = 90, 0.15
    values = []
    for _ in range(2000):
        record = rng.normal(true_sr, 1.0, n_days)
        values.append(sharpe_consistency(sample_moments(record).sharpe, n_days, true_sr, 0.0, 3.0))
    assert np.mean(np.asarray(values) < 0.05) == pytest.approx(0.05, abs=0.015)


def test_running_drawdown_when_path_then_last_against_peak() -> None:
    assert running_drawdown([100.0, 120.0, 90.0], 100.0) == pytest.approx(0.25)
    assert running_drawdown([90.0, 95.0], 100.0) == pytest.approx(0.05)
    assert running_drawdown([], 100.0) == 0.0
