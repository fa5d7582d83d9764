"""Stationary bootstrap, block length, Hansen's SPA (studentised) and bootstrap drawdowns."""

from __future__ import annotations

import numpy as np
import pytest

from fitness.errors import DataError
from fitness.stats.bootstrap import _max_drawdowns
from fitness.stats.sharpe import (
    bootstrap_drawdown_quantile,
    optimal_block_length,
    spa_test,
    stationary_bootstrap_indices,
)


def _block_lengths(indices: np.ndarray, n: int) -> list[int]:
    lengths, current = [], 1
    for previous, index in zip(indices[:-1].tolist(), indices[1:].tolist(), strict=True):
        if index == (previous + 1) % n:
            current += 1
        else:
            lengths.append(current)
            current = 1
    return lengths  # the last (truncated) block is left out


def test_stationary_bootstrap_indices_when_mean_block_8_then_mean_length_8() -> None:
    n = 100_000
    indices = stationary_bootstrap_indices(n, 8.0, np.random.default_rng(0))

    lengths = _block_lengths(indices, n)

    assert indices.dtype == np.int64 and indices.shape == (n,)
    assert indices.min() >= 0 and indices.max() < n
    # a new block may restart at previous + 1 by chance (prob 1/n): negligible here
    assert np.mean(lengths) == pytest.approx(8.0, rel=0.05)


def test_stationary_bootstrap_indices_when_mean_block_1_then_iid_uniform() -> None:
    indices = stationary_bootstrap_indices(10, 1.0, np.random.default_rng(1), n_resamples=20_000)

    counts = np.bincount(indices.ravel(), minlength=10) / indices.size

    assert indices.shape == (20_000, 10)
    np.testing.assert_allclose(counts, 0.1, atol=0.005)


def test_stationary_bootstrap_indices_when_same_seed_then_identical() -> None:
    first = stationary_bootstrap_indices(500, 5.0, np.random.default_rng(3), n_resamples=4)
    second = stationary_bootstrap_indices(500, 5.0, np.random.default_rng(3), n_resamples=4)

    np.testing.assert_array_equal(first, second)


def test_stationary_bootstrap_indices_when_seed_not_generator_then_type_error() -> None:
    with pytest.raises(TypeError, match="Generator"):
        stationary_bootstrap_indices(10, 2.0, 42)  # type: ignore[arg-type]


