"""Effective number of trials: leader clustering of return streams and the ρ̄ shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from fitness.errors import DataError
from fitness.stats.sharpe import effective_trials


def test_effective_trials_when_copies_of_three_streams_then_three_clusters() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 0.01, (400, 3))
    columns = np.repeat(base, 40, axis=1) + rng.normal(0.0, 0.003, (400, 120))
    permutation = rng.permutation(120)

    result = effective_trials(columns[:, permutation])

    assert result.n_effective == 3
    assert result.n_trials == 120
    # members of one cluster come from one base stream
    origin = np.repeat(np.arange(3), 40)[permutation]
    for label in range(3):
        assert len(set(origin[result.labels == label].tolist())) == 1
    # the shortcut sees ρ̄ ≈ 1/3·0.92 and so far more than 3 trials: a cross-check, not N
    assert result.n_effective_average_correlation > 3


def test_effective_trials_when_independent_float32_streams_then_about_m() -> None:
    streams = np.random.default_rng(1).normal(0.0, 0.01, (300, 250)).astype(np.float32)

    result = effective_trials(streams)

    assert result.n_effective == 250
    assert result.average_correlation == pytest.approx(0.0, abs=0.01)
    assert result.n_effective_average_correlation == pytest.approx(250, rel=0.02)


def test_effective_trials_when_hand_built_then_leader_order_and_ivp_representative() -> None:
    # columns: a, b (= a + small noise), c (independent), 2·a (same correlation as a)
    rng = np.random.default_rng(2)
    a = rng.normal(0.001, 0.01, 200)
    b = a + rng.normal(0.0, 0.001, 200)
    c = rng.normal(0.0, 0.01, 200)
    columns = np.column_stack([a, b, c, 2.0 * a])

    result = effective_trials(columns, threshold=0.9)

    assert result.labels.tolist() == [0, 0, 1, 0]
    assert result.leaders.tolist() == [0, 2]
    weights = 1.0 / np.array([a.var(ddof=1), b.var(ddof=1), (2 * a).var(ddof=1)])
    combined = (weights[0] * a + weights[1] * b + weights[2] * 2 * a) / weights.sum()
    expected = [combined.mean() / combined.std(ddof=1), c.mean() / c.std(ddof=1)]
    np.testing.assert_allclose(result.representative_sharpe, expected, rtol=1e-9)
    assert result.sharpe_variance == pytest.approx(np.var(expected, ddof=1), rel=1e-9)


def test_effective_trials_when_constant_streams_then_one_flat_cluster() -> None:
    rng = np.random.default_rng(3)
    columns = np.column_stack([np.zeros(100), rng.normal(size=100), np.zeros(100), np.ones(100)])

    result = effective_trials(columns)

    assert result.n_effective == 2
    assert result.labels.tolist() == [0, 1, 0, 0]
    assert result.representative_sharpe[0] == 0.0


def test_effective_trials_when_many_trials_then_chunked_and_sampled_rho() -> None:
    # 2,000 trials over 10 streams: crosses chunk boundaries and uses sampled pairs for ρ̄
    rng = np.random.default_rng(4)
    base = rng.normal(0.0, 0.01, (150, 10))
    columns = np.repeat(base, 200, axis=1) + rng.normal(0.0, 0.002, (150, 2000))

    result = effective_trials(columns.astype(np.float32))

    assert result.n_effective == 10
    exact_rho = 0.1 * 0.96  # same-stream pairs ≈ 0.96, others ≈ 0
    assert result.average_correlation == pytest.approx(exact_rho, abs=0.03)


def test_effective_trials_when_same_input_then_identical_output() -> None:
    columns = np.random.default_rng(5).normal(size=(80, 300))

    first, second = effective_trials(columns), effective_trials(columns)

    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.average_correlation == second.average_correlation


def test_effective_trials_when_nan_then_data_error_names_cell() -> None:
    columns = np.zeros((10, 3))
    columns[4, 1] = np.nan

    with pytest.raises(DataError, match="row 4, column 1"):
        effective_trials(columns)
