"""Invariants of the backtest: causality, flat, buy-and-hold, fees, funding, latency, ruin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fitness import CostModel, simulate, simulate_segment

LEVELS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, np.nan])


def _market(seed: int, n_bars: int, volatility: float = 0.02):
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, volatility, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, volatility / 5, n_bars))
    funding = np.where(rng.random(n_bars) < 0.125, rng.normal(0.0001, 0.0005, n_bars), 0.0)
    change_every = int(rng.integers(1, 30))
    blocks = rng.choice(LEVELS, n_bars // change_every + 1)
    target = np.repeat(blocks, change_every)[:n_bars]
    return open_, close, funding, target


seeds = st.integers(0, 2**32 - 1)
lengths = st.integers(2, 200)
any_costs = st.builds(
    CostModel,
    taker_fee=st.floats(0.0, 0.01),
    maker_fee=st.floats(0.0, 0.01),
    use_maker=st.booleans(),
    slippage=st.floats(0.0, 0.01),
    slippage_volatility_multiplier=st.floats(0.0, 2.0),
    latency_bars=st.integers(0, 5),
    leverage=st.floats(0.1, 125.0),
    funding=st.booleans(),
)


def _outputs(result):
    return (result.equity, result.returns, result.qty, result.fees, result.funding)


@given(seed=seeds, n_bars=lengths, costs=any_costs, data=st.data())
def test_simulate_when_future_targets_change_then_past_outputs_unchanged(seed, n_bars, costs, data):
    open_, close, funding, target = _market(seed, n_bars)
    k = data.draw(st.integers(0, n_bars - 1))
    changed = target.copy()
    changed[k:] = data.draw(st.sampled_from([1.0, -1.0, 0.0, np.nan]))

    before = simulate(open_, close, funding, target, costs)
    after = simulate(open_, close, funding, changed, costs)

    # target[k] decides at bar k's close and fills at bar k + 1 + L at the earliest
    visible = k + 1 + costs.latency_bars
    for old, new in zip(_outputs(before), _outputs(after), strict=True):
        np.testing.assert_array_equal(old[:visible], new[:visible])


@given(seed=seeds, n_bars=lengths, costs=any_costs, data=st.data())
def test_simulate_when_future_prices_change_then_past_outputs_unchanged(seed, n_bars, costs, data):
    open_, close, funding, target = _market(seed, n_bars)
    k = data.draw(st.integers(1, n_bars - 1))
    scale = data.draw(st.sampled_from([0.5, 1.7, 3.0]))
    moved = [array.copy() for array in (open_, close, funding)]
    for array in moved:
        array[k:] *= scale

    before = simulate(open_, close, funding, target, costs)
    after = simulate(*moved, target, costs)

    for old, new in zip(_outputs(before), _outputs(after), strict=True):
        np.testing.assert_array_equal(old[:k], new[:k])


@given(seed=seeds, n_bars=lengths, costs=any_costs, nan_mask=st.integers(0, 2**16))
def test_simulate_when_target_always_flat_then_equity_never_moves(seed, n_bars, costs, nan_mask):
    open_, close, funding, _ = _market(seed, n_bars)
    target = np.where((nan_mask >> (np.arange(n_bars) % 16)) & 1, np.nan, 0.0)

    result = simulate(open_, close, funding, target, costs, 250.0)

    assert np.all(result.equity == 250.0)
    assert np.all(result.returns == 0.0)
    assert result.trades == 0
    assert np.all(result.fees == 0.0)


@given(seed=seeds, n_bars=lengths, latency_bars=st.integers(0, 5))
def test_simulate_when_zero_costs_and_always_long_then_buy_and_hold_of_same_span(
    seed, n_bars, latency_bars
):
    open_, close, funding, _ = _market(seed, n_bars)
    costs = CostModel.zero(latency_bars=latency_bars)

    result = simulate(open_, close, funding, np.ones(n_bars), costs)

    entry = 1 + latency_bars
    if entry < n_bars:
        expected = close[entry:] / open_[entry]
        np.testing.assert_allclose(result.equity[entry:], expected, rtol=1e-12)
        assert np.isclose(result.equity[-1] - 1.0, result.buy_and_hold_return, rtol=1e-12)
    assert np.all(result.equity[: min(entry, n_bars)] == 1.0)


realistic_costs = st.builds(
    CostModel,
    taker_fee=st.floats(0.0, 0.005),
    slippage=st.floats(0.0, 0.005),
    slippage_volatility_multiplier=st.floats(0.0, 1.0),
    latency_bars=st.integers(0, 3),
    leverage=st.floats(0.1, 5.0),
    funding=st.booleans(),
)


@given(seed=seeds, n_bars=lengths, costs=realistic_costs)
def test_simulate_when_fees_doubled_then_final_equity_never_rises(seed, n_bars, costs):
    # holds while one fill's cost stays below the equity it is charged on (here < 15 %)
    open_, close, funding, target = _market(seed, n_bars, volatility=0.01)
    doubled = costs.model_copy(update={"taker_fee": 2.0 * costs.taker_fee})

    base = simulate(open_, close, funding, target, costs)
    costly = simulate(open_, close, funding, target, doubled)

    assert costly.equity[-1] <= base.equity[-1] * (1.0 + 1e-12)
    assert costly.fees.sum() >= 0.0


@given(
    seed=seeds,
    n_bars=lengths,
    side=st.sampled_from([1.0, -1.0]),
    rate=st.floats(1e-6, 0.01),
    leverage=st.floats(0.1, 10.0),
)
def test_simulate_when_positive_funding_then_long_pays_and_short_receives(
    seed, n_bars, side, rate, leverage
):
    open_, close, _, _ = _market(seed, n_bars, volatility=0.01)
    funding = np.where(np.arange(n_bars) % 8 == 0, rate, 0.0)

    result = simulate(open_, close, funding, np.full(n_bars, side), CostModel(leverage=leverage))

    held = np.concatenate(([0.0], result.qty[:-1]))
    settled = (funding != 0.0) & (held != 0.0)
    assert np.all(np.sign(result.funding[settled]) == side)
    np.testing.assert_allclose(result.funding, held * open_ * funding, rtol=1e-12, atol=0.0)


@given(seed=seeds, n_bars=lengths, costs=any_costs, latency_bars=st.integers(1, 6))
def test_simulate_when_latency_then_fills_shift_by_exactly_that_many_bars(
    seed, n_bars, costs, latency_bars
):
    open_, close, funding, target = _market(seed, n_bars)
    shifted = np.concatenate((np.full(latency_bars, np.nan), target))[:n_bars]

    delayed = simulate(
        open_, close, funding, target, costs.model_copy(update={"latency_bars": latency_bars})
    )
    immediate = simulate(
        open_, close, funding, shifted, costs.model_copy(update={"latency_bars": 0})
    )

    for late, early in zip(_outputs(delayed), _outputs(immediate), strict=True):
        np.testing.assert_array_equal(late, early)
    np.testing.assert_array_equal(
        delayed.trade_records.entry_bar, immediate.trade_records.entry_bar
    )


@given(seed=seeds, n_bars=lengths, costs=any_costs, initial_equity=st.floats(0.01, 1e6))
def test_simulate_when_any_run_then_trade_pnls_sum_to_net_pnl(seed, n_bars, costs, initial_equity):
    open_, close, funding, target = _market(seed, n_bars, volatility=0.05)

    result = simulate(open_, close, funding, target, costs, initial_equity)

    net = result.equity[-1] - initial_equity
    scale = max(initial_equity, float(result.equity.max())) * costs.leverage
    assert abs(result.trade_records.pnl.sum() - net) <= 1e-10 * scale
    assert len(result.trade_records) == result.trades == int(result.trade_started.sum())


@given(seed=seeds, n_bars=lengths, costs=any_costs)
def test_simulate_when_ruined_then_zero_is_absorbing(seed, n_bars, costs):
    open_, close, funding, target = _market(seed, n_bars, volatility=0.2)
    heavy = costs.model_copy(update={"leverage": 100.0})

    result = simulate(open_, close, funding, target, heavy)

    ruined = np.flatnonzero(result.equity == 0.0)
    if ruined.size:
        first = ruined[0]
        assert np.all(result.equity[first:] == 0.0)
        assert np.all(result.qty[first:] == 0.0)
        assert result.returns[first] == -1.0
        assert np.all(result.returns[first + 1 :] == 0.0)
    assert np.all(result.equity >= 0.0)


@given(seed=seeds, n_bars=lengths, costs=any_costs)
def test_simulate_when_repeated_then_bit_identical(seed, n_bars, costs):
    market = _market(seed, n_bars)

    first = simulate(*market, costs)
    second = simulate(*market, costs)

    for a, b in zip(_outputs(first), _outputs(second), strict=True):
        assert a.tobytes() == b.tobytes()


@settings(max_examples=200)
@given(seed=seeds, n_bars=lengths, costs=any_costs, data=st.data())
def test_simulate_segment_when_any_segment_then_equals_simulate_on_the_slice(
    seed, n_bars, costs, data
):
    open_, close, funding, target = _market(seed, n_bars, volatility=0.1)
    start = data.draw(st.integers(0, n_bars - 1))
    stop = data.draw(st.integers(start + 1, n_bars))
    bucket_bars = data.draw(st.integers(1, 30))

    segment = simulate_segment(
        open_, close, funding, target, costs, start, stop, bucket_bars=bucket_bars
    )
    full = simulate(*(array[start:stop] for array in (open_, close, funding, target)), costs)

    s = segment.summary
    scale = max(1.0, float(full.equity.max())) * costs.leverage
    assert s.final_equity == full.equity[-1]  # one shared step: bit-identical
    assert s.n_trades == full.trades
    assert s.bars_exposed == np.count_nonzero(full.qty)
    np.testing.assert_allclose(s.sum_returns, full.returns.sum(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.fees_paid, full.fees.sum(), rtol=1e-12, atol=1e-15 * scale)
    np.testing.assert_allclose(s.funding_paid, full.funding.sum(), rtol=1e-9, atol=1e-15 * scale)
    padding = np.ones(-(stop - start) % bucket_bars)
    growth = np.concatenate((1.0 + full.returns, padding)).reshape(-1, bucket_bars)
    np.testing.assert_allclose(
        segment.bucket_returns, growth.prod(axis=1) - 1.0, rtol=1e-9, atol=1e-12
    )
