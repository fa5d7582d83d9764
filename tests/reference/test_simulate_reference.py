"""fitness.simulate equals the naive DESIGN §2 loop to 1e-10 on thousands of random cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fitness import CostModel, SimResult, simulate, simulate_segment
from tests.reference.naive_simulate import NaiveResult, naive_simulate

RELATIVE_TOLERANCE = 1e-10

cost_models = st.builds(
    CostModel,
    taker_fee=st.sampled_from([0.0, 0.0005, 0.004]) | st.floats(0.0, 0.099),
    maker_fee=st.sampled_from([0.0, 0.0002]) | st.floats(0.0, 0.099),
    use_maker=st.booleans(),
    slippage=st.sampled_from([0.0, 0.0002, 0.01]) | st.floats(0.0, 0.099),
    slippage_volatility_multiplier=st.sampled_from([0.0, 0.5]) | st.floats(0.0, 20.0),
    latency_bars=st.integers(0, 6),
    leverage=st.sampled_from([1.0, 3.0, 125.0]) | st.floats(0.01, 125.0),
    funding=st.booleans(),
)


def _random_market(seed: int, n_bars: int, volatility: float, change_every: int, nan_share: float):
    rng = np.random.default_rng(seed)
    log_close = np.cumsum(rng.normal(0.0, volatility, n_bars))
    close = 100.0 * np.exp(log_close)
    # opens gap away from the previous close, as real bars do
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, volatility / 4, n_bars))
    funding = np.where(rng.random(n_bars) < 0.15, rng.normal(0.0, 0.003, n_bars), 0.0)
    levels = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    n_blocks = n_bars // change_every + 1
    round_levels = levels[rng.integers(0, 5, n_blocks)]
    blocks = np.where(rng.random(n_blocks) < 0.5, round_levels, rng.uniform(-1, 1, n_blocks))
    blocks[rng.random(n_blocks) < nan_share] = np.nan
    target = np.repeat(blocks, change_every)[:n_bars]
    return open_, close, funding, target


def _naive(open_, close, funding, target, costs: CostModel, initial_equity: float) -> NaiveResult:
    return naive_simulate(
        [float(x) for x in open_],
        [float(x) for x in close],
        [float(x) for x in funding],
        [float(x) for x in target],
        taker_fee=costs.taker_fee,
        maker_fee=costs.maker_fee,
        use_maker=costs.use_maker,
        slippage=costs.slippage,
        slippage_volatility_multiplier=costs.slippage_volatility_multiplier,
        latency_bars=costs.latency_bars,
        leverage=costs.leverage,
        funding=costs.funding,
        initial_equity=initial_equity,
    )


def _close(actual, expected, scale: float, name: str) -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, name
    # relative to the values, with an absolute floor relative to the account's size
    tolerance = RELATIVE_TOLERANCE * np.maximum(np.maximum(abs(actual), abs(expected)), scale)
    bad = np.flatnonzero(~(abs(actual - expected) <= tolerance))
    assert bad.size == 0, f"{name}[{bad[0]}]: kernel {actual[bad[0]]!r}, naive {expected[bad[0]]!r}"


def assert_matches_naive(result: SimResult, naive: NaiveResult, initial_equity: float) -> None:
    scale = max(initial_equity, float(np.max(naive.equity))) * 1e-2
    _close(result.equity, naive.equity, scale, "equity")
    _close(result.returns, naive.returns, 1e-2, "returns")
    qty_scale = max(float(np.max(np.abs(naive.qty))), 1e-300) * 1e-2
    _close(result.qty, naive.qty, qty_scale, "qty")
    _close(result.fees, naive.fees, scale * 1e-2, "fees")
    _close(result.funding, naive.funding, scale * 1e-2, "funding")
    _close(result.turnover_notional, naive.turnover_notional, scale, "turnover_notional")
    assert result.trade_started.tolist() == naive.trade_started
    assert result.trades == len(naive.trades)
    records = result.trade_records
    assert records.entry_bar.tolist() == [trade.entry_bar for trade in naive.trades]
    assert records.exit_bar.tolist() == [trade.exit_bar for trade in naive.trades]
    assert records.side.tolist() == [trade.side for trade in naive.trades]
    _close(records.pnl, [trade.pnl for trade in naive.trades], scale, "trade pnl")
    naive_returns = [trade.pnl / trade.entry_equity for trade in naive.trades]
    _close(records.return_on_equity, naive_returns, 1e-2, "trade return")


@settings(max_examples=2000)
@given(
    costs=cost_models,
    seed=st.integers(0, 2**32 - 1),
    n_bars=st.integers(1, 300),
    volatility=st.sampled_from([0.001, 0.01, 0.05, 0.3]),
    change_every=st.integers(1, 40),
    nan_share=st.sampled_from([0.0, 0.2, 0.6]),
    initial_equity=st.sampled_from([1.0, 1000.0]) | st.floats(1e-3, 1e6),
)
def test_simulate_when_random_market_and_costs_then_equals_naive_loop(
    costs, seed, n_bars, volatility, change_every, nan_share, initial_equity
):
    market = _random_market(seed, n_bars, volatility, change_every, nan_share)

    result = simulate(*market, costs, initial_equity)

    assert_matches_naive(result, _naive(*market, costs, initial_equity), initial_equity)


prices = st.sampled_from([1.0, 2.0, 0.5, 4.0, 100.0, 99.5, 100.5]) | st.floats(0.01, 1000.0)
targets = st.sampled_from([float("nan"), -1.0, -0.5, 0.0, 0.5, 1.0]) | st.floats(-1.0, 1.0)
funding_rates = st.sampled_from([0.0, 0.0001, -0.0001, 0.01]) | st.floats(-0.05, 0.05)


@settings(max_examples=300)
@given(
    bars=st.lists(st.tuples(prices, prices, funding_rates, targets), min_size=1, max_size=25),
    costs=cost_models,
)
def test_simulate_when_adversarial_small_series_then_equals_naive_loop(bars, costs):
    open_, close, funding, target = (np.array(column) for column in zip(*bars, strict=True))

    result = simulate(open_, close, funding, target, costs, 1.0)

    assert_matches_naive(result, _naive(open_, close, funding, target, costs, 1.0), 1.0)


@settings(max_examples=300)
@given(
    costs=cost_models,
    seed=st.integers(0, 2**32 - 1),
    n_bars=st.integers(2, 200),
    volatility=st.sampled_from([0.01, 0.3]),
    bounds=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
)
def test_simulate_segment_when_random_segment_then_equals_naive_loop_on_slice(
    costs, seed, n_bars, volatility, bounds
):
    open_, close, funding, target = _random_market(seed, n_bars, volatility, 7, 0.2)
    start, stop = sorted(int(b * n_bars) for b in bounds)
    stop = max(stop, start + 1)
    start = min(start, n_bars - 1)
    stop = min(stop, n_bars)

    segment = simulate_segment(open_, close, funding, target, costs, start, stop).summary
    naive = _naive(
        open_[start:stop], close[start:stop], funding[start:stop], target[start:stop], costs, 1.0
    )

    returns = np.array(naive.returns)
    scale = max(1.0, float(np.max(naive.equity))) * 1e-2
    _close(segment.final_equity, naive.equity[-1], scale, "final equity")
    _close(segment.sum_returns, returns.sum(), 1e-2, "sum of returns")
    _close(segment.sum_squared_returns, (returns**2).sum(), 1e-2, "sum of squared returns")
    _close(segment.fees_paid, sum(naive.fees), scale * 1e-2, "fees")
    _close(segment.funding_paid, sum(naive.funding), scale * 1e-2, "funding")
    assert segment.n_trades == len(naive.trades)
    assert segment.bars_exposed == sum(q != 0 for q in naive.qty)
