"""Metrics against hand-computed values; segment metrics against full-simulation metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitness import (
    CostModel,
    DataError,
    SimResult,
    TradeRecords,
    bars_per_year,
    metrics,
    segment_metrics,
    simulate,
    simulate_segment,
)
from fitness.backtest.metrics import METRIC_NAMES, SEGMENT_METRIC_NAMES


def _result(
    returns,
    *,
    qty=None,
    fees=None,
    funding=None,
    pnl=(),
    trade_returns=(),
    turnover_notional=0.0,
    buy_and_hold_return=0.0,
    initial_equity=1.0,
) -> SimResult:
    returns = np.asarray(returns, dtype=np.float64)
    n_bars = len(returns)
    zeros = np.zeros(n_bars)
    n_trades = len(pnl)
    records = TradeRecords(
        entry_bar=np.zeros(n_trades, dtype=np.int64),
        exit_bar=np.zeros(n_trades, dtype=np.int64),
        side=np.ones(n_trades, dtype=np.int64),
        pnl=np.asarray(pnl, dtype=np.float64),
        return_on_equity=np.asarray(trade_returns, dtype=np.float64),
    )
    return SimResult(
        equity=initial_equity * np.cumprod(1.0 + returns),
        returns=returns,
        qty=zeros if qty is None else np.asarray(qty, dtype=np.float64),
        fees=zeros if fees is None else np.asarray(fees, dtype=np.float64),
        funding=zeros if funding is None else np.asarray(funding, dtype=np.float64),
        trade_started=np.zeros(n_bars, dtype=np.bool_),
        trades=n_trades,
        trade_records=records,
        turnover_notional=turnover_notional,
        initial_equity=initial_equity,
        buy_and_hold_return=buy_and_hold_return,
    )


# equity 1.1, 0.99, 0.99, 1.0395 from returns +10 %, -10 %, 0, +5 %
HAND = {
    "returns": [0.1, -0.1, 0.0, 0.05],
    "qty": [0.0, 1.0, 1.0, 0.0],
    "fees": [0.0, 0.005, 0.0, 0.005],
    "funding": [0.0, 0.0, 0.002, 0.0],
    "pnl": [0.05, -0.02, 0.03, -0.01],
    "trade_returns": [0.05, -0.02, 0.03, -0.01],
    "turnover_notional": 2.0,
    "buy_and_hold_return": 0.02,
}


def test_bars_per_year_when_crypto_timeframes_then_365_days_of_24_hours():
    assert bars_per_year("1h") == 8760.0
    assert bars_per_year("5m") == 105120.0
    assert bars_per_year("1d") == 365.0
    assert bars_per_year("1m") == 525600.0
    assert bars_per_year("4h") == 2190.0


def test_bars_per_year_when_unknown_timeframe_then_data_error():
    with pytest.raises(DataError, match="timeframe"):
        bars_per_year("7x")


def test_metrics_when_hand_worked_series_then_every_value_matches():
    result = _result(**HAND)

    values = metrics(result, "1d")

    assert list(values) == list(METRIC_NAMES)
    assert values["total_return"] == pytest.approx(0.0395)
    assert values["cagr"] == pytest.approx(1.0395 ** (365 / 4) - 1.0)
    # mean 0.0125; deviations 0.0875, -0.1125, -0.0125, 0.0375 -> sum of squares 0.021875
    assert values["sharpe"] == pytest.approx(0.0125 / math.sqrt(0.021875 / 3) * math.sqrt(365))
    # downside deviation over all 4 bars: sqrt(0.1² / 4) = 0.05
    assert values["sortino"] == pytest.approx(0.0125 / 0.05 * math.sqrt(365))
    assert values["max_drawdown"] == pytest.approx(0.1)
    assert values["max_drawdown_bars"] == 3.0
    # drawdowns 0, 0.1, 0.1, 1 - 1.0395 / 1.1 = 0.055
    assert values["ulcer_index"] == pytest.approx(math.sqrt((0.01 + 0.01 + 0.055**2) / 4))
    assert values["calmar"] == pytest.approx((1.0395 ** (365 / 4) - 1.0) / 0.1)
    mean_equity = (1.1 + 0.99 + 0.99 + 1.0395) / 4
    assert values["turnover"] == pytest.approx(2.0 * 365 / 4 / mean_equity)
    assert values["n_trades"] == 4.0
    assert values["win_rate"] == 0.5
    assert values["profit_factor"] == pytest.approx(0.08 / 0.03)
    assert values["average_trade_return"] == pytest.approx(0.0125)
    assert values["exposure"] == 0.5
    # gross = net 0.0395 + fees 0.01 + funding 0.002 = 0.0515
    assert values["fees_share"] == pytest.approx(0.01 / 0.0515)
    assert values["funding_share"] == pytest.approx(0.002 / 0.0515)
    assert values["buy_and_hold_return"] == 0.02
    assert values["excess_return"] == pytest.approx(0.0395 - 0.02)


def test_metrics_when_sortino_then_downside_over_all_bars_not_negative_bars_only():
    values = metrics(_result(**HAND), "1d")

    negative_bars_only = 0.0125 / 0.1 * math.sqrt(365)  # the classic bug
    assert values["sortino"] != pytest.approx(negative_bars_only)
    assert values["sortino"] == pytest.approx(2.0 * negative_bars_only)


def test_metrics_when_hourly_and_five_minute_then_annualised_by_8760_and_105120():
    result = _result(**HAND)
    per_bar_sharpe = 0.0125 / math.sqrt(0.021875 / 3)

    hourly = metrics(result, "1h")
    five_minutes = metrics(result, "5m")

    assert hourly["sharpe"] == pytest.approx(per_bar_sharpe * math.sqrt(8760))
    assert five_minutes["sharpe"] == pytest.approx(per_bar_sharpe * math.sqrt(105120))
    assert five_minutes["sortino"] == pytest.approx(0.25 * math.sqrt(105120))
    assert hourly["turnover"] == pytest.approx(2.0 * 8760 / 4 / ((1.1 + 0.99 * 2 + 1.0395) / 4))


def test_metrics_when_flat_then_ratios_are_zero_not_nan():
    values = metrics(_result([0.0] * 10), "1h")

    assert all(math.isfinite(value) for value in values.values())
    for name in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown"):
        assert values[name] == 0.0
    assert values["n_trades"] == values["win_rate"] == values["profit_factor"] == 0.0
    assert values["fees_share"] == values["funding_share"] == values["turnover"] == 0.0


def test_metrics_when_only_winning_trades_then_profit_factor_zero_by_convention():
    values = metrics(_result([0.01, 0.02], pnl=[0.01, 0.02], trade_returns=[0.01, 0.02]), "1h")

    assert values["profit_factor"] == 0.0
    assert values["win_rate"] == 1.0


def test_metrics_when_ruined_then_cagr_minus_one_and_drawdown_one():
    values = metrics(_result([0.1, -1.0, 0.0]), "1d")

    assert values["total_return"] == -1.0
    assert values["cagr"] == -1.0
    assert values["max_drawdown"] == 1.0
    assert values["max_drawdown_bars"] == 2.0


def test_metrics_when_losing_gross_then_shares_relative_to_its_size():
    values = metrics(_result([-0.1], fees=[0.01], funding=[-0.005]), "1h")

    # gross = -0.1 + 0.01 - 0.005 = -0.095; shares are of |gross|
    assert values["fees_share"] == pytest.approx(0.01 / 0.095)
    assert values["funding_share"] == pytest.approx(-0.005 / 0.095)


def test_metrics_when_zero_costs_and_always_long_then_excess_over_buy_and_hold_is_zero():
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 500)))
    open_ = np.concatenate(([100.0], close[:-1]))

    values = metrics(simulate(open_, close, None, np.ones(500), CostModel.zero()), "1h")

    assert values["total_return"] == pytest.approx(close[-1] / open_[1] - 1.0, rel=1e-12)
    assert values["excess_return"] == pytest.approx(0.0, abs=1e-12)


def _random_market(seed: int, n_bars: int):
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, n_bars)))
    open_ = np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0.0, 0.003, n_bars))
    funding = np.where(np.arange(n_bars) % 8 == 0, rng.normal(0.0, 0.001, n_bars), 0.0)
    target = np.repeat(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, np.nan], n_bars), 7)[:n_bars]
    return open_, close, funding, target


@pytest.mark.parametrize("seed", range(12))
def test_segment_metrics_when_same_bars_then_equal_full_metrics(seed):
    rng = np.random.default_rng(100 + seed)
    market = _random_market(seed, 400)
    start = int(rng.integers(0, 200))
    stop = int(rng.integers(start + 1, 401))
    costs = CostModel(
        latency_bars=int(rng.integers(0, 3)),
        leverage=float(rng.choice([1.0, 5.0, 60.0])),
        slippage_volatility_multiplier=0.2,
    )

    segment = segment_metrics(simulate_segment(*market, costs, start, stop), "1h")
    full = metrics(simulate(*(array[start:stop] for array in market), costs), "1h")

    assert list(segment) == list(SEGMENT_METRIC_NAMES)
    for name in SEGMENT_METRIC_NAMES:
        assert segment[name] == pytest.approx(full[name], rel=1e-9, abs=1e-12), name
