"""Unit tests of fitness.simulate / simulate_segment: hand-worked bars, ruin, trades, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitness import (
    CostModel,
    CostModelError,
    DataError,
    SegmentError,
    simulate,
    simulate_many,
    simulate_segment,
)

NAN = float("nan")


def _market(n_bars: int = 300, seed: int = 7):
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n_bars))
    funding = np.where(np.arange(n_bars) % 8 == 0, rng.normal(0.0001, 0.0003, n_bars), 0.0)
    target = np.repeat(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, NAN], n_bars // 10 + 1), 10)
    return open_, close, funding, target[:n_bars]


def test_simulate_when_hand_worked_long_trade_then_every_output_matches_by_hand():
    # Arrange: long from bar 1 to bar 3 with 0.1 % fee, 1 % slippage and one settlement
    open_ = [100.0, 100.0, 110.0, 120.0]
    close = [100.0, 105.0, 115.0, 120.0]
    funding = [0.0, 0.0, 0.01, 0.0]
    target = [1.0, 1.0, 0.0, 0.0]
    costs = CostModel(taker_fee=0.001, slippage=0.01, leverage=1.0)

    result = simulate(open_, close, funding, target, costs)

    # bar 1: qty = 1 / 100 = 0.01 bought at 101, fee 0.001 * 0.01 * 101 = 0.00101
    #        cash = 1 - 1.01 - 0.00101 = -0.01101, equity = -0.01101 + 0.01 * 105 = 1.03899
    # bar 2: funding 0.01 * 110 * 0.01 = 0.011, cash = -0.02201, equity = 1.12799
    # bar 3: sell 0.01 at 118.8, fee 0.001188, cash = -0.02201 + 1.188 - 0.001188 = 1.164802
    expected_equity = [1.0, 1.03899, 1.12799, 1.164802]
    np.testing.assert_allclose(result.equity, expected_equity, rtol=1e-12)
    np.testing.assert_allclose(
        result.returns,
        [0.0, 0.03899, 1.12799 / 1.03899 - 1.0, 1.164802 / 1.12799 - 1.0],
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(result.qty, [0.0, 0.01, 0.01, 0.0], rtol=1e-12)
    np.testing.assert_allclose(result.fees, [0.0, 0.00101, 0.0, 0.001188], rtol=1e-12)
    np.testing.assert_allclose(result.funding, [0.0, 0.0, 0.011, 0.0], rtol=1e-12)
    assert result.trade_started.tolist() == [False, True, False, False]
    assert result.trades == 1
    records = result.trade_records
    assert (records.entry_bar.tolist(), records.exit_bar.tolist()) == ([1], [3])
    assert records.side.tolist() == [1]
    np.testing.assert_allclose(records.pnl, [0.164802], rtol=1e-12)
    np.testing.assert_allclose(records.return_on_equity, [0.164802], rtol=1e-12)
    assert result.turnover_notional == pytest.approx(1.01 + 1.188, rel=1e-12)
    assert result.buy_and_hold_return == pytest.approx(120.0 / 100.0 - 1.0)


def test_simulate_when_position_flips_then_fill_cost_splits_pro_rata_between_trades():
    open_ = close = [100.0, 100.0, 100.0, 100.0]
    costs = CostModel(taker_fee=0.001, slippage=0.01, funding=False)

    result = simulate(open_, close, None, [1.0, -1.0, -1.0, -1.0], costs)

    # bar 1: buy 0.01 at 101, fee 0.00101 -> equity 1 - 0.01 - 0.00101 = 0.98899
    equity_open = 0.98899
    # bar 2: sell from +0.01 to -0.0098899 (d = -0.0198899) at 99
    d = 0.01 + 0.0098899
    fill_cost = d * 100.0 * 0.01 + 0.001 * d * 99.0
    closing_cost = fill_cost * 0.01 / d
    np.testing.assert_allclose(result.qty, [0.0, 0.01, -0.0098899, -0.0098899], rtol=1e-12)
    np.testing.assert_allclose(result.equity[2:], equity_open - fill_cost, rtol=1e-12)
    assert result.trades == 2
    assert result.trade_started.tolist() == [False, True, True, False]
    records = result.trade_records
    assert records.entry_bar.tolist() == [1, 2]
    assert records.exit_bar.tolist() == [2, -1]
    assert records.side.tolist() == [1, -1]
    first_pnl = equity_open - closing_cost - 1.0
    second_pnl = (equity_open - fill_cost) - (equity_open - closing_cost)
    np.testing.assert_allclose(records.pnl, [first_pnl, second_pnl], rtol=1e-12)
    np.testing.assert_allclose(
        records.return_on_equity, [first_pnl / 1.0, second_pnl / equity_open], rtol=1e-12
    )
    assert records.pnl.sum() == pytest.approx(result.equity[-1] - 1.0, rel=1e-12)


def test_simulate_when_resized_on_same_side_then_one_trade():
    open_ = close = [100.0] * 5

    result = simulate(open_, close, None, [0.5, 1.0, 0.25, 0.0, 0.0], CostModel.zero())

    assert result.trades == 1
    assert result.trade_records.entry_bar.tolist() == [1]
    assert result.trade_records.exit_bar.tolist() == [4]
    np.testing.assert_allclose(result.qty, [0.0, 0.005, 0.01, 0.0025, 0.0])


def test_simulate_when_target_is_nan_then_flat():
    open_ = close = [100.0, 101.0, 102.0, 103.0, 104.0]

    nan_result = simulate(open_, close, None, [NAN, NAN, 1.0, NAN, NAN], CostModel())
    zero_result = simulate(open_, close, None, [0.0, 0.0, 1.0, 0.0, 0.0], CostModel())

    np.testing.assert_array_equal(nan_result.equity, zero_result.equity)
    np.testing.assert_array_equal(nan_result.qty, [0.0, 0.0, 0.0, nan_result.qty[3], 0.0])
    assert nan_result.qty[3] > 0.0


def test_simulate_when_latency_two_then_first_fill_three_bars_after_signal():
    open_ = close = [100.0] * 6

    result = simulate(open_, close, None, [1.0] * 6, CostModel(latency_bars=2))

    assert result.trade_records.entry_bar.tolist() == [3]
    assert np.all(result.qty[:3] == 0.0)
    assert result.qty[3] > 0.0
    assert result.buy_and_hold_return == 0.0  # open[3] to close[-1] at a flat price


def test_simulate_when_maker_configured_then_maker_fee_charged():
    open_ = close = [100.0, 100.0, 100.0]
    costs = CostModel(taker_fee=0.004, maker_fee=0.001, use_maker=True, slippage=0.0)

    result = simulate(open_, close, None, [1.0, 1.0, 1.0], costs)

    # qty = 1 / 100, fee = 0.001 * 0.01 * 100
    assert result.fees[1] == pytest.approx(0.001)


def test_simulate_when_volatility_multiplier_then_slippage_scales_with_last_known_move():
    open_ = [100.0, 100.0, 100.0, 100.0]
    close = [100.0, 110.0, 100.0, 100.0]
    costs = CostModel(taker_fee=0.0, slippage=0.001, slippage_volatility_multiplier=2.0)

    result = simulate(open_, close, None, [0.0, 1.0, 1.0, 1.0], costs)

    # fill at bar 2: slippage = 0.001 + 2 * |110 / 100 - 1| = 0.201 -> price 120.1
    qty = 1.0 / 100.0
    assert result.turnover_notional == pytest.approx(qty * 120.1, rel=1e-12)
    assert result.equity[2] == pytest.approx(1.0 - qty * 120.1 + qty * 100.0, rel=1e-12)


def test_simulate_when_volatility_slippage_is_extreme_then_capped_at_half():
    open_ = [100.0, 100.0, 100.0, 100.0]
    close = [100.0, 200.0, 100.0, 100.0]
    costs = CostModel(taker_fee=0.0, slippage=0.0, slippage_volatility_multiplier=100.0)

    result = simulate(open_, close, None, [0.0, -1.0, -1.0, -1.0], costs)

    # a sell at open * (1 - 0.5): the cap keeps the price positive
    assert result.turnover_notional == pytest.approx(0.01 * 50.0, rel=1e-12)


def test_simulate_when_equity_hits_zero_then_stays_flat_at_zero():
    open_ = close = [100.0, 100.0, 80.0, 90.0, 120.0]
    costs = CostModel.zero(leverage=10.0)

    result = simulate(open_, close, None, [1.0] * 5, costs)

    # bar 1: qty 0.1, cash -9; bar 2: equity -9 + 8 = -1 -> ruin, closed and written off
    np.testing.assert_array_equal(result.equity, [1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(result.returns, [0.0, 0.0, -1.0, 0.0, 0.0])
    np.testing.assert_array_equal(result.qty, [0.0, 0.1, 0.0, 0.0, 0.0])
    assert result.trade_records.exit_bar.tolist() == [2]
    assert result.trade_records.pnl.tolist() == [-1.0]
    assert result.trade_records.return_on_equity.tolist() == [-1.0]


def test_simulate_when_equity_at_fill_is_not_positive_then_position_closes_and_ruins():
    open_ = [100.0, 100.0, 85.0, 100.0]
    close = [100.0, 100.0, 100.0, 100.0]
    costs = CostModel.zero(leverage=10.0)

    result = simulate(open_, close, None, [1.0, 0.5, 0.5, 0.5], costs)

    # bar 2 opens at 85: equity_open = -9 + 8.5 = -0.5, so the new target sizes to 0 units
    np.testing.assert_array_equal(result.qty, [0.0, 0.1, 0.0, 0.0])
    np.testing.assert_array_equal(result.equity, [1.0, 1.0, 0.0, 0.0])
    assert result.trade_records.exit_bar.tolist() == [2]
    assert result.trade_records.pnl.tolist() == [-1.0]


def test_simulate_when_short_and_positive_funding_then_funding_received():
    open_ = close = [100.0] * 4
    funding = [0.0, 0.0, 0.001, 0.0]

    long_result = simulate(open_, close, funding, [1.0] * 4, CostModel.zero(funding=True))
    short_result = simulate(open_, close, funding, [-1.0] * 4, CostModel.zero(funding=True))
    off_result = simulate(open_, close, funding, [1.0] * 4, CostModel.zero(funding=False))

    assert long_result.funding[2] == pytest.approx(0.01 * 100.0 * 0.001)
    assert short_result.funding[2] == pytest.approx(-0.01 * 100.0 * 0.001)
    assert long_result.equity[-1] == pytest.approx(1.0 - 0.001)
    assert short_result.equity[-1] == pytest.approx(1.0 + 0.001)
    assert np.all(off_result.funding == 0.0)
    assert off_result.equity[-1] == 1.0


def test_simulate_when_leverage_three_then_three_times_the_units():
    open_ = close = [100.0, 100.0, 100.0]

    result = simulate(open_, close, None, [0.5, 0.5, 0.5], CostModel.zero(leverage=3.0))

    assert result.qty[1] == pytest.approx(0.5 * 3.0 / 100.0)


def test_simulate_when_single_bar_then_flat_result():
    result = simulate([100.0], [101.0], [0.0], [1.0], CostModel())

    assert result.equity.tolist() == [1.0]
    assert result.trades == 0
    assert result.buy_and_hold_return == 0.0


def test_simulate_when_initial_equity_scaled_then_equity_scales():
    open_, close, funding, target = _market()

    one = simulate(open_, close, funding, target, CostModel(), 1.0)
    thousand = simulate(open_, close, funding, target, CostModel(), 1000.0)

    np.testing.assert_allclose(thousand.equity, one.equity * 1000.0, rtol=1e-10)
    np.testing.assert_allclose(thousand.returns, one.returns, rtol=1e-9, atol=1e-15)


def test_simulate_many_when_two_symbols_then_each_equals_its_own_simulate():
    first = _market(seed=1)
    second = _market(n_bars=120, seed=2)

    results = simulate_many([first, second], CostModel())

    np.testing.assert_array_equal(results[0].equity, simulate(*first, CostModel()).equity)
    np.testing.assert_array_equal(results[1].equity, simulate(*second, CostModel()).equity)


@pytest.mark.parametrize(("start", "stop"), [(0, 300), (37, 250), (100, 101), (299, 300)])
@pytest.mark.parametrize("leverage", [1.0, 50.0])
def test_simulate_segment_when_sliced_then_equals_simulate_on_slice(start, stop, leverage):
    open_, close, funding, target = _market()
    costs = CostModel(latency_bars=1, slippage_volatility_multiplier=0.3, leverage=leverage)

    segment = simulate_segment(open_, close, funding, target, costs, start, stop, bucket_bars=24)
    full = simulate(
        open_[start:stop], close[start:stop], funding[start:stop], target[start:stop], costs
    )

    s = segment.summary
    returns = full.returns
    assert s.n_bars == stop - start
    assert s.final_equity == pytest.approx(full.equity[-1], rel=1e-12, abs=1e-15)
    assert s.sum_returns == pytest.approx(returns.sum(), rel=1e-9, abs=1e-12)
    assert s.sum_squared_returns == pytest.approx((returns**2).sum(), rel=1e-9, abs=1e-15)
    negative = np.minimum(returns, 0.0)
    assert s.sum_squared_negative_returns == pytest.approx((negative**2).sum(), rel=1e-9)
    assert s.n_trades == full.trades
    assert s.fees_paid == pytest.approx(full.fees.sum(), rel=1e-12, abs=1e-18)
    assert s.funding_paid == pytest.approx(full.funding.sum(), rel=1e-9, abs=1e-15)
    assert s.bars_exposed == np.count_nonzero(full.qty)
    assert s.turnover_notional == pytest.approx(full.turnover_notional, rel=1e-12)
    assert s.sum_equity == pytest.approx(full.equity.sum(), rel=1e-12)
    assert segment.buy_and_hold_return == pytest.approx(full.buy_and_hold_return, rel=1e-15)
    growth = np.concatenate((1.0 + returns, np.ones(-len(returns) % 24))).reshape(-1, 24)
    expected_buckets = np.prod(growth, axis=1) - 1.0
    np.testing.assert_allclose(segment.bucket_returns, expected_buckets, rtol=1e-9, atol=1e-12)


def test_simulate_segment_when_ruined_then_statistics_count_the_dead_bars():
    open_ = close = np.array([100.0, 100.0, 100.0, 80.0, 90.0, 120.0, 130.0])
    target = np.ones(7)

    segment = simulate_segment(open_, close, None, target, CostModel.zero(leverage=10.0), 1, 7)
    with_buckets = simulate_segment(
        open_, close, None, target, CostModel.zero(leverage=10.0), 1, 7, bucket_bars=2
    )

    # segment bars 1..6: fill at bar 2, ruin at bar 3 (-1 return), then 3 dead bars
    s = segment.summary
    assert s.final_equity == 0.0
    assert s.sum_returns == -1.0
    assert s.sum_squared_negative_returns == 1.0
    assert s.max_drawdown == 1.0
    assert s.max_drawdown_bars == 4  # bars 3..6 below the peak set at bar 2
    assert s.sum_squared_drawdown == 4.0
    assert s.bars_exposed == 1
    np.testing.assert_array_equal(with_buckets.bucket_returns, [0.0, -1.0, 0.0])


def test_simulate_segment_when_bounds_invalid_then_segment_error_naming_them():
    open_, close, funding, target = _market(n_bars=50)

    for start, stop in [(-1, 10), (10, 10), (20, 10), (0, 51)]:
        with pytest.raises(SegmentError, match=f"start={start}, stop={stop} .* the 50 bars"):
            simulate_segment(open_, close, funding, target, CostModel(), start, stop)
    with pytest.raises(SegmentError, match=r"bucket_bars must be >= 0 .* was -1"):
        simulate_segment(open_, close, funding, target, CostModel(), 0, 10, bucket_bars=-1)


def test_segment_error_when_raised_then_an_input_error_not_a_cost_model_error():
    assert issubclass(SegmentError, ValueError) and not issubclass(SegmentError, CostModelError)


def test_simulate_segment_when_bad_value_inside_then_error_names_global_index():
    open_, close, funding, target = _market(n_bars=50)
    target = target.copy()
    target[7] = 1.5

    with pytest.raises(DataError, match=r"target\[7\]"):
        simulate_segment(open_, close, funding, target, CostModel(), 5, 10)
    # outside the segment the value is never read
    simulate_segment(open_, close, funding, target, CostModel(), 10, 50)


@pytest.mark.parametrize(
    ("array_index", "bad_value", "pattern"),
    [
        (0, 0.0, r"open\[3\]"),
        (0, NAN, r"open\[3\]"),
        (1, -5.0, r"close\[3\]"),
        (1, math.inf, r"close\[3\]"),
        (2, math.inf, r"funding_rate\[3\]"),
        (2, NAN, r"funding_rate\[3\]"),
        (3, 1.5, r"target\[3\].*\[-1, 1\]"),
        (3, -math.inf, r"target\[3\]"),
    ],
)
def test_simulate_when_value_invalid_then_data_error_names_array_and_index(
    array_index, bad_value, pattern
):
    arrays = [np.full(6, 100.0), np.full(6, 100.0), np.zeros(6), np.ones(6)]
    arrays[array_index][3] = bad_value

    with pytest.raises(DataError, match=pattern):
        simulate(*arrays, CostModel())


def test_simulate_when_lengths_differ_then_data_error_names_array():
    with pytest.raises(DataError, match="close: length 3 differs from open's 4 bars"):
        simulate([1.0] * 4, [1.0] * 3, None, [0.0] * 4, CostModel())


def test_simulate_when_not_one_dimensional_or_empty_then_data_error():
    with pytest.raises(DataError, match="1-D"):
        simulate(np.ones((2, 2)), np.ones(4), None, np.zeros(4), CostModel())
    with pytest.raises(DataError, match="no bars"):
        simulate([], [], None, [], CostModel())


def test_simulate_when_initial_equity_not_positive_then_cost_model_error():
    for initial_equity in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(CostModelError, match="initial_equity"):
            simulate([1.0], [1.0], None, [0.0], CostModel(), initial_equity)


def test_simulate_when_costs_not_a_cost_model_then_type_error():
    with pytest.raises(TypeError, match="CostModel"):
        simulate([1.0], [1.0], None, [0.0], {"taker_fee": 0.0})  # type: ignore[arg-type]


def test_simulate_when_funding_is_none_then_equals_zero_funding():
    open_, close, _, target = _market()

    none_result = simulate(open_, close, None, target, CostModel())
    zero_result = simulate(open_, close, np.zeros(len(open_)), target, CostModel())

    np.testing.assert_array_equal(none_result.equity, zero_result.equity)


def test_benchmark_when_quick_smoke_run_then_prints_the_table(capsys):
    from benchmarks.simulate import main

    assert main(["--quick", "--skip-vectorbt", "--strategies", "2"]) == 0

    output = capsys.readouterr().out
    assert "evolve summary kernel" in output
    assert "naive pure-Python reference" in output
    assert "ns/bar" in output
