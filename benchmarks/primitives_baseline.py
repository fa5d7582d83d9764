"""The peer to beat: DEAP's canonical ``gp.compile`` (str → eval) over numpy-only primitives.

Same primitive names and types as ``primitives`` so our canonical text compiles unchanged;
each primitive is the idiomatic vectorised numpy formulation (cumulative sums for windows,
``sliding_window_view`` for extrema, a log-step parallel scan for EMA/Wilder recursions,
accumulate tricks for the latch and the trailing stop). No pandas, no numba. Market-reading
primitives see the market through ``BaselineEvaluator.market``, as DEAP users bind data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from deap import gp
from numpy.lib.stride_tricks import sliding_window_view

import primitives
from primitives.types import ROOT_TYPE, Funding, Price, Signal

NAN = np.nan
HOUR_MS, DAY_MS, FUNDING_MS = 3_600_000, 86_400_000, 8 * 3_600_000


def _sums(x: np.ndarray, n: int, power: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windowed sums of x**power and a mask of windows without NaN (NaN-aware cumsum)."""
    nan = np.isnan(x)
    values = np.where(nan, 0.0, x) ** power
    total = np.concatenate(([0.0], np.cumsum(values)))
    count = np.concatenate(([0], np.cumsum(nan)))
    out = np.full(x.shape[0], NAN)
    ok = np.zeros(x.shape[0], dtype=bool)
    if n <= x.shape[0]:
        out[n - 1 :] = total[n:] - total[:-n]
        ok[n - 1 :] = (count[n:] - count[:-n]) == 0
    return out, ok


def sma(x: np.ndarray, n: int) -> np.ndarray:
    total, ok = _sums(x, n)
    return np.where(ok, total / n, NAN)


def _mean_std(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    mean = sma(x, n)
    square, _ = _sums(x, n, 2)
    var = square / n - mean * mean
    # E[x^2] - E[x]^2 cancels: treat variance below rounding noise as a flat window
    return mean, np.sqrt(np.where(var <= 1e-12 * mean * mean, 0.0, var))


def _scan(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """Seeded exponential smoothing of the first NaN-free run by a parallel prefix scan."""
    out = np.full(x.shape[0], NAN)
    finite = np.flatnonzero(~np.isnan(x))
    if finite.size < n:
        return out
    start = finite[0] + n - 1
    y = alpha * x[start:]
    y[0] = x[finite[0] : start + 1].mean()
    decay, shift = 1.0 - alpha, 1
    while shift < y.shape[0] and decay > 1e-300:
        y[shift:] += decay * y[:-shift]
        decay, shift = decay * decay, shift * 2
    out[start:] = y
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    return _scan(x, n, 2.0 / (n + 1))


def wilder(x: np.ndarray, n: int) -> np.ndarray:
    return _scan(x, n, 1.0 / n)


def _extreme(x: np.ndarray, n: int, reducer: Callable[..., np.ndarray]) -> np.ndarray:
    out = np.full(x.shape[0], NAN)
    if n <= x.shape[0]:
        out[n - 1 :] = reducer(sliding_window_view(x, n), axis=1)
    return out


def lag(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape[0], NAN)
    out[n:] = x[: x.shape[0] - n] if n < x.shape[0] else out[n:]
    return out


def wma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape[0], NAN)
    if n <= x.shape[0]:
        weights = np.arange(n, 0, -1, dtype=np.float64)  # convolve flips: newest gets n
        out[n - 1 :] = np.convolve(x, weights, "valid") / weights.sum()
    return out


def rsi(x: np.ndarray, n: int) -> np.ndarray:
    change = np.diff(x, prepend=NAN)
    gain = wilder(np.where(change > 0, change, np.where(np.isnan(change), NAN, 0.0)), n)
    loss = wilder(np.where(change < 0, -change, np.where(np.isnan(change), NAN, 0.0)), n)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0.0, 50.0, 100.0 * gain / total)


def _crosses(a: np.ndarray, b: np.ndarray, above: bool) -> np.ndarray:
    now = a > b if above else a < b
    before = a <= b if above else a >= b
    out = np.zeros(a.shape[0], dtype=bool)
    out[1:] = now[1:] & before[:-1]
    return out


def _streak(x: np.ndarray, n: int, sign: float) -> np.ndarray:
    up = np.zeros(x.shape[0], dtype=np.int64)
    up[1:] = sign * x[1:] > sign * x[:-1]
    count = np.concatenate(([0], np.cumsum(up)))
    out = np.zeros(x.shape[0], dtype=bool)
    if n < x.shape[0]:
        out[n:] = (count[n + 1 :] - count[1:-n]) == n
    return out


def _latch(el: np.ndarray, xl: np.ndarray, es: np.ndarray, xs: np.ndarray) -> np.ndarray:
    index = np.arange(el.shape[0])
    long_entry, short_entry = el & ~es, es & ~el
    last_entry = np.maximum.accumulate(np.where(long_entry | short_entry, index, -1))
    side = np.where(
        last_entry >= 0, np.where(long_entry[np.maximum(last_entry, 0)], 1.0, -1.0), 0.0
    )
    last_xl = np.maximum.accumulate(np.where(xl, index, -1))
    last_xs = np.maximum.accumulate(np.where(xs, index, -1))
    exited = np.where(side > 0, last_xl > last_entry, last_xs > last_entry)
    return np.where(exited, 0.0, side)


