"""PSR, DSR, expected maximum Sharpe, MinTRL, MinBTL and haircuts against published numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitness.errors import DataError
from fitness.stats.sharpe import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    haircut_sharpe,
    min_backtest_length_years,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    sample_moments,
    sharpe_per_period,
)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def test_expected_max_sharpe_when_ten_trials_unit_variance_then_ams_paper_value() -> None:
    assert expected_max_sharpe(10, 1.0) == pytest.approx(1.575, abs=2e-3)


def test_expected_max_sharpe_when_dsr_paper_example_then_sr0_is_0_1132() -> None:
    # 100 trials, annual V[SR] = 0.5 at 250 periods per year (STATISTICS.md §1.3)
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=5e-4)


def test_deflated_sharpe_ratio_when_dsr_paper_example_then_0_9004() -> None:
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)

    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_deflated_sharpe_ratio_when_252_periods_then_differs_from_paper() -> None:
    # the paper's number needs 250 periods per year; 252 gives 0.8997 (STATISTICS.md §1.3)
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(252), 1250, -3.0, 10.0, 100, 0.5 / 252)

    assert dsr == pytest.approx(0.8997, abs=5e-4)


def test_deflated_sharpe_ratio_when_computed_by_hand_then_equal() -> None:
    sr, n_obs, skew, kurtosis, n_trials, variance = 0.12, 500, -0.5, 6.0, 20, 0.002
    gamma = 0.5772156649015329
    quantile = _inverse_phi(1 - 1 / n_trials)
    quantile_e = _inverse_phi(1 - 1 / (n_trials * math.e))
    sr_zero = math.sqrt(variance) * ((1 - gamma) * quantile + gamma * quantile_e)
    denominator = math.sqrt(1 - skew * sr + (kurtosis - 1) / 4 * sr**2)
    expected = _phi((sr - sr_zero) * math.sqrt(n_obs - 1) / denominator)

    assert deflated_sharpe_ratio(sr, n_obs, skew, kurtosis, n_trials, variance) == pytest.approx(
        expected, abs=1e-9
    )


def _inverse_phi(p: float) -> float:
    # bisection on the erf-based CDF: an independent route to Z⁻¹
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if _phi(middle) < p else (low, middle)
    return (low + high) / 2


def test_probabilistic_sharpe_ratio_when_computed_by_hand_then_equal() -> None:
    # SR 0.1, T 101, Gaussian: z = 0.1·10 / sqrt(1 + 0.5·0.01) = 0.99751...
    z = 0.1 * 10.0 / math.sqrt(1.005)

    assert probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0) == pytest.approx(_phi(z), abs=1e-12)
    assert z == pytest.approx(0.997509, abs=1e-6)


def test_probabilistic_sharpe_ratio_when_benchmark_equals_sr_then_exactly_half() -> None:
    assert probabilistic_sharpe_ratio(0.37, 250, -1.2, 7.5, sr_benchmark=0.37) == 0.5


def test_probabilistic_sharpe_ratio_when_negative_skew_fat_tails_then_lower() -> None:
    gaussian = probabilistic_sharpe_ratio(0.1, 300, 0.0, 3.0)

    assert probabilistic_sharpe_ratio(0.1, 300, -2.0, 12.0) < gaussian


def test_probabilistic_sharpe_ratio_when_excess_kurtosis_passed_then_clear_error() -> None:
    with pytest.raises(ValueError, match="non-excess"):
        probabilistic_sharpe_ratio(0.1, 300, 0.0, 0.0)


def test_min_track_record_length_when_gaussian_sr_0_1_then_273_periods() -> None:
    periods = min_track_record_length(0.1, 0.0, 3.0)

    # 1 + 1.005·(1.6449/0.1)² = 272.907: a count is rounded up
    assert periods == pytest.approx(272.907, abs=1e-3)
    assert math.ceil(periods) == 273


def test_min_track_record_length_when_sr_not_above_benchmark_then_infinite() -> None:
    assert min_track_record_length(0.05, 0.0, 3.0, sr_benchmark=0.05) == math.inf


def test_min_track_record_length_when_psr_evaluated_there_then_confidence() -> None:
    periods = min_track_record_length(0.2, -1.0, 8.0, confidence=0.9)

    z = 0.2 * math.sqrt(periods - 1) / math.sqrt(1 + 1.0 * 0.2 + 7 / 4 * 0.04)
    assert _phi(z) == pytest.approx(0.9, abs=1e-9)


def test_min_backtest_length_years_when_45_trials_target_1_then_5_years() -> None:
    assert min_backtest_length_years(45, 1.0) == pytest.approx(5.00, abs=5e-3)


def test_min_backtest_length_years_when_compared_with_upper_bound_then_below() -> None:
    assert min_backtest_length_years(1000, 1.5) < 2 * math.log(1000) / 1.5**2


def test_expected_max_sharpe_when_one_trial_then_zero() -> None:
    assert expected_max_sharpe(1, 4.0) == 0.0


def test_expected_max_sharpe_when_monte_carlo_then_close_and_conservative() -> None:
    rng = np.random.default_rng(7)
    maxima = rng.standard_normal((4000, 100)).max(axis=1)

    analytic = expected_max_sharpe(100, 1.0)

    assert analytic == pytest.approx(maxima.mean(), abs=0.05)


def test_sharpe_per_period_when_constant_then_zero() -> None:
    assert sharpe_per_period([0.01, 0.01, 0.01]) == 0.0


def test_sharpe_per_period_when_hand_values_then_mean_over_sample_std() -> None:
    # mean 0.02, deviations (-0.01, 0, 0.01): std(ddof=1) = 0.01
    assert sharpe_per_period([0.01, 0.02, 0.03]) == pytest.approx(2.0, rel=1e-12)


def test_sharpe_per_period_when_nan_then_data_error_names_index() -> None:
    with pytest.raises(DataError, match="index 2"):
        sharpe_per_period([0.01, 0.02, float("nan")])


def test_sample_moments_when_naive_loop_then_equal() -> None:
    rng = np.random.default_rng(3)
    returns = rng.standard_t(4, 400) * 0.01
    n = len(returns)
    mean = sum(returns) / n
    m2 = sum((r - mean) ** 2 for r in returns) / n
    m3 = sum((r - mean) ** 3 for r in returns) / n
    m4 = sum((r - mean) ** 4 for r in returns) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1))

    moments = sample_moments(returns)

    assert moments.sharpe == pytest.approx(mean / std, rel=1e-10)
    assert moments.skew == pytest.approx(m3 / m2**1.5, rel=1e-10)
    assert moments.kurtosis == pytest.approx(m4 / m2**2, rel=1e-10)
    assert moments.n_obs == n


def test_sample_moments_when_gaussian_then_kurtosis_near_three() -> None:
    returns = np.random.default_rng(11).normal(0, 1, 200_000)

    assert sample_moments(returns).kurtosis == pytest.approx(3.0, abs=0.05)


def test_haircut_sharpe_when_bonferroni_example_then_0_448() -> None:
    result = haircut_sharpe(1.0, 10.0, 100, "bonferroni")

    assert result.adjusted_annual_sharpe == pytest.approx(0.448, abs=1e-3)
    assert result.haircut == pytest.approx(0.552, abs=1e-3)
    assert result.t_statistic == pytest.approx(math.sqrt(10))


def test_haircut_sharpe_when_one_test_then_no_haircut() -> None:
    for method in ("bonferroni", "holm", "bhy"):
        result = haircut_sharpe(1.3, 4.0, 1, method)

        assert result.adjusted_annual_sharpe == pytest.approx(1.3, rel=1e-9)


def test_haircut_sharpe_when_others_unknown_then_holm_is_bonferroni_and_bhy_stricter() -> None:
    bonferroni = haircut_sharpe(1.5, 8.0, 50, "bonferroni").adjusted_annual_sharpe
    holm = haircut_sharpe(1.5, 8.0, 50, "holm").adjusted_annual_sharpe
    bhy = haircut_sharpe(1.5, 8.0, 50, "bhy").adjusted_annual_sharpe

    assert holm == pytest.approx(bonferroni, rel=1e-12)
    assert bhy < bonferroni


def test_haircut_sharpe_when_other_p_values_given_then_hand_holm_and_bhy() -> None:
    # family (ours first): p = [p0, 0.001, 0.02, 0.5]; p0 = erfc(2/sqrt(2)) = 0.0455 (t = 2)
    p0 = math.erfc(2.0 / math.sqrt(2.0))
    others = [0.001, 0.02, 0.5]
    # Holm: sorted 0.001, 0.02, p0, 0.5 -> ours rank 3: max(4·0.001, 3·0.02, 2·p0)
    holm_expected = max(4 * 0.001, 3 * 0.02, 2 * p0)
    # BHY: c(4) = 25/12; ours rank 3: min(4c/3·p0, 4c/4·0.5)
    c = 1 + 1 / 2 + 1 / 3 + 1 / 4
    bhy_expected = min(4 * c / 3 * p0, 4 * c / 4 * 0.5, 1.0)

    holm = haircut_sharpe(1.0, 4.0, 4, "holm", other_p_values=others)
    bhy = haircut_sharpe(1.0, 4.0, 4, "bhy", other_p_values=others)

    assert holm.p_value == pytest.approx(p0, rel=1e-12)
    assert holm.adjusted_p_value == pytest.approx(holm_expected, rel=1e-12)
    assert bhy.adjusted_p_value == pytest.approx(bhy_expected, rel=1e-12)


def test_haircut_sharpe_when_marginal_then_cut_more_than_strong() -> None:
    marginal = haircut_sharpe(0.6, 10.0, 100, "bonferroni").haircut
    strong = haircut_sharpe(2.0, 10.0, 100, "bonferroni").haircut

    assert marginal > strong


def test_haircut_sharpe_when_huge_t_then_finite_and_small_haircut() -> None:
    result = haircut_sharpe(20.0, 25.0, 1000, "bhy")

    assert math.isfinite(result.adjusted_annual_sharpe)
    assert 0.0 <= result.haircut < 0.1


def test_haircut_sharpe_when_unknown_method_then_error() -> None:
    with pytest.raises(ValueError, match="method"):
        haircut_sharpe(1.0, 10.0, 100, "sidak")  # type: ignore[arg-type]


def test_sample_moments_when_two_values_then_kurtosis_on_pearsons_bound_and_mintrl_finite() -> None:
    # a symmetric pair has kurtosis exactly 1 (skew 0); computed naively it rounds to
    # 0.9999999999999999 here, which the MinTRL/PSR variance term used to reject (a crash of
    # `evolve promote` on a candidate with two holdout trades)
    pair = np.array([0.001257302210933933, -0.0013210486329130189])
    centred = pair - pair.mean()
    naive = float(np.mean(centred**4)) / float(np.mean(centred**2)) ** 2
    assert naive < 1.0  # the rounding this test is about

    moments = sample_moments(pair)

    assert moments.kurtosis == pytest.approx(1.0, abs=1e-12)
    assert moments.kurtosis >= 1.0 + moments.skew**2
    assert math.isfinite(
        min_track_record_length(0.5, moments.skew, moments.kurtosis, sr_benchmark=0.0)
    )
