"""Funding only where settlements fall on bar opens (fitness.evaluation.funding, DESIGN §2)."""

from __future__ import annotations

import numpy as np
import pytest

from fitness import (
    BarSeries,
    CostModel,
    FitnessConfig,
    FoldConfig,
    FundingTimeframeError,
    Market,
    evaluate,
    make_evaluator,
)
from fitness.data.series import FundingTable
from fitness.evaluation.funding import (
    check_funding_bars,
    check_funding_settlements,
    settlements_inside_bars,
    settles_on_bar_opens,
)

HOUR_MS = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _series(timeframe: str, n_bars: int, *, funding: bool = True) -> BarSeries:
    step = {"1h": 1, "4h": 4, "6h": 6, "8h": 8, "12h": 12, "1d": 24}[timeframe] * HOUR_MS
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return BarSeries.from_arrays(
        START_MS + np.arange(n_bars, dtype=np.int64) * step,
        open_,
        np.maximum(open_, close) * 1.001,
        np.minimum(open_, close) * 0.999,
        close,
        np.ones(n_bars),
        np.full(n_bars, 1e-4) if funding else None,
        symbol="TESTUSDT",
        timeframe=timeframe,
    )


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [("1m", True), ("1h", True), ("2h", True), ("4h", True), ("8h", True),
     ("6h", False), ("12h", False), ("1d", False)],
)  # fmt: skip
def test_settles_on_bar_opens_when_timeframe_then_true_only_if_it_divides_8h(
    timeframe: str, expected: bool
) -> None:
    assert settles_on_bar_opens(timeframe) is expected


@pytest.mark.parametrize("timeframe", ["6h", "12h", "1d"])
def test_check_funding_bars_when_long_bars_with_funding_then_error_names_timeframe(
    timeframe: str,
) -> None:
    with pytest.raises(FundingTimeframeError, match=f"funding on {timeframe} bars"):
        check_funding_bars([_series(timeframe, 40)], CostModel())


def test_check_funding_bars_when_funding_off_or_no_funding_data_or_8h_then_accepted() -> None:
    check_funding_bars([_series("1d", 40)], CostModel(funding=False))
    check_funding_bars([_series("1d", 40, funding=False)], CostModel())
    check_funding_bars([_series("8h", 40), _series("1h", 40)], CostModel())


def test_settlements_inside_bars_when_hand_placed_then_only_those_after_the_open() -> None:
    bars = START_MS + np.arange(3, dtype=np.int64) * 4 * HOUR_MS  # 4h bars: 00:00, 04:00, 08:00
    settlements = START_MS + np.array(
        [0, 8, 1 * HOUR_MS, 4 * HOUR_MS + 999, 4 * HOUR_MS + 1001, 8 * HOUR_MS], dtype=np.int64
    )

    inside = settlements_inside_bars(bars, 4 * HOUR_MS, settlements)

    # on the open, 8 ms and 999 ms of jitter are on it; 01:00 and 04:00:01.001 are inside
    assert inside.tolist() == [2, 4]


def test_check_funding_settlements_when_hourly_funding_under_4h_bars_then_refused() -> None:
    series = _series("4h", 12)
    hourly = FundingTable(
        START_MS + np.arange(48, dtype=np.int64) * HOUR_MS, np.full(48, 1e-5), "hourly.parquet"
    )
    four_hourly = FundingTable(series.timestamp, np.full(12, 1e-5), "4h.parquet")

    with pytest.raises(FundingTimeframeError, match=r"hourly.parquet: 36 funding settlement"):
        check_funding_settlements(series, hourly, CostModel())
    check_funding_settlements(series, four_hourly, CostModel())
    check_funding_settlements(series, hourly, CostModel(funding=False))


def test_evaluate_and_make_evaluator_when_daily_bars_with_funding_then_refused() -> None:
    market = Market.build([_series("1d", 1_000)], FoldConfig(n_discovery_folds=2))
    config = FitnessConfig(costs=CostModel())

    with pytest.raises(FundingTimeframeError, match="1d"):
        evaluate("long_only(gt(close, sma(close, 5)))", market, config)
    with pytest.raises(FundingTimeframeError, match="1d"):
        make_evaluator(market, config, workers=1)
