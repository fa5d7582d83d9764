"""The promotion gates against hand-computed values and naive reference loops."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from evolve.promotion import gauntlet
from fitness.stats.sharpe import optimal_block_length, stationary_bootstrap_indices

PHI = NormalDist().cdf
EULER_GAMMA = 0.5772156649015329


def _naive_moments(values: list[float]) -> tuple[float, float, float]:
    n = len(values)
    mean = sum(values) / n
    sample_std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    m2 = sum((v - mean) ** 2 for v in values) / n
    m3 = sum((v - mean) ** 3 for v in values) / n
    m4 = sum((v - mean) ** 4 for v in values) / n
    return mean / sample_std, m3 / m2**1.5, m4 / m2**2


def _returns(seed: int, n: int, drift: float) -> list[float]:
    return np.random.default_rng(seed).normal(drift, 0.02, n).tolist()


# --- judge ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), None, "x"])
def test_judge_when_value_not_finite_then_fails_with_value_none(value: object) -> None:
    gate = gauntlet.judge("psr", value, 0.95, ">=", "why")

    assert gate.passed is False and gate.value is None and gate.threshold == 0.95


def test_judge_when_threshold_not_finite_then_fails() -> None:
    assert gauntlet.judge("min_trades", 500, float("inf"), ">=", "").passed is False


@pytest.mark.parametrize(
    ("value", "comparison", "passed"),
    [(0.95, ">=", True), (0.9499, ">=", False), (0.2, "<=", True), (0.7, "<", False)],
)
def test_judge_when_compared_then_passes_exactly_at_the_bound(
    value: float, comparison: str, passed: bool
) -> None:
    threshold = {">=": 0.95, "<=": 0.2, "<": 0.7}[comparison]

    assert gauntlet.judge("g", value, threshold, comparison, "").passed is passed


def test_judge_when_unknown_comparison_then_value_error() -> None:
    with pytest.raises(ValueError, match="comparison"):
        gauntlet.judge("g", 1.0, 1.0, "==", "")


# --- PSR / DSR -------------------------------------------------------------------------


def test_psr_gate_when_returns_given_then_equals_hand_formula() -> None:
    values = _returns(1, 250, 0.002)
    sharpe, skew, kurtosis = _naive_moments(values)
    expected = PHI(
        sharpe * math.sqrt(249) / math.sqrt(1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2)
    )

    gate = gauntlet.psr_gate(gauntlet.return_moments(values), 0.95)

    assert gate.value == pytest.approx(expected, rel=1e-12)
    assert gate.passed is (expected >= 0.95)


def test_dsr_gate_when_search_given_then_equals_hand_formula_with_sr0() -> None:
    values = _returns(2, 300, 0.004)
    sharpe, skew, kurtosis = _naive_moments(values)
    n_trials, variance = 50.0, 0.004
    z = NormalDist().inv_cdf
    sr0 = math.sqrt(variance) * (
        (1 - EULER_GAMMA) * z(1 - 1 / n_trials) + EULER_GAMMA * z(1 - 1 / (n_trials * math.e))
    )
    denominator = math.sqrt(1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2)
    expected = PHI((sharpe - sr0) * math.sqrt(299) / denominator)

    gate = gauntlet.dsr_gate(gauntlet.return_moments(values), n_trials, variance, 0.95)

    assert gate.value == pytest.approx(expected, rel=1e-10)
    assert f"SR0 {sr0:.3f}" in gate.detail and "N_eff 50" in gate.detail


def test_dsr_gate_when_no_holdout_days_then_fails_not_computable() -> None:
    gate = gauntlet.dsr_gate(gauntlet.return_moments([0.01]), 10.0, 0.01, 0.95)

    assert gate.passed is False and gate.value is None
    assert "not computable" in gate.detail


def test_dsr_gate_when_no_trial_record_then_fails_not_computable() -> None:
    gate = gauntlet.dsr_gate(gauntlet.return_moments(_returns(3, 50, 0.01)), math.nan, 0.0, 0.95)

    assert gate.passed is False and "no trial record" in gate.detail


def test_psr_gate_when_constant_returns_then_half_and_fails() -> None:
    gate = gauntlet.psr_gate(gauntlet.return_moments([0.0] * 30), 0.95)

    assert gate.value == 0.5 and gate.passed is False


# --- min trades (MinTRL) ----------------------------------------------------------------


def test_min_trades_gate_when_known_per_trade_sharpe_then_threshold_is_min_trl() -> None:
    # two-point trades: skewness 0, kurtosis 1, so MinTRL = 1 + (z / SR)² exactly
    trades = [0.1 + 1.0, 0.1 - 1.0] * 50
    sharpe = 0.1 / math.sqrt(100 / 99)
    expected = 1.0 + (NormalDist().inv_cdf(0.95) / sharpe) ** 2

    gate, stats = gauntlet.min_trades_gate(trades, 0.95)

    assert stats.sharpe_per_trade == pytest.approx(sharpe, rel=1e-12)
    assert gate.threshold == pytest.approx(expected, rel=1e-9)
    assert gate.value == 100 and gate.passed is False  # 100 < 272.5


def test_min_trades_gate_when_enough_trades_then_passes() -> None:
    trades = [0.5 + 1.0, 0.5 - 1.0] * 20
    sharpe = 0.5 / math.sqrt(40 / 39)  # MinTRL = 1 + (1.645 / 0.494)² = 12.1 trades

    gate, _ = gauntlet.min_trades_gate(trades, 0.95)

    assert gate.threshold == pytest.approx(1 + (1.6448536269514722 / sharpe) ** 2)
    assert gate.passed is True


def test_min_trades_gate_when_per_trade_sharpe_not_positive_then_infinite_min_trl_fails() -> None:
    gate, stats = gauntlet.min_trades_gate([-0.01, 0.005, -0.02, 0.001] * 10, 0.95)

    assert gate.passed is False and gate.threshold is None
    assert stats.min_trl_trades is None and "no number of trades" in gate.detail


@pytest.mark.parametrize("trades", [[], [0.02], [0.01, 0.01, 0.01]])
def test_min_trades_gate_when_too_few_or_identical_trades_then_fails_not_computable(
    trades: list[float],
) -> None:
    gate, _ = gauntlet.min_trades_gate(trades, 0.95)

    assert gate.passed is False and "not computable" in gate.detail


# --- concentration ----------------------------------------------------------------------


def _months(days_per_month: int, n_months: int) -> list[str]:
    return [f"2025-{m + 1:02d}" for m in range(n_months) for _ in range(days_per_month)]


def _monthly(returns: np.ndarray, months: list[str]) -> list[tuple[str, float]]:
    labels = np.asarray(months)
    return [(m, float(returns[labels == m].sum())) for m in sorted(set(months))]


def test_concentration_gate_when_one_lucky_month_makes_the_pnl_then_fails() -> None:
    months = _months(30, 6)
    returns = np.random.default_rng(1).normal(0.0, 0.01, 180)
    returns[:30] += 0.01  # one month of +30 %: the rest is noise

    gate, shares = gauntlet.concentration_gate(
        returns, months, _monthly(returns, months), [], returns[::3], 0.9, 0.05
    )

    naive = PHI(_naive_moments(returns[30:].tolist())[0] * math.sqrt(149) / 1.0)
    assert shares.largest_month == "2025-01" and shares.n_days_without_best_month == 150
    assert gate.passed is False and gate.value == pytest.approx(naive, abs=0.02)


def test_concentration_gate_when_edge_lives_in_one_regime_then_passes_and_reports_share() -> None:
    months = _months(30, 6)
    returns = np.random.default_rng(2).normal(0.004, 0.01, 180)
    regimes = [("low vol", 0.02), ("mid vol", 0.08), ("high vol", 0.62)]  # 86 % in one regime

    gate, shares = gauntlet.concentration_gate(
        returns, months, _monthly(returns, months), regimes, np.full(40, 0.02), 0.9, 0.05
    )

    assert gate.passed is True and gate.value > 0.99 and shares.largest_regime == "high vol"
    assert shares.largest_regime_share == pytest.approx(0.62 / shares.total_pnl)


def test_concentration_gate_when_top_trades_make_all_pnl_then_vetoed() -> None:
    months = _months(30, 6)
    returns = np.random.default_rng(3).normal(0.004, 0.01, 180)
    trades = np.array([0.5, -0.01, -0.01, -0.01, -0.01] * 4)  # 20 trades: best 1 = 5 %

    gate, shares = gauntlet.concentration_gate(
        returns, months, _monthly(returns, months), [], trades, 0.9, 0.05
    )

    assert shares.top_trades_removed == 1
    assert shares.pnl_without_top_trades == pytest.approx(1.5 - 0.16)
    trades[::5] = 0.05
    gate, shares = gauntlet.concentration_gate(
        returns, months, _monthly(returns, months), [], trades, 0.9, 0.05
    )
    assert gate.passed is False and "best 5% of trades" in (gate.reason or "")
    assert shares.pnl_without_top_trades == pytest.approx(0.15 - 0.16)


def test_concentration_gate_when_total_pnl_not_positive_then_fails_saying_so() -> None:
    returns = np.array([0.02] + [0.0] * 29 + [-0.05] + [0.0] * 29)
    months = _months(30, 2)

    gate, _ = gauntlet.concentration_gate(
        returns, months, _monthly(returns, months), [], [0.1], 0.9, 0.05
    )

    assert gate.passed is False and gate.value is None
    assert "<= 0" in gate.detail and "-3.00%" in gate.detail


def test_concentration_gate_when_months_misaligned_then_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="day_months"):
        gauntlet.concentration_gate([0.1, 0.2], ["2025-01"], [("2025-01", 0.3)], [], [], 0.9, 0.05)


# --- correlation ------------------------------------------------------------------------


def test_correlation_when_series_given_then_equals_naive_pearson() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=60), rng.normal(size=60)
    mean_a, mean_b = sum(a) / 60, sum(b) / 60
    covariance = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    expected = covariance / math.sqrt(
        sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b)
    )

    assert gauntlet.correlation(a, b) == pytest.approx(expected, rel=1e-12)


def test_correlation_gate_when_correlated_pair_then_fails_naming_the_other() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=200)
    twin = base + 0.3 * rng.normal(size=200)
    other = rng.normal(size=200)

    gate, info = gauntlet.correlation_gate(twin, {"aaaa": other, "bbbb": base}, 0.7)

    assert gate.passed is False and info.with_id == "bbbb"
    assert gate.value == pytest.approx(gauntlet.correlation(twin, base))
    assert gate.value > 0.9


def test_correlation_gate_when_nothing_promoted_then_passes_with_zero() -> None:
    gate, info = gauntlet.correlation_gate(np.ones(10), {}, 0.7)

    assert gate.passed is True and gate.value == 0.0 and info.with_id is None


def test_correlation_gate_when_value_equals_maximum_then_fails() -> None:
    gate = gauntlet.judge("correlation", 0.7, 0.7, "<", "")

    assert gate.passed is False


def test_correlation_when_one_series_constant_then_zero() -> None:
    assert gauntlet.correlation(np.ones(5), np.arange(5.0)) == 0.0


# --- drawdown ---------------------------------------------------------------------------


def test_drawdown_gate_when_seeded_then_equals_naive_bootstrap_loop() -> None:
    values = np.random.default_rng(6).normal(0.001, 0.02, 120)
    mean_block = float(optimal_block_length(values))
    indices = stationary_bootstrap_indices(120, mean_block, np.random.default_rng(9), 300)
    drawdowns = []
    for row in indices:
        equity, peak, worst = 1.0, 1.0, 0.0
        for index in row:
            equity *= 1.0 + values[index]
            peak = max(peak, equity)
            worst = max(worst, 1.0 - equity / peak)
        drawdowns.append(worst)
    expected = float(np.quantile(drawdowns, 0.95))

    gate, value = gauntlet.drawdown_gate(values, 0.3, np.random.default_rng(9), 300, 0.95)

    assert value == pytest.approx(expected, rel=1e-12)
    assert gate.value == value and gate.passed is (expected <= 0.3)


def test_drawdown_gate_when_too_few_days_then_fails_not_computable() -> None:
    gate, value = gauntlet.drawdown_gate([0.01] * 5, 0.3, np.random.default_rng(0), 100)

    assert value is None and gate.passed is False and "not computable" in gate.detail


# --- cost stress, stability, SPA, null model -----------------------------------------------


def test_cost_stress_gate_when_psr_passes_but_return_not_positive_then_fails() -> None:
    gate = gauntlet.cost_stress_gate(0.99, -0.01, 2.0, 0.95)

    assert gate.passed is False and gate.value == 0.99 and "must be > 0" in gate.detail


def test_cost_stress_gate_when_psr_and_return_pass_then_passes() -> None:
    assert gauntlet.cost_stress_gate(0.97, 0.05, 2.0, 0.95).passed is True


def test_stability_gate_when_below_minimum_then_fails() -> None:
    assert gauntlet.stability_gate(0.69, 0.7, "probe").passed is False
    assert gauntlet.stability_gate(None, 0.7, "probe").passed is False


def test_spa_gate_when_both_p_values_given_then_value_is_the_larger() -> None:
    gate = gauntlet.spa_gate("spa_flat", 0.01, 0.08, 0.05)

    assert gate.value == 0.08 and gate.passed is False


def test_spa_gate_when_a_p_value_missing_then_fails() -> None:
    assert gauntlet.spa_gate("spa_flat", None, 0.01, 0.05).passed is False


def test_null_percentile_when_draws_given_then_share_below_with_half_ties() -> None:
    draws = [0.1, 0.2, 0.3, 0.3]

    assert gauntlet.null_percentile(0.3, draws) == pytest.approx((2 + 1) / 4)
    assert gauntlet.null_percentile(0.05, draws) == 0.0
    assert gauntlet.null_percentile(None, draws) is None
    assert gauntlet.null_percentile(0.2, []) is None


def test_null_gate_when_percentile_below_minimum_then_fails() -> None:
    assert gauntlet.null_gate(0.5, 0.9, 4).passed is False
    assert gauntlet.null_gate(0.95, 0.9, 4).passed is True


# --- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_days", "max_blocks", "expected"),
    [(219, 16, 16), (100, 16, 10), (35, 16, 2), (19, 16, 0), (200, 15, 14)],
)
def test_pbo_block_count_when_days_given_then_largest_even_with_ten_days_per_block(
    n_days: int, max_blocks: int, expected: int
) -> None:
    assert gauntlet.pbo_block_count(n_days, max_blocks) == expected


def test_estimation_variance_when_columns_given_then_mean_of_sharpe_standard_errors() -> None:
    matrix = np.random.default_rng(7).normal(0.001, 0.01, (80, 3))
    expected = []
    for column in matrix.T:
        sharpe, skew, kurtosis = _naive_moments(column.tolist())
        expected.append((1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2) / 79)

    assert gauntlet.estimation_variance(matrix) == pytest.approx(np.mean(expected), rel=1e-10)


def test_order_gates_when_shuffled_then_gate_order() -> None:
    gates = [
        gauntlet.judge(name, 1.0, 1.0, ">=", "") for name in ("correlation", "dsr", "custom", "pbo")
    ]

    assert [g.name for g in gauntlet.order_gates(gates)] == [
        "dsr",
        "pbo",
        "correlation",
        "custom",
    ]


def test_judge_when_gate_fails_then_reason_names_value_comparison_and_threshold() -> None:
    gate = gauntlet.judge("psr", 0.9, 0.95, ">=", "holdout")

    assert gate.passed is False and gate.reason == "psr 0.9 fails >= 0.95"
    assert gauntlet.judge("psr", 0.96, 0.95, ">=", "").reason is None


def test_judge_when_vetoed_then_fails_with_the_veto_as_reason() -> None:
    gate = gauntlet.judge("cost_stress", 0.99, 0.95, ">=", "d", veto="return must be > 0")

    assert gate.passed is False and gate.reason == "cost_stress: return must be > 0"


def test_gate_when_built_then_frozen_and_decision_has_the_design_keys() -> None:
    gate = gauntlet.judge("dsr", 0.5, 0.95, ">=", "d")

    with pytest.raises(AttributeError):
        gate.passed = True  # type: ignore[misc]
    assert list(gate.decision()) == ["name", "value", "threshold", "passed"]
    assert gate.evidence()["reason"] == gate.reason and gate.evidence()["comparison"] == ">="
