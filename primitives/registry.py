"""The one table of primitives: name, typed signature, kernel, warm-up and documentation.

Every primitive and terminal of the strategy language is a ``PrimitiveEntry`` here; the DEAP
primitive set (``pset.py``), the interpreter, the pretty printer, ``PSET_VERSION`` and the
README table are all derived from this table. Adding a primitive means one entry, one kernel,
one naive reference in ``tests/reference/``; bump ``version`` when a kernel's output changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from primitives import arithmetic as ar
from primitives import comparisons as cmp
from primitives import indicators as ind
from primitives import logic as lg
from primitives import positions as pos
from primitives import rolling as rl
from primitives.arrays import MarketLike, market_column, readonly
from primitives.errors import ExpressionError
from primitives.types import (
    CONSTANT_SPECS,
    Funding,
    FundingLevel,
    Hour,
    Multiplier,
    Oscillator,
    OscLevel,
    Position,
    Price,
    PriceDelta,
    Ratio,
    RatioLevel,
    Signal,
    VolTarget,
    Weekday,
    Window,
    ZLevel,
    ZScore,
    checked_constant,
    is_series_type,
    series_dtype,
)

# Operator precedences of the pretty form; CALL and ROOT never parenthesise their arguments
ROOT, OR, AND, NOT, COMPARE, ADDITIVE, MULTIPLICATIVE, CALL = 0, 20, 30, 40, 50, 70, 80, 100
SETTLE_TOLERANCE = 1e-9


def _zero(*_constants: float) -> int:
    return 0


@dataclass(frozen=True, slots=True)
class PrimitiveEntry:
    """One primitive (or terminal) of the strategy language.

    The kernel is called as ``kernel(*market columns, *hidden, *arguments, *fixed)``: first the
    market columns named in ``market_inputs``, then the arrays of the ``hidden``
    sub-expressions, then one value per ``arg_types`` slot listed in ``kernel_args`` (all slots
    when None; an array for a series type, a Python int/float for a constant type), then
    ``fixed`` extra scalars.

    ``hidden`` makes a composite primitive sugar over shared sub-expressions of the language:
    each item is ``(primitive name, sources)`` where a source is an argument index or a market
    terminal name, e.g. ``atr_stop(P, n, k)`` hides ``("atr", (1,))`` = ``atr(n)``. The
    interpreter plans them as ordinary nodes, so they are computed once per strategy and shared
    through the memo with every other strategy using ``atr(n)``.

    ``name`` is the name written in expressions; comparisons are overloaded by dimension
    (``gt(close, sma(close, 50))``, ``lt(rsi(close, 14), 30.0)``, ``gt(zscore(close, 20),
    2.0)``) and the parser picks the overload from the argument types. ``key`` is unique per
    entry (``gt_price``, ``lt_osc_level``…) and names the entry inside the primitive set,
    the memo plan and ``entry()``; it equals ``name`` for every primitive that is not
    overloaded.

    ``warmup(*constants)`` is the number of leading bars of NaN this node adds on top of the
    longest warm-up of its inputs (arguments and hidden sub-expressions); ``settle(*constants)``
    the further bars an infinite-memory kernel needs before a later start changes its output by
    less than 1e-9 relative.
    """

    name: str
    arg_types: tuple[type, ...]
    ret_type: type
    kernel: Callable[..., np.ndarray]  # a numba dispatcher (untyped to mypy)
    doc: str
    category: str
    market_inputs: tuple[str, ...] = ()
    fixed: tuple[float, ...] = ()
    warmup: Callable[..., int] = _zero
    settle: Callable[..., int] = _zero
    pretty: str = ""
    precedence: int = CALL
    is_column: bool = False
    is_stateful: bool = False
    hidden: tuple[tuple[str, tuple[int | str, ...]], ...] = ()
    kernel_args: tuple[int, ...] | None = None
    version: int = 1
    key: str = ""

    @property
    def arity(self) -> int:
        return len(self.arg_types)

    @property
    def constant_positions(self) -> tuple[int, ...]:
        """Indices of the argument slots holding constants (windows, levels…)."""
        return tuple(i for i, t in enumerate(self.arg_types) if not is_series_type(t))

    @property
    def signature(self) -> str:
        """Return ``name(ArgType, ...) -> RetType``."""
        arguments = ", ".join(t.__name__ for t in self.arg_types)
        return f"{self.name}({arguments}) -> {self.ret_type.__name__}"

    def pretty_template(self) -> str:
        if self.pretty:
            return self.pretty
        if not self.arg_types:
            return self.name
        return self.name + "(" + ", ".join(f"{{{i}}}" for i in range(self.arity)) + ")"

    def own_warmup(self, constants: Sequence[float]) -> int:
        return int(self.warmup(*constants))

    def own_settle(self, constants: Sequence[float]) -> int:
        return int(self.settle(*constants))

    def __call__(self, *args: Any, market: MarketLike | None = None) -> np.ndarray:
        """Validate ``args`` (and ``market`` columns), then run the kernel on them.

        Parameters
        ----------
        *args
            One per ``arg_types`` slot: a 1-D array for a series type (float64, or bool for
            ``Signal``), a number for a constant type (checked against its legal range).
        market
            Any object with the ``MarketLike`` columns; required when ``market_inputs`` is set.

        Returns
        -------
        ndarray, shape (n_bars,)
            float64 (bool for ``Signal``).

        Raises
        ------
        ExpressionError
            On a wrong argument count, length mismatch or illegal constant.
        """
        if len(args) != self.arity:
            raise ExpressionError(
                f"{self.name}: expected {self.arity} arguments ({self.signature}), "
                f"found {len(args)}"
            )
        values: list[Any] = []
        lengths: set[int] = set()
        for column in self.market_inputs:
            array = self._market_column(market, column)
            lengths.add(array.shape[0])
            values.append(array)
        checked: list[Any] = []
        for i, (arg, type_) in enumerate(zip(args, self.arg_types, strict=True)):
            if is_series_type(type_):
                array = readonly(np.ascontiguousarray(arg, dtype=series_dtype(type_)))
                if array.ndim != 1:
                    raise ExpressionError(
                        f"{self.name} argument {i}: expected a 1-D array, found {array.shape}"
                    )
                lengths.add(array.shape[0])
                checked.append(array)
            else:
                checked.append(checked_constant(type_, arg, f"{self.name} argument {i}: "))
        for name, sources in self.hidden:
            inputs = [
                checked[s] if isinstance(s, int) else self._market_column(market, s)
                for s in sources
            ]
            values.append(readonly(_BY_KEY[name](*inputs, market=market)))
        selected = range(self.arity) if self.kernel_args is None else self.kernel_args
        values.extend(checked[i] for i in selected)
        if len(lengths) > 1:
            raise ExpressionError(
                f"{self.name}: input arrays differ in length ({sorted(lengths)}); "
                "pass arrays of one series"
            )
        return self.kernel(*values, *self.fixed)

    def _market_column(self, market: MarketLike | None, column: str) -> np.ndarray:
        if market is None:
            raise ExpressionError(
                f"{self.name}: reads market columns {self.market_inputs}; pass market=..."
            )
        return market_column(market, column)

    def hidden_texts(self, argument_texts: Sequence[str]) -> list[str]:
        """Return the canonical texts of the hidden sub-expressions for given argument texts."""
        return [
            f"{name}({', '.join(argument_texts[s] if isinstance(s, int) else s for s in sources)})"
            for name, sources in self.hidden
        ]


def _minus_one(n: float, *_rest: float) -> int:
    return int(n) - 1


def _same(n: float, *_rest: float) -> int:
    return int(n)


def _one(*_constants: float) -> int:
    return 1


def _smoothing_settle(alpha: float) -> int:
    if alpha >= 1.0:
        return 0
    return math.ceil(math.log(SETTLE_TOLERANCE) / math.log1p(-alpha))


def _ema_settle(n: float, *_rest: float) -> int:
    return _smoothing_settle(2.0 / (n + 1.0))


def _wilder_settle(n: float, *_rest: float) -> int:
    return _smoothing_settle(1.0 / n)


def _macd_warmup(fast: float, slow: float) -> int:
    return int(max(fast, slow)) - 1


def _macd_settle(fast: float, slow: float) -> int:
    return max(_ema_settle(fast), _ema_settle(slow))


def _entry(
    name: str,
    arg_types: tuple[type, ...],
    ret_type: type,
    kernel: Callable[..., np.ndarray],
    doc: str,
    category: str,
    **options: Any,
) -> PrimitiveEntry:
    options.setdefault("key", name)
    return PrimitiveEntry(name, arg_types, ret_type, kernel, doc, category, **options)


HLC = ("high", "low", "close")
P, W, D, M = Price, Window, PriceDelta, Multiplier


def _market_entries() -> list[PrimitiveEntry]:
    return [
        *[_entry(c, (), P, ar.copy_nb, f"Bar {c} price.", "market", market_inputs=(c,),
                 is_column=True) for c in ("open", "high", "low", "close")],
        _entry("typical", (), P, ind.typical_price_nb, "Typical price (high + low + close) / 3.",
               "market", market_inputs=HLC),
        _entry("funding", (), Funding, ind.funding_last_nb,
               "Last settled funding rate, carried forward (NaN before the first settlement).",
               "market", market_inputs=("timestamp", "funding_rate")),
        _entry("weekend", (), Signal, lg.weekend_nb, "Bar opens on Saturday or Sunday (UTC).",
               "session", market_inputs=("timestamp",)),
    ]  # fmt: skip


def _price_entries() -> list[PrimitiveEntry]:
    return [
        _entry("sma", (P, W), P, rl.sma_nb, "Simple moving average over n bars.", "price",
               warmup=_minus_one, pretty="SMA({0}, {1})"),
        _entry("ema", (P, W), P, ind.ema_nb, "Exponential moving average, alpha = 2/(n+1).",
               "price", warmup=_minus_one, settle=_ema_settle, pretty="EMA({0}, {1})"),
        _entry("wma", (P, W), P, rl.wma_nb, "Linearly weighted moving average over n bars.",
               "price", warmup=_minus_one, pretty="WMA({0}, {1})"),
        _entry("rolling_max", (P, W), P, rl.rolling_max_nb,
               "Highest value of the last n bars (current bar included).", "price",
               warmup=_minus_one, pretty="max({0}, {1})"),
        _entry("rolling_min", (P, W), P, rl.rolling_min_nb,
               "Lowest value of the last n bars (current bar included).", "price",
               warmup=_minus_one, pretty="min({0}, {1})"),
        _entry("lag", (P, W), P, rl.lag_nb, "Value n bars ago.", "price", warmup=_same,
               pretty="{0}[{1} bars ago]"),
        _entry("donchian_high", (W,), P, rl.previous_nb,
               "Highest high of the previous n bars (current bar excluded).", "price",
               hidden=(("rolling_max", ("high", 0)),), kernel_args=(), warmup=_one,
               pretty="DonchianHigh({0})"),
        _entry("donchian_low", (W,), P, rl.previous_nb,
               "Lowest low of the previous n bars (current bar excluded).", "price",
               hidden=(("rolling_min", ("low", 0)),), kernel_args=(), warmup=_one,
               pretty="DonchianLow({0})"),
        _entry("bb_upper", (P, W, M), P, rl.bollinger_nb,
               "Upper Bollinger band: mean + k * population std over n bars.", "price",
               fixed=(1.0,), warmup=_minus_one, pretty="BollingerUpper({0}, {1}, {2})"),
        _entry("bb_lower", (P, W, M), P, rl.bollinger_nb,
               "Lower Bollinger band: mean - k * population std over n bars.", "price",
               fixed=(-1.0,), warmup=_minus_one, pretty="BollingerLower({0}, {1}, {2})"),
        _entry("keltner_upper", (W, M), P, ar.band_nb,
               "Upper Keltner channel: EMA(close, n) + k * ATR(n).", "price",
               hidden=(("ema", ("close", 0)), ("atr", (0,))), kernel_args=(1,), fixed=(1.0,),
               pretty="KeltnerUpper({0}, {1})"),
        _entry("keltner_lower", (W, M), P, ar.band_nb,
               "Lower Keltner channel: EMA(close, n) - k * ATR(n).", "price",
               hidden=(("ema", ("close", 0)), ("atr", (0,))), kernel_args=(1,), fixed=(-1.0,),
               pretty="KeltnerLower({0}, {1})"),
        _entry("vwap", (W,), P, ind.vwap_nb,
               "Rolling volume-weighted typical price over n bars.", "price",
               market_inputs=(*HLC, "volume"), warmup=_minus_one, pretty="VWAP({0})"),
        _entry("midpoint", (W,), P, ar.midpoint_of_nb,
               "Ichimoku midpoint (highest high + lowest low) / 2 over n bars.", "price",
               hidden=(("rolling_max", ("high", 0)), ("rolling_min", ("low", 0))),
               kernel_args=(), pretty="Midpoint({0})"),
        _entry("mid", (P, P), P, ar.midpoint_of_nb, "Mean of two prices.", "price",
               pretty="mean({0}, {1})"),
        _entry("add_delta", (P, D), P, ar.add_nb, "Price plus a price delta.", "price",
               pretty="{0} + {1}", precedence=ADDITIVE),
        _entry("sub_delta", (P, D), P, ar.subtract_nb, "Price minus a price delta.", "price",
               pretty="{0} - {1}", precedence=ADDITIVE),
    ]  # fmt: skip


def _unit_entries() -> list[PrimitiveEntry]:
    return [
        _entry("atr", (W,), D, ind.atr_nb, "Wilder average true range over n bars.",
               "price delta", market_inputs=HLC, warmup=_minus_one, settle=_wilder_settle,
               pretty="ATR({0})"),
        _entry("macd", (P, W, W), D, ind.macd_nb, "MACD line EMA(fast) - EMA(slow).",
               "price delta", warmup=_macd_warmup, settle=_macd_settle,
               pretty="MACD({0}, {1}, {2})"),
        _entry("macd_signal", (P, W, W, W), D, ind.ema_nb,
               "MACD signal line: EMA of the MACD line.", "price delta",
               hidden=(("macd", (0, 1, 2)),), kernel_args=(3,),
               warmup=lambda f, s, g: int(g) - 1, settle=lambda f, s, g: _ema_settle(g),
               pretty="MACDSignal({0}, {1}, {2}, {3})"),
        _entry("spread", (P, P), D, ar.subtract_nb, "Difference of two prices.", "price delta",
               pretty="{0} - {1}", precedence=ADDITIVE),
        _entry("stdev", (P, W), D, rl.stdev_nb,
               "Population standard deviation over n bars (price units).", "price delta",
               warmup=_minus_one, pretty="StdDev({0}, {1})"),
        _entry("scale", (D, M), D, ar.scale_nb, "Price delta times k.", "price delta",
               pretty="{1} * {0}", precedence=MULTIPLICATIVE),
        _entry("roc", (P, W), Ratio, rl.roc_nb, "Rate of change x[t] / x[t-n] - 1.", "ratio",
               warmup=_same, pretty="ROC({0}, {1})"),
        _entry("ratio", (P, P), Ratio, ar.relative_nb, "Relative difference a / b - 1.",
               "ratio", pretty="{0} / {1} - 1", precedence=ADDITIVE),
        _entry("realised_vol", (P, W), Ratio, rl.realised_vol_nb,
               "RMS of the last n one-bar simple returns (per bar).", "ratio", warmup=_same,
               pretty="RealisedVol({0}, {1})"),
        _entry("natr", (W,), Ratio, ar.fraction_of_nb, "ATR(n) / close.", "ratio",
               market_inputs=("close",), hidden=(("atr", (0,)),), kernel_args=(),
               pretty="ATR%({0})"),
        _entry("zscore", (P, W), ZScore, rl.zscore_nb,
               "Rolling z-score over n bars (0 when the window is flat).", "z-score",
               warmup=_minus_one, pretty="Z({0}, {1})"),
        _entry("volume_z", (W,), ZScore, rl.zscore_nb, "Rolling z-score of volume over n bars.",
               "z-score", market_inputs=("volume",), warmup=_minus_one,
               pretty="VolumeZ({0})"),
        _entry("funding_z", (Funding, W), ZScore, rl.zscore_nb,
               "Rolling z-score of the funding rate over n bars.", "z-score",
               warmup=_minus_one, pretty="Z({0}, {1})"),
        _entry("funding_mean", (Funding, W), Funding, rl.sma_nb,
               "Rolling mean of the funding rate over n bars.", "funding", warmup=_minus_one,
               pretty="mean({0}, {1})"),
        _entry("rsi", (P, W), Oscillator, ind.rsi_nb, "Wilder RSI over n changes (0-100).",
               "oscillator", warmup=_same, settle=_wilder_settle, pretty="RSI({0}, {1})"),
        _entry("stoch_k", (W,), Oscillator, ind.stochastic_nb, "Stochastic %K over n bars.",
               "oscillator", market_inputs=("close",),
               hidden=(("rolling_max", ("high", 0)), ("rolling_min", ("low", 0))),
               kernel_args=(), pretty="Stoch%K({0})"),
        _entry("stoch_d", (W, W), Oscillator, rl.sma_nb,
               "Stochastic %D: SMA over m bars of %K(n).", "oscillator",
               hidden=(("stoch_k", (0,)),), kernel_args=(1,),
               warmup=lambda n, s: int(s) - 1, pretty="Stoch%D({0}, {1})"),
        _entry("percent_b", (P, W, M), Oscillator, rl.percent_b_nb,
               "Bollinger %B x 100 (0 = lower band, 100 = upper band).", "oscillator",
               warmup=_minus_one, pretty="%B({0}, {1}, {2})"),
    ]  # fmt: skip


def _compare(name: str, left: type, right: type, kernel: Callable[..., Any], doc: str,
             symbol: str, **options: Any) -> PrimitiveEntry:  # fmt: skip
    return _entry(name, (left, right), Signal, kernel, doc, "signal",
                  pretty=f"{{0}} {symbol} {{1}}", precedence=COMPARE, **options)  # fmt: skip


def _signal_entries() -> list[PrimitiveEntry]:
    Z, Osc, R, F = ZScore, Oscillator, Ratio, Funding  # noqa: N806
    crossing = {"warmup": lambda *_constants: 1}
    return [
        _compare("gt", P, P, cmp.greater_nb, "Price a > price b.", ">", key="gt_price"),
        _compare("lt", P, P, cmp.less_nb, "Price a < price b.", "<", key="lt_price"),
        _compare("crosses_above", P, P, cmp.crosses_above_nb,
                 "a > b now and a <= b on the previous bar.", "crosses above", **crossing),
        _compare("crosses_below", P, P, cmp.crosses_below_nb,
                 "a < b now and a >= b on the previous bar.", "crosses below", **crossing),
        _compare("gt", D, D, cmp.greater_nb, "Price delta a > b.", ">", key="gt_delta"),
        _compare("crosses_above", D, D, cmp.crosses_above_nb, "Price delta a crosses above b.",
                 "crosses above", key="crosses_above_delta", **crossing),
        _compare("crosses_below", D, D, cmp.crosses_below_nb, "Price delta a crosses below b.",
                 "crosses below", key="crosses_below_delta", **crossing),
        _entry("delta_positive", (D,), Signal, cmp.is_positive_nb, "Price delta above 0.",
               "signal", pretty="{0} > 0", precedence=COMPARE),
        _compare("gt", Osc, OscLevel, cmp.above_level_nb, "Oscillator > level.", ">",
                 key="gt_osc_level"),
        _compare("lt", Osc, OscLevel, cmp.below_level_nb, "Oscillator < level.", "<",
                 key="lt_osc_level"),
        _compare("gt", Osc, Osc, cmp.greater_nb, "Oscillator a > oscillator b.", ">",
                 key="gt_osc"),
        _compare("crosses_above", Osc, OscLevel, cmp.crosses_above_level_nb,
                 "Oscillator crosses above a level.", "crosses above",
                 key="crosses_above_osc_level", **crossing),
        _compare("crosses_below", Osc, OscLevel, cmp.crosses_below_level_nb,
                 "Oscillator crosses below a level.", "crosses below",
                 key="crosses_below_osc_level", **crossing),
        _compare("gt", Z, ZLevel, cmp.above_level_nb, "Z-score > level.", ">",
                 key="gt_z_level"),
        _compare("lt", Z, ZLevel, cmp.below_level_nb, "Z-score < level.", "<",
                 key="lt_z_level"),
        _compare("gt", R, RatioLevel, cmp.above_level_nb, "Ratio > level.", ">",
                 key="gt_ratio_level"),
        _compare("lt", R, RatioLevel, cmp.below_level_nb, "Ratio < level.", "<",
                 key="lt_ratio_level"),
        _compare("gt", R, R, cmp.greater_nb, "Ratio a > ratio b.", ">", key="gt_ratio"),
        _compare("gt", F, FundingLevel, cmp.above_level_nb, "Funding > level.", ">",
                 key="gt_funding_level"),
        _compare("lt", F, FundingLevel, cmp.below_level_nb, "Funding < level.", "<",
                 key="lt_funding_level"),
        _entry("rising", (P, W), Signal, cmp.rising_nb, "Rose on each of the last n bars.",
               "signal", warmup=_same, pretty="rising({0}, {1})"),
        _entry("falling", (P, W), Signal, cmp.falling_nb, "Fell on each of the last n bars.",
               "signal", warmup=_same, pretty="falling({0}, {1})"),
        _entry("and_", (Signal, Signal), Signal, lg.and_nb, "Both signals.", "logic",
               pretty="{0} and {1}", precedence=AND),
        _entry("or_", (Signal, Signal), Signal, lg.or_nb, "Either signal.", "logic",
               pretty="{0} or {1}", precedence=OR),
        _entry("not_", (Signal,), Signal, lg.not_nb, "Negated signal.", "logic",
               pretty="not {0}", precedence=NOT),
        _entry("if_then_else", (Signal, Signal, Signal), Signal, lg.if_then_else_nb,
               "Second signal where the first holds, else the third.", "logic",
               pretty="({1} if {0} else {2})"),
        _entry("hour_between", (Hour, Hour), Signal, lg.hour_between_nb,
               "UTC hour of the bar open in [start, stop), wrapping midnight.", "session",
               market_inputs=("timestamp",), pretty="hour in [{0}, {1})"),
        _entry("weekday_is", (Weekday,), Signal, lg.weekday_is_nb,
               "UTC weekday of the bar open (0 = Monday).", "session",
               market_inputs=("timestamp",), pretty="weekday == {0}"),
    ]  # fmt: skip


def _position_entries() -> list[PrimitiveEntry]:
    S = Signal  # noqa: N806
    return [
        _entry("pos_from", (S, S), Position, pos.pos_from_nb,
               "+1 if long and not short, -1 if short and not long, else flat.", "position",
               pretty="long if {0}; short if {1}", precedence=ROOT),
        _entry("long_only", (S,), Position, pos.long_only_nb, "+1 while the signal holds.",
               "position", pretty="long if {0}", precedence=ROOT),
        _entry("short_only", (S,), Position, pos.short_only_nb, "-1 while the signal holds.",
               "position", pretty="short if {0}", precedence=ROOT),
        _entry("latch", (S, S, S, S), Position, pos.latch_nb,
               "Stateful: enter long / exit long / enter short / exit short.", "position",
               is_stateful=True, precedence=ROOT,
               pretty="latch(enter long if {0}; exit long if {1}; "
                      "enter short if {2}; exit short if {3})"),
        _entry("atr_stop", (Position, W, M), Position, pos.atr_stop_nb,
               "Flat after an adverse close move of k * ATR(n) from the best close since "
               "entry.", "position", market_inputs=("close",), hidden=(("atr", (1,)),),
               kernel_args=(0, 2), is_stateful=True, precedence=ROOT,
               pretty="{0}; stop after {2} x ATR({1}) adverse"),
        _entry("vol_target", (Position, W, VolTarget), Position, pos.vol_target_nb,
               "Scale by target / realised volatility(n), clipped to [-1, 1].", "position",
               hidden=(("realised_vol", ("close", 1)),), kernel_args=(0, 2), precedence=ROOT,
               pretty="{0}; scaled to volatility {2} per bar over {1} bars"),
    ]  # fmt: skip


_ENTRIES: tuple[PrimitiveEntry, ...] = (
    *_market_entries(),
    *_price_entries(),
    *_unit_entries(),
    *_signal_entries(),
    *_position_entries(),
)
_BY_KEY: dict[str, PrimitiveEntry] = {e.key: e for e in _ENTRIES}
if len(_BY_KEY) != len(_ENTRIES):  # pragma: no cover - a programming error in the table
    raise RuntimeError("duplicate primitive keys in the registry")
_OVERLOADS: dict[str, tuple[PrimitiveEntry, ...]] = {}
for _item in _ENTRIES:
    _OVERLOADS[_item.name] = (*_OVERLOADS.get(_item.name, ()), _item)
for _name, _items in _OVERLOADS.items():  # pragma: no cover - a programming error in the table
    if len({(i.ret_type, i.arg_types) for i in _items}) != len(_items):
        raise RuntimeError(f"overloads of {_name!r} must differ in argument types")
    if len({i.ret_type for i in _items}) != 1:
        raise RuntimeError(f"overloads of {_name!r} must share their return type")
if not set(CONSTANT_SPECS).isdisjoint(e.ret_type for e in _ENTRIES):  # pragma: no cover
    raise RuntimeError("a primitive returns a constant type")


def registry() -> list[PrimitiveEntry]:
    """Return every primitive and terminal of the language, in table order."""
    return list(_ENTRIES)


def entry(key: str) -> PrimitiveEntry:
    """Return the registry entry whose unique ``key`` is given (``"sma"``, ``"gt_price"``).

    Raises
    ------
    ExpressionError
        If no primitive has that key.
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ExpressionError(f"unknown primitive {key!r}") from None


def overloads(name: str) -> tuple[PrimitiveEntry, ...]:
    """Return every entry written ``name`` in expressions, in table order (empty if none)."""
    return _OVERLOADS.get(name, ())
