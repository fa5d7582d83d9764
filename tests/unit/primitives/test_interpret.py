"""Compiled strategies: positions, warm-up, memo counters and byte bound, settle bars."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pytest

import primitives
from tests.unit.primitives.markets import SyntheticMarket, make_market

EMA_CROSS = "pos_from(gt(ema(close, 12), ema(close, 26)), lt(ema(close, 12), ema(close, 26)))"
SMA_TREND = "long_only(gt(close, sma(close, 50)))"


@dataclass(frozen=True)
class HashedMarket(SyntheticMarket):
    content_hash: str = ""


def hashed(market: SyntheticMarket, content_hash: str) -> HashedMarket:
    return HashedMarket(**market.columns(), content_hash=content_hash)


def test_positions_when_evaluated_then_read_only_float64_in_range() -> None:
    market = make_market(500, 1)
    out = primitives.compile(EMA_CROSS).positions(market)
    assert out.dtype == np.float64 and out.shape == (500,)
    assert not out.flags.writeable
    finite = out[~np.isnan(out)]
    assert finite.min() >= -1.0 and finite.max() <= 1.0
    assert set(np.unique(finite)) == {-1.0, 1.0}


@pytest.mark.parametrize(
    ("text", "lookback"),
    [
        (SMA_TREND, 49),
        (EMA_CROSS, 25),
        ("long_only(crosses_above(close, lag(sma(close, 10), 5)))", 15),
        ("atr_stop(long_only(gt(close, sma(close, 50))), 14, 3.0)", 49),
        ("atr_stop(long_only(gt(close, sma(close, 5))), 14, 3.0)", 13),
        ("vol_target(long_only(weekend), 30, 0.01)", 30),
        ("long_only(hour_between(8, 16))", 0),
    ],
)
def test_lookback_when_compiled_then_nan_exactly_on_warmup_bars(text: str, lookback: int) -> None:
    strategy = primitives.compile(text)
    out = strategy.positions(make_market(300, 2))
    assert strategy.lookback == lookback
    assert np.isnan(out[:lookback]).all()
    assert np.isfinite(out[lookback:]).all()


def test_lookback_when_longer_than_series_then_all_nan() -> None:
    out = primitives.compile(SMA_TREND).positions(make_market(20, 3))
    assert np.isnan(out).all()


def test_compiled_when_inspected_then_exposes_text_id_pretty_size_depth() -> None:
    strategy = primitives.compile(SMA_TREND)
    assert strategy.text == SMA_TREND
    assert strategy.id == primitives.strategy_id(SMA_TREND)
    assert strategy.pretty == "long if close > SMA(close, 50)"
    assert (strategy.size, strategy.depth) == (6, 3)
    assert not strategy.is_stateful
    assert primitives.compile(SMA_TREND) is strategy  # compiled texts are cached


def test_compile_when_identical_subtrees_then_each_evaluated_once() -> None:
    strategy = primitives.compile(EMA_CROSS)
    assert len(strategy.node_texts) == len(set(strategy.node_texts))
    assert strategy.node_texts.count("ema(close, 12)") == 1


def test_compile_when_root_is_not_position_then_primitive_type_error() -> None:
    tree = primitives.parse(SMA_TREND)
    signal = type(tree)(tree[1:])
    with pytest.raises(primitives.PrimitiveTypeError, match="must return Position"):
        primitives.compile(signal)


def test_memo_when_strategy_repeated_then_hits_and_identical_positions() -> None:
    market = hashed(make_market(400, 4), "sha256:a")
    memo = primitives.Memo(admit_after=1)
    strategy = primitives.compile(EMA_CROSS)

    first = strategy.positions(market, memo)
    misses = memo.misses
    second = strategy.positions(market, memo)

    assert misses == 2  # the two EMAs; element-wise nodes are cheaper to recompute than to store
    assert memo.hits == misses and memo.misses == misses
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(first, strategy.positions(market))


def test_memo_when_stateful_root_repeated_then_root_itself_is_served() -> None:
    market = hashed(make_market(400, 4), "sha256:g")
    memo = primitives.Memo(admit_after=1)
    strategy = primitives.compile("atr_stop(long_only(gt(close, sma(close, 20))), 14, 2.0)")
    first = strategy.positions(market, memo)
    assert strategy.positions(market, memo) is first


def test_memo_when_strategies_share_subtrees_then_shared_nodes_hit() -> None:
    market = hashed(make_market(400, 4), "sha256:b")
    memo = primitives.Memo(admit_after=1)
    primitives.compile(EMA_CROSS).positions(market, memo)
    hits = memo.hits
    primitives.compile("long_only(gt(close, ema(close, 26)))").positions(market, memo)
    assert memo.hits == hits + 1


def test_memo_when_markets_differ_then_keys_differ() -> None:
    memo = primitives.Memo(admit_after=1)
    strategy = primitives.compile(SMA_TREND)
    a = strategy.positions(hashed(make_market(300, 5), "sha256:c"), memo)
    b = strategy.positions(hashed(make_market(300, 6), "sha256:d"), memo)
    assert memo.hits == 0
    assert not np.array_equal(a, b, equal_nan=True)


def test_memo_when_market_has_no_content_hash_then_keyed_by_identity() -> None:
    market = make_market(300, 7)
    key = primitives.Memo.market_key(market)
    assert key == ("id", id(market), 300)
    assert primitives.Memo.market_key(hashed(market, "sha256:e")) == "sha256:e"


def test_memo_when_over_byte_budget_then_evicts_least_recently_used() -> None:
    memo = primitives.Memo(max_bytes=3 * 8 * 100, admit_after=1)
    arrays = {name: np.full(100, float(i)) for i, name in enumerate("abcd")}
    for name in "abc":
        memo.put(name, arrays[name])
    memo.get("a")  # a becomes most recent; b is now the oldest
    memo.put("d", arrays["d"])
    assert memo.bytes <= memo.max_bytes and len(memo) == 3
    assert memo.get("b") is None and memo.get("a") is not None
    memo.put("huge", np.zeros(1000))
    assert memo.get("huge") is None
    memo.clear()
    assert (len(memo), memo.bytes, memo.hits, memo.misses) == (0, 0, 0, 0)


def test_memo_when_many_strategies_then_bytes_never_exceed_budget() -> None:
    market = hashed(make_market(1000, 8), "sha256:f")
    memo = primitives.Memo(max_bytes=50_000, admit_after=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        primitives.compile(primitives.random_tree(rng, max_depth=4)).positions(market, memo)
        assert memo.bytes <= 50_000


def test_settle_bars_when_started_later_then_matches_full_history_after_settling() -> None:
    market = make_market(6000, 9)
    strategy = primitives.compile("short_only(gt(rsi(ema(close, 30), 14), 55.0))")
    start = 1000
    later = SyntheticMarket(**{k: v[start:] for k, v in market.columns().items()})
    full = strategy.positions(market)
    partial = strategy.positions(later)
    settled = strategy.settle_bars
    assert strategy.lookback < settled < 2000
    np.testing.assert_array_equal(partial[settled:], full[start + settled :])


def test_positions_when_market_columns_differ_in_length_then_market_input_error() -> None:
    market = make_market(50, 10)
    broken = SyntheticMarket(**{**market.columns(), "high": market.high[:-1]})
    with pytest.raises(primitives.MarketInputError, match=r"differ in length: .* 49"):
        primitives.compile("long_only(gt(close, donchian_high(5)))").positions(broken)


def test_positions_when_market_lacks_a_column_then_market_input_error_names_it() -> None:
    class NoVolume:
        close = np.ones(5)

    with pytest.raises(primitives.MarketInputError, match="no column 'high'"):
        primitives.compile("long_only(gt(close, donchian_high(2)))").positions(NoVolume())  # type: ignore[arg-type]


def test_positions_when_market_column_is_2d_then_market_input_error_names_shape() -> None:
    market = make_market(20, 4)
    broken = SyntheticMarket(**{**market.columns(), "close": market.close.reshape(4, 5)})

    with pytest.raises(primitives.MarketInputError, match=r"'close': expected a 1-D .*\(4, 5\)"):
        primitives.compile(SMA_TREND).positions(broken)


def test_market_input_error_when_caught_then_a_value_error_subclass() -> None:
    assert issubclass(primitives.MarketInputError, ValueError)


def test_compiled_when_pickled_then_recompiled_from_text() -> None:
    strategy = primitives.compile(EMA_CROSS)
    restored = pickle.loads(pickle.dumps(strategy))
    assert restored.text == strategy.text and restored.id == strategy.id


def test_compile_when_composites_share_hidden_subexpressions_then_planned_once() -> None:
    strategy = primitives.compile("atr_stop(long_only(gt(close, keltner_upper(14, 2.0))), 14, 3.0)")
    assert strategy.node_texts.count("atr(14)") == 1
    assert "ema(close, 14)" in strategy.node_texts


def test_memo_when_hidden_subexpression_seen_before_then_served_from_memo() -> None:
    market = hashed(make_market(300, 11), "sha256:h")
    memo = primitives.Memo(admit_after=1)
    primitives.compile("long_only(delta_positive(atr(14)))").positions(market, memo)
    hits = memo.hits
    primitives.compile("atr_stop(long_only(weekend), 14, 3.0)").positions(market, memo)
    assert memo.hits > hits  # atr(14) computed by the first strategy


def test_memo_when_key_offered_once_then_not_stored_until_second_offer() -> None:
    market = hashed(make_market(400, 12), "sha256:i")
    memo = primitives.Memo()  # default doorkeeper: store on the second use
    strategy = primitives.compile(EMA_CROSS)

    first = strategy.positions(market, memo)
    assert len(memo) == 0 and memo.bytes == 0
    second = strategy.positions(market, memo)
    third = strategy.positions(market, memo)

    assert len(memo) == 2 and memo.hits == 2 and memo.misses == 4
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, third)


def test_memo_when_admit_after_below_one_then_value_error() -> None:
    with pytest.raises(ValueError, match="admit_after"):
        primitives.Memo(admit_after=0)
