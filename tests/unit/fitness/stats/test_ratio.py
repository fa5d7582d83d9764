"""The one Sharpe ratio (fitness.stats.ratio): hand values, a numpy reference, the zero rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitness import DataError, bars_per_year, metrics, segment_metrics, simulate, simulate_segment
from fitness.backtest.costs import CostModel
from fitness.evaluation.aggregate import split_summary
from fitness.stats.ratio import (
    DAYS_PER_YEAR,
    sharpe_annual,
    sharpe_from_moments,
    sharpe_from_moments_array,
    sharpe_per_period,
)


def _reference(values: np.ndarray) -> float:
    # the textbook formula, written out: mean / sqrt(sum((r - mean)^2) / (n - 1))
    n = len(values)
    mean = sum(values) / n
    return mean / math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def test_sharpe_per_period_when_hand_values_then_two() -> None:
    # mean 0.02, deviations (-0.01, 0, 0.01): std(ddof=1) = 0.01
    assert sharpe_per_period([0.01, 0.02, 0.03]) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_sharpe_per_period_when_random_returns_then_equals_textbook_loop(seed: int) -> None:
    values = np.random.default_rng(seed).normal(0.001, 0.02, 50 + 37 * seed)

    assert sharpe_per_period(values) == pytest.approx(_reference(values), rel=1e-12)


@pytest.mark.parametrize("value", [0.0, 0.1, 0.01, 0.003, 1 / 3, -0.2])
@pytest.mark.parametrize("n_obs", [2, 3, 7, 100])
def test_sharpe_per_period_when_constant_then_zero_even_with_rounding(
    value: float, n_obs: int
) -> None:
    # np.std of [0.1] * 3 is 1.7e-17, not 0: the relative tolerance makes it 0 (was 5.9e15)
    assert sharpe_per_period(np.full(n_obs, value)) == 0.0


@pytest.mark.parametrize("values", [[], [0.05], [-0.01]])
def test_sharpe_per_period_when_fewer_than_two_returns_then_zero(values: list[float]) -> None:
    assert sharpe_per_period(values) == 0.0


def test_sharpe_per_period_when_nan_or_2d_then_data_error_names_it() -> None:
    with pytest.raises(DataError, match="index 2"):
        sharpe_per_period([0.01, 0.02, float("nan")])
    with pytest.raises(DataError, match="1-D"):
        sharpe_per_period([[0.01, 0.02]])


def test_sharpe_annual_when_daily_then_per_day_times_sqrt_365() -> None:
    values = np.array([0.01, -0.005, 0.02, 0.0])

    assert sharpe_annual(values, DAYS_PER_YEAR) == pytest.approx(
        _reference(values) * math.sqrt(365), rel=1e-12
    )
    assert sharpe_annual(np.zeros(4), DAYS_PER_YEAR) == 0.0


@pytest.mark.parametrize("periods", [0.0, -1.0, math.nan, math.inf])
def test_sharpe_annual_when_periods_per_year_not_positive_finite_then_value_error(
    periods: float,
) -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        sharpe_annual([0.01, 0.02], periods)


@pytest.mark.parametrize(
    ("mean", "std", "expected"),
    [(0.02, 0.01, 2.0), (0.0, 0.0, 0.0), (0.01, 0.0, 0.0), (0.01, math.nan, 0.0),
     (0.01, math.inf, 0.0), (0.1, 1e-17, 0.0), (-0.1, 1e-17, 0.0), (0.0, 1e-300, 0.0)],
)  # fmt: skip
def test_sharpe_from_moments_when_given_then_ratio_or_zero_rule(
    mean: float, std: float, expected: float
) -> None:
    assert sharpe_from_moments(mean, std) == pytest.approx(expected, rel=1e-15)


def test_sharpe_from_moments_array_when_mixed_cases_then_equals_scalar_rule() -> None:
    mean = np.array([0.02, 0.0, 0.01, 0.01, 0.1, -0.03])
    std = np.array([0.01, 0.0, 0.0, math.nan, 1e-17, 0.02])

    vectorised = sharpe_from_moments_array(mean, std)

    assert vectorised.tolist() == [
        sharpe_from_moments(m, s) for m, s in zip(mean, std, strict=True)
    ]


# --- every caller gives the same number ----------------------------------------------------


def _bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    target = np.sign(rng.normal(size=n)) * 0.5
    return open_, close, np.zeros(n), target


def test_metrics_when_simulated_then_sharpe_is_the_annual_sharpe_of_bar_returns() -> None:
    open_, close, funding, target = _bars(400, 1)
    result = simulate(open_, close, funding, target, CostModel())

    full = metrics(result, "1h")["sharpe"]
    segment = segment_metrics(
        simulate_segment(open_, close, funding, target, CostModel(), 0, 400), "1h"
    )["sharpe"]

    expected = sharpe_annual(result.returns, bars_per_year("1h"))
    assert full == pytest.approx(expected, rel=1e-12)
    assert segment == pytest.approx(expected, rel=1e-9)


def test_metrics_when_one_bar_or_flat_then_sharpe_zero_on_both_paths() -> None:
    open_, close, funding, _ = _bars(5, 2)
    flat = np.full(5, np.nan)

    for n_bars in (1, 5):
        args = (open_[:n_bars], close[:n_bars], funding[:n_bars], flat[:n_bars], CostModel())
        assert metrics(simulate(*args), "1h")["sharpe"] == 0.0
        assert segment_metrics(simulate_segment(*args, 0, n_bars), "1h")["sharpe"] == 0.0


def test_split_summary_when_daily_record_then_daily_sharpe_is_per_period_sharpe() -> None:
    rng = np.random.default_rng(4)
    daily = [rng.normal(0.0, 0.01, 30), rng.normal(0.0, 0.01, 30)]
    metrics_rows = [dict.fromkeys(("sharpe", "sortino", "total_return", "max_drawdown",
                                   "n_trades", "exposure", "turnover"), 0.0)] * 2  # fmt: skip

    summary, record = split_summary(metrics_rows, daily)

    assert summary["daily_sharpe"] == sharpe_per_period(record)
    assert summary["daily_sharpe"] == pytest.approx(_reference(record.astype(float)), rel=1e-9)
