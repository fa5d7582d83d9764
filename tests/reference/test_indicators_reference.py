"""Every registered primitive equals its naive pure-Python oracle to 1e-9 (warm-up included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import primitives
from primitives.types import (
    CONSTANT_SPECS,
    Funding,
    Oscillator,
    Position,
    Price,
    PriceDelta,
    Ratio,
    Signal,
    ZScore,
)
from tests.reference import naive_indicators as nv
from tests.unit.primitives.markets import SyntheticMarket, make_market

Reference = Callable[..., list[Any]]


def _map(f: Callable[..., Any]) -> Reference:
    return lambda m, *columns: [f(*values) for values in zip(*columns, strict=True)]


def _cross(above: bool) -> Reference:
    return lambda m, a, b: nv.crosses(a, b, above)


def _cross_level(above: bool) -> Reference:
    return lambda m, a, level: nv.crosses(a, [level] * len(a), above)


def _keltner(side: float) -> Reference:
    def band(m: SyntheticMarket, n: int, k: float) -> list[float]:
        middle = nv.ema(m.close, n)
        width = nv.atr(m.high, m.low, m.close, n)
        return [e + side * k * a for e, a in zip(middle, width, strict=True)]

    return band


def _macd(x: Any, fast: int, slow: int) -> list[float]:
    return [a - b for a, b in zip(nv.ema(x, fast), nv.ema(x, slow), strict=True)]


REFERENCES: dict[str, Reference] = {
    "open": lambda m: list(m.open),
    "high": lambda m: list(m.high),
    "low": lambda m: list(m.low),
    "close": lambda m: list(m.close),
    "typical": lambda m: nv.typical(m.high, m.low, m.close),
    "funding": lambda m: nv.funding_last(m.timestamp, m.funding_rate),
    "weekend": lambda m: [nv.weekday(int(t)) >= 5 for t in m.timestamp],
    "sma": lambda m, x, n: nv.sma(x, n),
    "ema": lambda m, x, n: nv.ema(x, n),
    "wma": lambda m, x, n: nv.wma(x, n),
    "rolling_max": lambda m, x, n: nv.rolling_max(x, n),
    "rolling_min": lambda m, x, n: nv.rolling_min(x, n),
    "lag": lambda m, x, n: nv.lag(x, n),
    "donchian_high": lambda m, n: nv.donchian_high(m.high, n),
    "donchian_low": lambda m, n: nv.donchian_low(m.low, n),
    "bb_upper": lambda m, x, n, k: nv.bollinger(x, n, k, 1.0),
    "bb_lower": lambda m, x, n, k: nv.bollinger(x, n, k, -1.0),
    "keltner_upper": _keltner(1.0),
    "keltner_lower": _keltner(-1.0),
    "vwap": lambda m, n: nv.vwap(m.high, m.low, m.close, m.volume, n),
    "midpoint": lambda m, n: nv.midpoint(m.high, m.low, n),
    "mid": _map(lambda a, b: (a + b) / 2),
    "add_delta": _map(lambda a, b: a + b),
    "sub_delta": _map(lambda a, b: a - b),
    "atr": lambda m, n: nv.atr(m.high, m.low, m.close, n),
    "macd": lambda m, x, f, s: _macd(x, f, s),
    "macd_signal": lambda m, x, f, s, g: nv.ema(_macd(x, f, s), g),
    "spread": _map(lambda a, b: a - b),
    "stdev": lambda m, x, n: nv.std(x, n),
    "scale": lambda m, x, k: [k * v for v in x],
    "roc": lambda m, x, n: nv.roc(x, n),
    "ratio": _map(lambda a, b: a / b - 1),
    "realised_vol": lambda m, x, n: nv.realised_vol(x, n),
    "natr": lambda m, n: [
        a / c for a, c in zip(nv.atr(m.high, m.low, m.close, n), m.close, strict=True)
    ],
    "zscore": lambda m, x, n: nv.zscore(x, n),
    "volume_z": lambda m, n: nv.zscore(m.volume, n),
    "funding_z": lambda m, x, n: nv.zscore(x, n),
    "funding_mean": lambda m, x, n: nv.sma(x, n),
    "rsi": lambda m, x, n: nv.rsi(x, n),
    "stoch_k": lambda m, n: nv.stoch_k(m.high, m.low, m.close, n),
    "stoch_d": lambda m, n, s: nv.sma(nv.stoch_k(m.high, m.low, m.close, n), s),
    "percent_b": lambda m, x, n, k: nv.percent_b(x, n, k),
    "gt_price": lambda m, a, b: nv.greater(a, b),
    "lt_price": lambda m, a, b: nv.less(a, b),
    "crosses_above": _cross(True),
    "crosses_below": _cross(False),
    "gt_delta": lambda m, a, b: nv.greater(a, b),
    "crosses_above_delta": _cross(True),
    "crosses_below_delta": _cross(False),
    "delta_positive": lambda m, a: [bool(v > 0) for v in a],
    "gt_osc_level": lambda m, a, level: [bool(v > level) for v in a],
    "lt_osc_level": lambda m, a, level: [bool(v < level) for v in a],
    "gt_osc": lambda m, a, b: nv.greater(a, b),
    "crosses_above_osc_level": _cross_level(True),
    "crosses_below_osc_level": _cross_level(False),
    "gt_z_level": lambda m, a, level: [bool(v > level) for v in a],
    "lt_z_level": lambda m, a, level: [bool(v < level) for v in a],
    "gt_ratio_level": lambda m, a, level: [bool(v > level) for v in a],
    "lt_ratio_level": lambda m, a, level: [bool(v < level) for v in a],
    "gt_ratio": lambda m, a, b: nv.greater(a, b),
    "gt_funding_level": lambda m, a, level: [bool(v > level) for v in a],
    "lt_funding_level": lambda m, a, level: [bool(v < level) for v in a],
    "rising": lambda m, x, n: nv.streak(x, n, True),
    "falling": lambda m, x, n: nv.streak(x, n, False),
    "and_": _map(lambda a, b: bool(a and b)),
    "or_": _map(lambda a, b: bool(a or b)),
    "not_": _map(lambda a: not a),
    "if_then_else": _map(lambda c, a, b: bool(a if c else b)),
    "hour_between": lambda m, start, stop: nv.hour_between(m.timestamp, start, stop),
    "weekday_is": lambda m, day: [nv.weekday(int(t)) == day for t in m.timestamp],
    "pos_from": _map(lambda a, b: 1.0 if a and not b else (-1.0 if b and not a else 0.0)),
    "long_only": _map(lambda a: 1.0 if a else 0.0),
    "short_only": _map(lambda a: -1.0 if a else 0.0),
    "latch": lambda m, a, b, c, d: nv.latch(a, b, c, d),
    "atr_stop": lambda m, p, n, k: nv.atr_stop(m.high, m.low, m.close, p, n, k),
    "vol_target": lambda m, p, n, target: nv.vol_target(m.close, p, n, target),
}


def series_argument(type_: type, market: SyntheticMarket, rng: np.random.Generator) -> np.ndarray:
    """A plausible random input series of ``type_``, with a NaN warm-up prefix."""
    n = len(market)
    prefix = int(rng.integers(0, 25))
    if type_ is Signal:
        return rng.random(n) < 0.3
    if type_ is Price:
        values = market.close * (1.0 + rng.normal(0.0, 0.002, n))
    elif type_ is PriceDelta:
        values = rng.normal(0.0, 100.0, n)
    elif type_ is Ratio:
        values = rng.normal(0.0, 0.01, n)
    elif type_ is ZScore:
        values = rng.normal(0.0, 1.0, n)
    elif type_ is Funding:
        values = np.asarray(nv.funding_last(market.timestamp, market.funding_rate))
    elif type_ is Oscillator:
        values = rng.uniform(0.0, 100.0, n).round(0)
    elif type_ is Position:
        levels = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
        values = np.repeat(rng.choice(levels, n // 10 + 1), 10)[:n]
    else:  # pragma: no cover
        raise AssertionError(type_)
    values = values.astype(np.float64)
    values[:prefix] = np.nan
    return values


def random_arguments(
    entry: primitives.PrimitiveEntry, market: SyntheticMarket, seed: int
) -> list[Any]:
    rng = np.random.default_rng(seed)
    args: list[Any] = []
    for type_ in entry.arg_types:
        if type_ in CONSTANT_SPECS:
            grid = CONSTANT_SPECS[type_].grid
            args.append(grid[int(rng.integers(len(grid)))])
        else:
            args.append(series_argument(type_, market, rng))
    return args


def assert_matches(actual: np.ndarray, expected: list[Any], context: str) -> None:
    if actual.dtype == np.bool_:
        np.testing.assert_array_equal(actual, np.asarray(expected, dtype=bool), err_msg=context)
        return
    wanted = np.asarray(expected, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(wanted), err_msg=f"NaN mask {context}")
    finite = ~np.isnan(wanted)
    scale = float(np.max(np.abs(wanted[finite]))) if finite.any() else 1.0
    np.testing.assert_allclose(
        actual[finite], wanted[finite], rtol=1e-9, atol=1e-12 * scale, err_msg=context
    )


def test_references_when_listed_then_cover_every_registry_entry() -> None:
    assert set(REFERENCES) == {entry.key for entry in primitives.registry()}


@pytest.mark.parametrize("entry", primitives.registry(), ids=lambda e: e.key)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_when_random_inputs_then_equals_naive_reference(
    entry: primitives.PrimitiveEntry, seed: int
) -> None:
    market = make_market(400, seed)
    args = random_arguments(entry, market, seed * 7919)

    actual = entry(*args, market=market)
    expected = REFERENCES[entry.key](market, *args)

    assert_matches(actual, expected, f"{entry.name}{tuple(a for a in args if np.isscalar(a))}")


@pytest.mark.parametrize(
    "name", ["sma", "stdev", "zscore", "wma", "rolling_max", "bb_upper", "percent_b"]
)
@pytest.mark.parametrize("window", [20, 200])
def test_windowed_kernel_when_100k_bars_then_no_drift_versus_naive(name: str, window: int) -> None:
    market = make_market(100_000, 11, step_volatility=0.003)
    entry = {e.key: e for e in primitives.registry()}[name]
    constants = [window] + ([2.0] if len(entry.arg_types) == 3 else [])
    actual = entry(market.close, *constants)
    indices = [*range(window - 1, 100_000, 997), *range(100_000 - 50, 100_000)]

    for i in indices:
        window_values = market.close[i - window + 1 : i + 1]
        expected = REFERENCES[name](market, window_values, *constants)[-1]
        assert abs(actual[i] - expected) <= 1e-9 * max(abs(expected), 1e-300), (
            i,
            actual[i],
            expected,
        )


@pytest.mark.parametrize("name", ["ema", "rsi"])
def test_recursive_kernel_when_100k_bars_then_equals_naive(name: str) -> None:
    market = make_market(100_000, 12, step_volatility=0.003)
    entry = {e.key: e for e in primitives.registry()}[name]

    assert_matches(entry(market.close, 50), REFERENCES[name](market, market.close, 50), name)


def test_atr_when_100k_bars_then_equals_naive() -> None:
    market = make_market(100_000, 13, step_volatility=0.003)
    entry = {e.key: e for e in primitives.registry()}["atr"]

    assert_matches(
        entry(14, market=market), nv.atr(market.high, market.low, market.close, 14), "atr"
    )


@pytest.mark.parametrize(
    ("expression", "warmup"),
    [
        ("sma(close, 20)", 19), ("ema(close, 20)", 19), ("wma(close, 20)", 19),
        ("rolling_max(close, 20)", 19), ("lag(close, 20)", 20), ("roc(close, 20)", 20),
        ("rsi(close, 14)", 14), ("zscore(close, 20)", 19), ("realised_vol(close, 20)", 20),
        ("stdev(close, 20)", 19), ("bb_upper(close, 20, 2.0)", 19),
        ("percent_b(close, 20, 2.0)", 19), ("macd(close, 12, 26)", 25),
        ("macd_signal(close, 12, 26, 9)", 33), ("atr(14)", 13), ("donchian_high(20)", 20),
        ("donchian_low(20)", 20), ("keltner_upper(20, 2.0)", 19), ("vwap(20)", 19),
        ("midpoint(26)", 25), ("stoch_k(14)", 13), ("stoch_d(14, 3)", 15), ("natr(14)", 13),
        ("volume_z(20)", 19), ("sma(lag(close, 5), 10)", 14),
        ("macd_signal(sma(close, 10), 12, 26, 9)", 42),
    ],
)  # fmt: skip
def test_indicator_when_clean_market_then_nan_warmup_equals_compiled_lookback(
    expression: str, warmup: int
) -> None:
    market = make_market(300, 5)
    tree = primitives.parse(expression, root_type=None)
    indicator = primitives.compile(tree, root_type=tree[0].ret)

    out = indicator.evaluate(market)

    assert indicator.lookback == warmup
    assert np.isnan(out[:warmup]).all()
    assert np.isfinite(out[warmup:]).all()


def test_donchian_breakout_when_flat_then_rising_then_fires_on_first_new_high() -> None:
    close = np.concatenate([np.full(30, 100.0), 100.0 + np.arange(1, 11)])
    market = make_market(40, 0)
    flat_then_rising = type(market)(
        market.timestamp,
        close,
        close.copy(),
        close.copy(),
        close,
        market.volume,
        market.funding_rate,
    )
    breakout = primitives.compile("long_only(gt(close, donchian_high(20)))")

    position = breakout.positions(flat_then_rising)

    assert np.all(position[20:30] == 0.0)
    assert np.all(position[30:] == 1.0)  # a channel including the current bar would never fire
