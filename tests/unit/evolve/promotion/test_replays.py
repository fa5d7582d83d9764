"""Candidate replays: daily grid, P&L decomposition, volatility regimes, legs, cost scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.promotion import replays
from evolve.promotion.replays import holdout_span, timeline_span
from fitness import BarSeries, CostModel, FitnessConfig, FoldConfig, Market, evaluate
from tests.synthetic_markets import planted_edge_series, random_walk_series

DAY_MS = 86_400_000
EMA_CROSS = "pos_from(gt(ema(close, 12), ema(close, 26)), lt(ema(close, 12), ema(close, 26)))"


@pytest.fixture(scope="module")
def market() -> Market:
    series = [
        planted_edge_series(24 * 240, 1, symbol="AAAUSDT"),
        random_walk_series(24 * 240, 2, symbol="BBBUSDT"),
    ]
    return Market.build(series, FoldConfig(n_discovery_folds=2, holdout_fraction=0.25))


def test_compound_by_day_when_bars_given_then_equals_naive_product_per_day() -> None:
    returns = np.array([0.01, -0.02, 0.03, 0.0, 0.05, -0.01])
    days = np.array([0, 0, 1, 1, 3, 3])
    expected = [1.01 * 0.98 - 1, 1.03 - 1, 0.0, 1.05 * 0.99 - 1]

    assert replays.compound_by_day(returns, days, 4) == pytest.approx(expected, rel=1e-12)


def test_compound_by_day_when_ruin_bar_then_day_return_is_minus_one() -> None:
    out = replays.compound_by_day(np.array([0.1, -1.0, 0.0]), np.array([0, 0, 1]), 2)

    assert out[0] == -1.0 and out[1] == 0.0


def test_replay_when_holdout_at_unit_costs_then_equals_evaluator_holdout_returns(
    market: Market,
) -> None:
    config = FitnessConfig(folds=FoldConfig(n_discovery_folds=2, holdout_fraction=0.25))
    evaluation = evaluate(EMA_CROSS, market, config, include_holdout=True)
    targets = replays.strategy_targets(EMA_CROSS, market)

    holdout = replays.replay(targets, market, config.costs, *holdout_span(market))

    assert evaluation.holdout_returns is not None
    assert holdout.daily_returns == pytest.approx(
        np.asarray(evaluation.holdout_returns, dtype=np.float64), abs=2e-7
    )
    expected_total = np.mean([run.result.equity[-1] - 1.0 for run in holdout.runs])
    assert holdout.total_return == pytest.approx(expected_total)


def test_replay_when_funding_flipped_then_only_funding_cash_flows_change_sign(
    market: Market,
) -> None:
    targets = replays.strategy_targets(EMA_CROSS, market)
    span = holdout_span(market)

    normal = replays.replay(targets, market, CostModel(), *span)
    flipped = replays.replay(targets, market, CostModel(), *span, funding_sign=-1.0)

    first, second = normal.runs[0].result, flipped.runs[0].result
    assert first.trades == second.trades
    assert second.funding[first.funding != 0.0] == pytest.approx(
        -first.funding[first.funding != 0.0], rel=0.05
    )


def test_monthly_pnl_when_replayed_then_months_sum_to_the_mean_sum_of_bar_returns(
    market: Market,
) -> None:
    holdout = replays.replay(
        replays.strategy_targets(EMA_CROSS, market), market, CostModel(), *holdout_span(market)
    )
    expected = np.mean([run.result.returns.sum() for run in holdout.runs])

    monthly = replays.monthly_pnl(holdout)

    assert sum(pnl for _, pnl in monthly) == pytest.approx(expected, rel=1e-12)
    assert [month for month, _ in monthly] == sorted(month for month, _ in monthly)
    assert all(len(month) == 7 and month[4] == "-" for month, _ in monthly)


def test_legs_when_replayed_then_sum_of_trade_returns_by_side(market: Market) -> None:
    holdout = replays.replay(
        replays.strategy_targets(EMA_CROSS, market), market, CostModel(), *holdout_span(market)
    )
    records = [run.result.trade_records for run in holdout.runs]
    long_returns = np.concatenate([r.return_on_equity[r.side == 1] for r in records])

    legs = replays.legs(holdout)

    assert legs["long"]["pnl"] == pytest.approx(long_returns.sum() / 2)
    assert legs["long"]["n_trades"] + legs["short"]["n_trades"] == sum(len(r) for r in records)
    assert legs["long"]["win_rate"] == pytest.approx(np.mean(long_returns > 0))


def test_regime_pnl_when_replayed_then_terciles_split_bars_evenly_and_sum_to_total(
    market: Market,
) -> None:
    holdout = replays.replay(
        replays.strategy_targets(EMA_CROSS, market), market, CostModel(), *holdout_span(market)
    )

    regimes = replays.regime_pnl(holdout, market, window_days=10)

    assert [name for name, _, _ in regimes] == list(replays.REGIME_NAMES)
    counts = [n for _, _, n in regimes]
    assert max(counts) - min(counts) <= 2 * len(holdout.runs)
    total = np.mean([run.result.returns.sum() for run in holdout.runs])
    assert sum(pnl for _, pnl, _ in regimes) == pytest.approx(total, rel=1e-10)


def _naive_trailing_volatility(close: np.ndarray, window: int) -> list[float]:
    out = [math.nan] * len(close)
    for t in range(window, len(close)):
        returns = [math.log(close[k] / close[k - 1]) for k in range(t - window + 1, t + 1)]
        mean = sum(returns) / window
        out[t] = math.sqrt(sum((r - mean) ** 2 for r in returns) / (window - 1))
    return out


def test_trailing_volatility_when_prices_given_then_equals_naive_loop() -> None:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(8).normal(0, 0.01, 60)))

    actual = replays.trailing_volatility(close, 7)

    expected = _naive_trailing_volatility(close, 7)
    assert np.isnan(actual[:7]).all()
    assert actual[7:] == pytest.approx(expected[7:], rel=1e-9)


@settings(max_examples=40)
@given(
    t=st.integers(min_value=0, max_value=49),
    seed=st.integers(min_value=0, max_value=2**16),
    shock=st.floats(min_value=0.5, max_value=2.0),
)
def test_trailing_volatility_when_later_bars_change_then_earlier_values_unchanged(
    t: int, seed: int, shock: float
) -> None:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, 50)))
    changed = close.copy()
    changed[t + 1 :] *= shock * np.linspace(1.0, 1.3, 49 - t)

    before = replays.trailing_volatility(close, 5)[: t + 1]
    after = replays.trailing_volatility(changed, 5)[: t + 1]

    np.testing.assert_array_equal(before, after)


def test_buy_and_hold_daily_when_span_given_then_compounds_to_price_ratio(
    market: Market,
) -> None:
    start, stop = timeline_span(market)
    daily = replays.buy_and_hold_daily(market, start, stop)

    growth = []
    for series in market.series:
        first = int(np.searchsorted(series.timestamp, start))
        last = int(np.searchsorted(series.timestamp, stop))
        days = (series.timestamp[first:last] - start) // replays.day_bucket_ms(market)
        closes = series.close[first:last]
        per_day = [
            closes[days == d][-1] / (closes[days == d - 1][-1] if d else series.open[first])
            for d in range(int(days[-1]) + 1)
        ]
        growth.append(np.array(per_day) - 1.0)
    assert daily == pytest.approx(np.mean(growth, axis=0), rel=1e-9)


def test_funding_carry_daily_when_span_given_then_products_of_settled_rates_per_day(
    market: Market,
) -> None:
    start, stop = holdout_span(market)
    bucket = replays.day_bucket_ms(market)

    daily = replays.funding_carry_daily(market, start, stop)

    expected = []
    for series in market.series:
        inside = (series.timestamp >= start) & (series.timestamp < stop)
        days = (series.timestamp[inside] - start) // bucket
        rates = series.funding_rate[inside]
        expected.append(
            [math.prod(1.0 + r for r in rates[days == d]) - 1.0 for d in range(len(daily))]
        )
    assert np.any(daily != 0.0)
    assert daily == pytest.approx(np.mean(expected, axis=0), rel=1e-12, abs=1e-15)


def test_baseline_block_when_daily_returns_then_hand_computed_summary() -> None:
    block = replays.baseline_block(np.array([0.1, -0.2, 0.05]), "hand")

    # equity 1 -> 1.1 -> 0.88 -> 0.924; the peak 1.1 falls to 0.88: a 20 % drawdown
    assert block["holdout_return"] == pytest.approx(0.924 - 1.0)
    assert block["max_drawdown"] == pytest.approx(0.2)
    assert block["n_days"] == 3 and block["detail"] == "hand"
    mean, std = np.mean([0.1, -0.2, 0.05]), np.std([0.1, -0.2, 0.05], ddof=1)
    assert block["holdout_sharpe"] == pytest.approx(mean / std * math.sqrt(365))


def test_scaled_costs_when_multiplied_then_fees_and_slippage_scale_only() -> None:
    costs = CostModel(slippage_volatility_multiplier=0.1, latency_bars=1)

    scaled = replays.scaled_costs(costs, 2.5)

    assert scaled.taker_fee == pytest.approx(2.5 * costs.taker_fee)
    assert scaled.maker_fee == pytest.approx(2.5 * costs.maker_fee)
    assert scaled.slippage == pytest.approx(2.5 * costs.slippage)
    assert scaled.slippage_volatility_multiplier == pytest.approx(0.25)
    assert scaled.latency_bars == 1 and scaled.leverage == costs.leverage


def test_annual_sharpe_when_daily_returns_given_then_sqrt_365_scaling() -> None:
    values = np.array([0.01, -0.005, 0.02, 0.0])
    expected = values.mean() / values.std(ddof=1) * math.sqrt(365)

    assert replays.annual_sharpe(values) == pytest.approx(expected)


def test_annual_sharpe_when_flat_or_single_day_then_zero_as_every_sharpe() -> None:
    # fitness.stats.ratio's one rule (was None here, 0.0 in the metrics)
    assert replays.annual_sharpe(np.zeros(5)) == 0.0
    assert replays.annual_sharpe(np.array([0.01])) == 0.0


def test_curve_when_daily_returns_given_then_starts_at_one_on_the_day_grid() -> None:
    out = replays.curve(np.array([0.1, -0.5]), 1_000, 10)

    assert out == {"timestamp_ms": [1_000, 1_010, 1_020], "equity": [1.0, 1.1, 0.55]}


def _series_with_gap() -> BarSeries:
    whole = random_walk_series(24 * 240, 12, symbol="GAPUSDT")
    keep = np.r_[0 : 24 * 200, 24 * 203 : 24 * 240]  # three days missing in the holdout
    columns = {name: values[keep] for name, values in whole.columns().items()}
    return BarSeries.from_arrays(
        **columns, symbol="GAPUSDT", timeframe="1h", gaps="split", source="gap test"
    )


def test_replay_when_span_has_a_gap_then_pieces_never_cross_it() -> None:
    series = _series_with_gap()
    market = Market.build([series], FoldConfig(n_discovery_folds=2, holdout_fraction=0.25))
    targets = replays.strategy_targets(EMA_CROSS, market)
    start, stop = holdout_span(market)

    holdout = replays.replay(targets, market, CostModel(), start, stop)

    assert len(holdout.runs) == 2 and holdout.n_symbols == 1
    gap_start = int(series.timestamp[24 * 200 - 1]) + 3_600_000
    gap_days = (np.arange(gap_start, gap_start + 3 * DAY_MS, DAY_MS) - start) // DAY_MS
    assert np.all(holdout.daily_returns[gap_days[1:-1]] == 0.0)
    growth = np.prod([run.result.equity[-1] for run in holdout.runs])
    assert holdout.total_return == pytest.approx(growth - 1.0)
    assert replays.buy_and_hold_daily(market, start, stop)[gap_days[1:-1]] == pytest.approx(0.0)