def _ar1(phi: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    values = np.zeros(n)
    for t in range(1, n):
        values[t] = phi * values[t - 1] + noise[t]
    return values


def test_optimal_block_length_when_ar1_then_near_theory() -> None:
    # stationary bootstrap optimum for AR(1): (2φ/(1-φ²))^(2/3)·n^(1/3); φ=0.5, n=4000 -> 19.2
    theory = (2 * 0.5 / (1 - 0.25)) ** (2 / 3) * 4000 ** (1 / 3)

    estimates = [optimal_block_length(_ar1(0.5, 4000, seed)) for seed in range(5)]

    assert np.median(estimates) == pytest.approx(theory, rel=0.35)


def test_optimal_block_length_when_white_noise_then_short_blocks() -> None:
    noise = np.random.default_rng(2).standard_normal(4000)

    assert 1.0 <= optimal_block_length(noise) < 4.0


def test_optimal_block_length_when_matrix_then_per_column() -> None:
    matrix = np.column_stack([_ar1(0.5, 1000, 1), np.random.default_rng(1).normal(size=1000)])

    lengths = optimal_block_length(matrix)

    assert lengths.shape == (2,)
    assert lengths[0] == pytest.approx(optimal_block_length(matrix[:, 0]))
    assert lengths[0] > lengths[1]


def test_spa_test_when_all_models_noise_then_p_values_not_small() -> None:
    rng = np.random.default_rng(10)
    models = rng.normal(0.0, 0.01, (500, 20))

    result = spa_test(np.zeros(500), models, 200, rng=rng)

    assert result.p_lower <= result.p_consistent <= result.p_upper
    assert result.p_consistent > 0.05


def test_spa_test_when_null_repeated_then_rejection_rate_at_most_15_percent() -> None:
    rejections = 0
    for seed in range(30):
        rng = np.random.default_rng(1000 + seed)
        models = rng.normal(0.0, 0.01, (300, 10))
        rejections += spa_test(np.zeros(300), models, 200, rng=rng).p_consistent < 0.05

    assert rejections / 30 <= 0.15


def test_spa_test_when_real_edge_then_p_below_0_05() -> None:
    rng = np.random.default_rng(11)
    models = rng.normal(0.0, 0.01, (1000, 10))
    models[:, 3] += 0.0015  # t ≈ 4.7

    result = spa_test(np.zeros(1000), models, 200, rng=rng)

    assert result.p_consistent < 0.05


def test_spa_test_when_edge_beside_high_volatility_rule_then_studentised_detects_it() -> None:
    # STATISTICS.md §4: a low-volatility rule with a real edge (t ≈ 4) next to an irrelevant
    # high-volatility rule; only the studentised statistic sees the edge
    rng = np.random.default_rng(12)
    n = 1000
    edge = rng.normal(0.0, 0.003, n)
    edge += 4.0 * 0.003 / np.sqrt(n) - edge.mean()  # sample t-statistic exactly 4 (approx.)
    irrelevant = rng.normal(0.0, 0.05, n)
    models = np.column_stack([edge, irrelevant])

    studentised = spa_test(np.zeros(n), models, 300, rng=np.random.default_rng(1))
    raw = spa_test(np.zeros(n), models, 300, rng=np.random.default_rng(1), studentize=False)

    assert studentised.p_consistent < 0.01
    assert raw.p_consistent > 0.05
    assert studentised.statistic != raw.statistic


def test_spa_test_when_buy_and_hold_benchmark_then_differential_used() -> None:
    # a model equal to the benchmark plus a constant-free noise column: never significant
    rng = np.random.default_rng(13)
    market = rng.normal(0.001, 0.02, 400)
    models = np.column_stack([market, market + rng.normal(0.0, 0.001, 400)])

    result = spa_test(market, models, 200, rng=rng)

    assert result.p_consistent > 0.05


def test_spa_test_when_mismatched_lengths_then_data_error() -> None:
    with pytest.raises(DataError, match="n_bars"):
        spa_test(np.zeros(50), np.zeros((49, 2)), 10, rng=np.random.default_rng(0))


def test_max_drawdowns_when_naive_loop_then_equal() -> None:
    rng = np.random.default_rng(14)
    rows = rng.normal(0.0, 0.03, (5, 60))
    expected = []
    for row in rows:
        equity, peak, worst = 1.0, 1.0, 0.0
        for value in row:
            equity *= 1.0 + value
            peak = max(peak, equity)
            worst = max(worst, 1.0 - equity / peak)
        expected.append(worst)

    np.testing.assert_allclose(_max_drawdowns(rows), expected, rtol=1e-12)


def test_bootstrap_drawdown_quantile_when_trending_series_then_at_least_realised() -> None:
    rng = np.random.default_rng(15)
    returns = 0.002 + rng.normal(0.0, 0.01, 500)
    realised = _max_drawdowns(returns[None, :])[0]

    quantile = bootstrap_drawdown_quantile(returns, 0.95, 200, rng=rng)

    assert quantile >= realised


def test_bootstrap_drawdown_quantile_when_all_returns_positive_then_zero() -> None:
    returns = np.full(50, 0.001)

    assert bootstrap_drawdown_quantile(returns, 0.95, 50, 5.0, rng=np.random.default_rng(0)) == 0


def test_bootstrap_drawdown_quantile_when_return_below_minus_one_then_data_error() -> None:
    returns = np.zeros(20)
    returns[7] = -1.5

    with pytest.raises(DataError, match="index 7"):
        bootstrap_drawdown_quantile(returns, rng=np.random.default_rng(0))
