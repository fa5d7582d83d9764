"""Deliberately naive pure-Python oracles of every primitive, written from the definitions.

Each function recomputes every window from scratch (O(n·w)), walks recursions bar by bar with
plain floats and shares no code with ``primitives``. NaN rules mirror the documented contract:
a window containing NaN is NaN; recursive indicators (EMA, Wilder) restart after a NaN input;
comparisons with NaN are False.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

NAN = float("nan")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FUNDING_MS = 8 * HOUR_MS


def _isnan(v: float) -> bool:
    return v != v


def _window(x: Sequence[float], i: int, n: int) -> list[float] | None:
    if i < n - 1:
        return None
    values = [float(v) for v in x[i - n + 1 : i + 1]]
    return None if any(_isnan(v) for v in values) else values


def sma(x: Sequence[float], n: int) -> list[float]:
    out = []
    for i in range(len(x)):
        w = _window(x, i, n)
        out.append(NAN if w is None else sum(w) / n)
    return out


def _flat(values: list[float]) -> bool:
    return all(v == values[0] for v in values)


def std(x: Sequence[float], n: int) -> list[float]:
    """Population standard deviation by two passes; an all-equal window has std 0."""
    out = []
    for i in range(len(x)):
        w = _window(x, i, n)
        if w is None:
            out.append(NAN)
        elif _flat(w):
            out.append(0.0)
        else:
            mean = sum(w) / n
            out.append(math.sqrt(sum((v - mean) ** 2 for v in w) / n))
    return out


def zscore(x: Sequence[float], n: int) -> list[float]:
    means, stds = sma(x, n), std(x, n)
    out = []
    for i in range(len(x)):
        if _isnan(stds[i]):
            out.append(NAN)
        elif stds[i] == 0.0:
            out.append(0.0)
        else:
            out.append((x[i] - means[i]) / stds[i])
    return out


def bollinger(x: Sequence[float], n: int, k: float, side: float) -> list[float]:
    means, stds = sma(x, n), std(x, n)
    return [m + side * k * s for m, s in zip(means, stds, strict=True)]


def percent_b(x: Sequence[float], n: int, k: float) -> list[float]:
    upper, lower = bollinger(x, n, k, 1.0), bollinger(x, n, k, -1.0)
    out = []
    for i in range(len(x)):
        if _isnan(upper[i]):
            out.append(NAN)
        elif upper[i] == lower[i]:
            out.append(50.0)
        else:
            out.append(100.0 * (x[i] - lower[i]) / (upper[i] - lower[i]))
    return out


def wma(x: Sequence[float], n: int) -> list[float]:
    out = []
    for i in range(len(x)):
        w = _window(x, i, n)
        if w is None:
            out.append(NAN)
        else:
            weights = range(1, n + 1)  # oldest 1 … newest n
            out.append(sum(a * b for a, b in zip(weights, w, strict=True)) / sum(weights))
    return out


def rolling_max(x: Sequence[float], n: int) -> list[float]:
    return [NAN if (w := _window(x, i, n)) is None else max(w) for i in range(len(x))]


def rolling_min(x: Sequence[float], n: int) -> list[float]:
    return [NAN if (w := _window(x, i, n)) is None else min(w) for i in range(len(x))]


def lag(x: Sequence[float], n: int) -> list[float]:
    return [float(x[i - n]) if i >= n else NAN for i in range(len(x))]


def roc(x: Sequence[float], n: int) -> list[float]:
    out = []
    for i in range(len(x)):
        if i < n or x[i - n] == 0.0:
            out.append(NAN)
        else:
            out.append(x[i] / x[i - n] - 1.0)
    return out


def realised_vol(x: Sequence[float], n: int) -> list[float]:
    returns = [NAN]
    for i in range(1, len(x)):
        ok = x[i] > 0 and x[i - 1] > 0
        returns.append((x[i] - x[i - 1]) / x[i - 1] if ok else NAN)
    out = []
    for i in range(len(x)):
        w = _window(returns, i, n)
        out.append(NAN if w is None else math.sqrt(sum(r * r for r in w) / n))
    return out


def _smooth(x: Sequence[float], n: int, alpha: float) -> list[float]:
    """Seed with the mean of the first n values of each NaN-free run, then e += a (x - e)."""
    out = []
    run: list[float] = []
    e = NAN
    for v in x:
        if _isnan(v):
            run = []
            out.append(NAN)
            continue
        run.append(float(v))
        if len(run) < n:
            out.append(NAN)
        elif len(run) == n:
            e = sum(run) / n
            out.append(e)
        else:
            e = alpha * v + (1.0 - alpha) * e
            out.append(e)
    return out


def ema(x: Sequence[float], n: int) -> list[float]:
    return _smooth(x, n, 2.0 / (n + 1))


def wilder(x: Sequence[float], n: int) -> list[float]:
    return _smooth(x, n, 1.0 / n)


def rsi(x: Sequence[float], n: int) -> list[float]:
    """Textbook Wilder RSI: 100 - 100 / (1 + RS); all gains -> 100; no movement -> 50."""
    gains = [NAN] + [
        max(x[i] - x[i - 1], 0.0) if not (_isnan(x[i]) or _isnan(x[i - 1])) else NAN
        for i in range(1, len(x))
    ]
    losses = [NAN] + [
        max(x[i - 1] - x[i], 0.0) if not (_isnan(x[i]) or _isnan(x[i - 1])) else NAN
        for i in range(1, len(x))
    ]
    average_gain, average_loss = wilder(gains, n), wilder(losses, n)
    out = []
    for g, loss in zip(average_gain, average_loss, strict=True):
        if _isnan(g):
            out.append(NAN)
        elif loss == 0.0:
            out.append(50.0 if g == 0.0 else 100.0)
        else:
            out.append(100.0 - 100.0 / (1.0 + g / loss))
    return out


def true_range(high: Sequence[float], low: Sequence[float], close: Sequence[float]) -> list[float]:
    out = [high[0] - low[0]]
    for i in range(1, len(close)):
        out.append(max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])))
    return out


def atr(high: Sequence[float], low: Sequence[float], close: Sequence[float], n: int) -> list[float]:
    return wilder(true_range(high, low, close), n)


def donchian_high(high: Sequence[float], n: int) -> list[float]:
    """Highest high of the n bars strictly before t."""
    return [max(high[i - n : i]) if i >= n else NAN for i in range(len(high))]


def donchian_low(low: Sequence[float], n: int) -> list[float]:
    return [min(low[i - n : i]) if i >= n else NAN for i in range(len(low))]


def typical(high: Sequence[float], low: Sequence[float], close: Sequence[float]) -> list[float]:
    return [(h + lo + c) / 3.0 for h, lo, c in zip(high, low, close, strict=True)]


def vwap(high, low, close, volume, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    tp = typical(high, low, close)
    out = []
    for i in range(len(close)):
        if i < n - 1:
            out.append(NAN)
            continue
        volumes = volume[i - n + 1 : i + 1]
        prices = tp[i - n + 1 : i + 1]
        if sum(volumes) == 0.0:
            out.append(sum(prices) / n)
        else:
            out.append(sum(p * v for p, v in zip(prices, volumes, strict=True)) / sum(volumes))
    return out


def midpoint(high: Sequence[float], low: Sequence[float], n: int) -> list[float]:
    highs, lows = rolling_max(high, n), rolling_min(low, n)
    return [(h + lo) / 2.0 for h, lo in zip(highs, lows, strict=True)]


def stoch_k(high, low, close, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    highs, lows = rolling_max(high, n), rolling_min(low, n)
    out = []
    for i in range(len(close)):
        if _isnan(highs[i]):
            out.append(NAN)
        elif highs[i] == lows[i]:
            out.append(50.0)
        else:
            out.append(100.0 * (close[i] - lows[i]) / (highs[i] - lows[i]))
    return out


def funding_last(timestamp: Sequence[int], rate: Sequence[float]) -> list[float]:
    """Carry the rate of the last bar holding a settlement (non-zero rate or an 8h mark)."""
    out = []
    last = NAN
    for i in range(len(timestamp)):
        spacings = [timestamp[j] - timestamp[j - 1] for j in range(1, i + 1)]
        spacings = [s for s in spacings if s > 0]
        holds = rate[i] != 0.0 and not _isnan(rate[i])
        if spacings and not _isnan(rate[i]):
            bar_start = int(timestamp[i])
            bar_end = bar_start + min(spacings)
            below = bar_start // FUNDING_MS * FUNDING_MS
            marks = [t for t in (below, below + FUNDING_MS) if bar_start <= t < bar_end]
            holds = holds or bool(marks)
        if holds:
            last = float(rate[i])
        out.append(last)
    return out


def _elementwise(f: Callable[..., object]) -> Callable[..., list[object]]:
    def apply(*columns: Sequence[object]) -> list[object]:
        return [f(*values) for values in zip(*columns, strict=True)]

    return apply


def crosses(a: Sequence[float], b: Sequence[float], above: bool) -> list[bool]:
    out = [False]
    for i in range(1, len(a)):
        if above:
            out.append(bool(a[i] > b[i] and a[i - 1] <= b[i - 1]))
        else:
            out.append(bool(a[i] < b[i] and a[i - 1] >= b[i - 1]))
    return out


def streak(x: Sequence[float], n: int, rising: bool) -> list[bool]:
    out = []
    for i in range(len(x)):
        if i < n:
            out.append(False)
            continue
        pairs = [(x[j], x[j - 1]) for j in range(i - n + 1, i + 1)]
        out.append(all((c > p) if rising else (c < p) for c, p in pairs))
    return out


def hour_between(timestamp: Sequence[int], start: int, stop: int) -> list[bool]:
    out = []
    for t in timestamp:
        hour = (int(t) // HOUR_MS) % 24
        hours = [h % 24 for h in range(start, start + (stop - start) % 24)]
        out.append(hour in hours)
    return out


def weekday(timestamp_ms: int) -> int:
    import datetime

    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, tz=datetime.UTC)
    return moment.weekday()


def latch(el, xl, es, xs) -> list[float]:  # type: ignore[no-untyped-def]
    state = 0.0
    out = []
    for i in range(len(el)):
        if state == 1.0 and xl[i]:
            state = 0.0
        if state == -1.0 and xs[i]:
            state = 0.0
        if el[i] and not es[i]:
            state = 1.0
        if es[i] and not el[i]:
            state = -1.0
        out.append(state)
    return out


def atr_stop(high, low, close, position, n: int, k: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Trailing stop: flat once close retreats >= k * ATR from the best close since entry."""
    atrs = atr(high, low, close, n)
    out = []
    entry_bar = None
    side = 0
    stopped = False
    for i in range(len(close)):
        p = float(position[i])
        if _isnan(p) or _isnan(atrs[i]):
            out.append(NAN)
            entry_bar, side, stopped = None, 0, False
            continue
        now = (p > 0) - (p < 0)
        if now == 0:
            out.append(0.0)
            entry_bar, side, stopped = None, 0, False
            continue
        if now != side:
            entry_bar, side, stopped = i, now, False
        since_entry = close[entry_bar : i + 1]
        best = max(since_entry) if side > 0 else min(since_entry)
        adverse = (best - close[i]) if side > 0 else (close[i] - best)
        if adverse > 0 and adverse >= k * atrs[i]:
            stopped = True
        out.append(0.0 if stopped else float(p))
    return out


def vol_target(close, position, n: int, target: float) -> list[float]:  # type: ignore[no-untyped-def]
    vols = realised_vol(close, n)
    out = []
    for p, v in zip(position, vols, strict=True):
        if _isnan(p) or _isnan(v):
            out.append(NAN)
        elif p == 0:
            out.append(0.0)
        elif v == 0:
            out.append(math.copysign(1.0, p))
        else:
            out.append(max(-1.0, min(1.0, p * target / v)))
    return out


greater = _elementwise(lambda a, b: bool(a > b))
less = _elementwise(lambda a, b: bool(a < b))