class BaselineEvaluator:
    """Compile our canonical text with ``deap.gp.compile`` and evaluate it with numpy."""

    ARGUMENTS = ("open", "high", "low", "close", "typical", "funding", "weekend")

    def __init__(self) -> None:
        self.market: Any = None
        in_types = [Price] * 5 + [Funding, Signal]
        self.pset = gp.PrimitiveSetTyped("baseline", in_types, ROOT_TYPE)
        self.pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(self.ARGUMENTS)})
        functions = self._functions()
        for entry in primitives.registry():
            if entry.arity > 0:
                self.pset.addPrimitive(
                    functions[entry.key], list(entry.arg_types), entry.ret_type, entry.key
                )
        # gp.compile evals the canonical text, whose overloaded names (gt, lt, crosses_*) are
        # one Python function each: numpy broadcasting serves every dimension
        self.pset.context.update(
            gt=np.greater,
            lt=np.less,
            crosses_above=lambda a, b: _crosses(a, np.broadcast_to(b, np.shape(a)), True),
            crosses_below=lambda a, b: _crosses(a, np.broadcast_to(b, np.shape(a)), False),
        )

    def compile(self, text: str) -> Callable[..., np.ndarray]:
        """Return DEAP's compiled lambda for ``text`` (``gp.compile``: str -> eval)."""
        # ignore[no-any-return] below: deap ships no types: gp.compile is Any
        return gp.compile(text, self.pset)  # type: ignore[no-any-return]

    def bind(self, market: Any) -> tuple[np.ndarray, ...]:
        """Point market-reading primitives at ``market``; return the terminal arguments."""
        self.market = market
        typical = (market.high + market.low + market.close) / 3.0
        weekend = ((market.timestamp // DAY_MS + 3) % 7) >= 5
        columns = [np.asarray(getattr(market, c), dtype=np.float64) for c in self.ARGUMENTS[:4]]
        return (*columns, typical, self._funding(), weekend)

    def _funding(self) -> np.ndarray:
        m = self.market
        spacing = np.concatenate(([0], np.diff(m.timestamp)))
        spacing = np.minimum.accumulate(np.where(spacing > 0, spacing, np.iinfo(np.int64).max))
        next_mark = -((-m.timestamp) // FUNDING_MS) * FUNDING_MS
        settles = (m.funding_rate != 0) | (next_mark < m.timestamp + spacing)
        index = np.maximum.accumulate(np.where(settles, np.arange(len(settles)), -1))
        return np.where(index >= 0, m.funding_rate[np.maximum(index, 0)], NAN)

    def _atr(self, n: int) -> np.ndarray:
        h, lo, c = self.market.high, self.market.low, self.market.close
        previous = np.concatenate(([NAN], c[:-1]))
        tr = np.fmax(h - lo, np.fmax(np.abs(h - previous), np.abs(lo - previous)))
        return wilder(tr, n)

    def _atr_stop(self, p: np.ndarray, n: int, k: float) -> np.ndarray:
        close, atr = self.market.close, self._atr(n)
        bad = np.isnan(p) | np.isnan(atr)
        side = np.where(bad, 0.0, np.sign(np.nan_to_num(p)))
        start = np.ones(p.shape[0], dtype=bool)
        start[1:] = side[1:] != side[:-1]
        segment = np.cumsum(start)
        signed = side * close
        offset = segment * (np.abs(close).max() * 4.0 + 1.0)  # grouped cummax by offsets
        best = np.maximum.accumulate(signed + offset) - offset
        adverse = best - signed
        trigger = (side != 0) & (adverse > 0) & (adverse >= k * atr)
        fired = np.cumsum(trigger)
        before_segment = (fired - trigger)[np.flatnonzero(start)][segment - 1]
        stopped = (fired - before_segment) > 0
        return np.where(bad, NAN, np.where(stopped, 0.0, p))

    def _vol_target(self, p: np.ndarray, n: int, target: float) -> np.ndarray:
        vol = self._realised_vol(self.market.close, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.clip(p * target / vol, -1.0, 1.0)
        scaled = np.where(vol == 0.0, np.sign(p), scaled)
        return np.where(p == 0.0, 0.0, scaled) + 0.0 * p * vol

    @staticmethod
    def _realised_vol(x: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = x[1:] / x[:-1] - 1.0
        return np.sqrt(sma(np.concatenate(([NAN], r * r)), n))

    def _zscore(self, x: np.ndarray, n: int) -> np.ndarray:
        mean, std = _mean_std(x, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(std == 0.0, 0.0, (x - mean) / std)

    def _functions(self) -> dict[str, Callable[..., np.ndarray]]:
        def m() -> Any:
            return self.market

        def hlc() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return m().high, m().low, m().close

        def midpoint(n: int) -> np.ndarray:
            return (_extreme(m().high, n, np.max) + _extreme(m().low, n, np.min)) / 2.0

        def bb(x: np.ndarray, n: int, k: float, side: float) -> np.ndarray:
            mean, std = _mean_std(x, n)
            return mean + side * k * std

        def percent_b(x: np.ndarray, n: int, k: float) -> np.ndarray:
            mean, std = _mean_std(x, n)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(std == 0.0, 50.0, 100.0 * ((x - mean) / (2 * k * std) + 0.5))

        def stoch_k(n: int) -> np.ndarray:
            high = _extreme(m().high, n, np.max)
            low = _extreme(m().low, n, np.min)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(high == low, 50.0, 100.0 * (m().close - low) / (high - low))

        def vwap(n: int) -> np.ndarray:
            typical = sum(hlc()) / 3.0
            volume = sma(m().volume, n)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(
                    volume == 0.0, sma(typical, n), sma(typical * m().volume, n) / volume
                )

        def previous(x: np.ndarray, n: int, reducer: Callable[..., np.ndarray]) -> np.ndarray:
            return lag(_extreme(x, n, reducer), 1)

        def macd(x: np.ndarray, f: int, s: int) -> np.ndarray:
            return ema(x, f) - ema(x, s)

        def hours(a: int, b: int) -> np.ndarray:
            hour = (m().timestamp // HOUR_MS) % 24
            return (a <= hour) & (hour < b) if a <= b else (hour >= a) | (hour < b)

        def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(b == 0.0, NAN, a / b - 1.0)

        def roc(x: np.ndarray, n: int) -> np.ndarray:
            return ratio(x, lag(x, n))

        return {
            "sma": sma, "ema": ema, "wma": wma, "lag": lag,
            "rolling_max": lambda x, n: _extreme(x, n, np.max),
            "rolling_min": lambda x, n: _extreme(x, n, np.min),
            "donchian_high": lambda n: previous(m().high, n, np.max),
            "donchian_low": lambda n: previous(m().low, n, np.min),
            "bb_upper": lambda x, n, k: bb(x, n, k, 1.0),
            "bb_lower": lambda x, n, k: bb(x, n, k, -1.0),
            "keltner_upper": lambda n, k: ema(m().close, n) + k * self._atr(n),
            "keltner_lower": lambda n, k: ema(m().close, n) - k * self._atr(n),
            "vwap": vwap,
            "midpoint": midpoint,
            "mid": lambda a, b: (a + b) / 2.0, "add_delta": np.add, "sub_delta": np.subtract,
            "atr": self._atr, "macd": macd,
            "macd_signal": lambda x, f, s, g: ema(macd(x, f, s), g),
            "spread": np.subtract, "stdev": lambda x, n: _mean_std(x, n)[1],
            "scale": lambda x, k: k * x, "roc": roc, "ratio": ratio,
            "realised_vol": self._realised_vol,
            "natr": lambda n: self._atr(n) / m().close,
            "zscore": self._zscore, "volume_z": lambda n: self._zscore(m().volume, n),
            "funding_z": self._zscore, "funding_mean": sma, "rsi": rsi, "stoch_k": stoch_k,
            "stoch_d": lambda n, s: sma(stoch_k(n), s), "percent_b": percent_b,
            "gt_price": np.greater, "lt_price": np.less, "gt_delta": np.greater,
            "gt_osc": np.greater, "gt_ratio": np.greater,
            "crosses_above": lambda a, b: _crosses(a, b, True),
            "crosses_below": lambda a, b: _crosses(a, b, False),
            "crosses_above_delta": lambda a, b: _crosses(a, b, True),
            "crosses_below_delta": lambda a, b: _crosses(a, b, False),
            "crosses_above_osc_level": lambda a, v: _crosses(a, np.full_like(a, v), True),
            "crosses_below_osc_level": lambda a, v: _crosses(a, np.full_like(a, v), False),
            "delta_positive": lambda a: a > 0.0,
            "gt_osc_level": np.greater, "lt_osc_level": np.less, "gt_z_level": np.greater,
            "lt_z_level": np.less, "gt_ratio_level": np.greater, "lt_ratio_level": np.less,
            "gt_funding_level": np.greater, "lt_funding_level": np.less,
            "rising": lambda x, n: _streak(x, n, 1.0),
            "falling": lambda x, n: _streak(x, n, -1.0),
            "and_": np.logical_and, "or_": np.logical_or, "not_": np.logical_not,
            "if_then_else": np.where, "hour_between": hours,
            "weekday_is": lambda d: (m().timestamp // DAY_MS + 3) % 7 == d,
            "pos_from": lambda a, b: np.where(a & ~b, 1.0, np.where(b & ~a, -1.0, 0.0)),
            "long_only": lambda a: np.where(a, 1.0, 0.0),
            "short_only": lambda a: np.where(a, -1.0, 0.0),
            "latch": _latch, "atr_stop": self._atr_stop, "vol_target": self._vol_target,
        }  # fmt: skip
