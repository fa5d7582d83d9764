"""Numba kernels of the cost-aware backtest (DESIGN §2): one shared bar step, two loops over it.

!!! note
    Arrays are C-contiguous, shape ``(n_bars,)``: ``open_``/``close`` float64 > 0 and finite,
    ``funding_rate`` float64 finite (0 on bars without a settlement), ``target`` float64 in
    [-1, 1] or NaN (NaN = flat: indicator warm-up). Validation is done by the one caller,
    ``fitness/simulate.py``. Causal: outputs at bar t read ``target`` only up to t - 1 - L and
    prices only up to ``close[t]``. ``simulate_nb`` (per-bar arrays, trade records) and
    ``simulate_summary_nb`` (streaming sufficient statistics, no allocation) both call
    ``bar_step_nb``, so they cannot diverge. ``error_model="numpy"``: no division-by-zero
    checks in the loops (the wrapper guarantees positive prices; equity divisors are > 0).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

# Duplicated from fitness/costs.py: kernel modules import only numpy, numba and math
MAX_EFFECTIVE_SLIPPAGE = 0.5


class SimulationOutput(NamedTuple):
    equity: np.ndarray  # float64 (n_bars,), account equity at each close
    returns: np.ndarray  # float64 (n_bars,), equity[t] / equity[t-1] - 1
    qty: np.ndarray  # float64 (n_bars,), contracts held at the end of bar t
    fees: np.ndarray  # float64 (n_bars,), fees paid at bar t (>= 0)
    funding: np.ndarray  # float64 (n_bars,), funding paid at bar t (< 0 when received)
    trade_started: np.ndarray  # bool (n_bars,), a trade begins at bar t
    n_trades: int
    turnover_notional: float  # sum of |d| * fill price over all fills
    trade_entry_bar: np.ndarray  # int64 (n_trades,)
    trade_exit_bar: np.ndarray  # int64 (n_trades,), -1 while still open at the last bar
    trade_side: np.ndarray  # int64 (n_trades,), +1 long, -1 short
    trade_pnl: np.ndarray  # float64 (n_trades,), account currency
    trade_entry_equity: np.ndarray  # float64 (n_trades,), equity_open at the entry fill


class SegmentSummary(NamedTuple):
    n_bars: int
    sum_returns: float
    sum_squared_returns: float
    sum_squared_negative_returns: float  # over all bars (Sortino's downside deviation)
    final_equity: float
    max_drawdown: float  # positive fraction of the running peak (initial equity included)
    max_drawdown_bars: int  # longest run of bars below the running peak
    n_trades: int
    fees_paid: float
    funding_paid: float
    bars_exposed: int  # bars ending with a non-zero position
    turnover_notional: float
    gross_pnl: float  # final - initial + fees + funding paid
    sum_squared_drawdown: float  # Ulcer index numerator (drawdowns as fractions)
    sum_equity: float  # mean equity = sum_equity / n_bars (turnover denominator)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fill_slippage_nb(slippage, volatility_multiplier, close_1, close_2):
    """Return the slippage fraction of a fill at bar t from ``close[t-1]`` and ``close[t-2]``."""
    scaled = slippage + volatility_multiplier * abs(close_1 / close_2 - 1.0)
    return min(scaled, MAX_EFFECTIVE_SLIPPAGE)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def bar_step_nb(
    open_price,
    close_price,
    funding_rate,
    signal,
    fill_slippage,
    fee_rate,
    leverage,
    funding_on,
    cash,
    qty,
    last_target,
):
    """Advance one bar: funding, fill, mark (DESIGN §2 steps 1-3). Scalars only.

    ``signal`` is ``target[t-1-L]`` (0.0 before the simulation's first executable bar, NaN =
    flat) and ``fill_slippage`` the slippage fraction of a fill at this bar. Returns ``(cash,
    qty, last_target, equity, funding_paid, fee, traded_qty, fill_price, equity_open)``.
    Ruin (``equity <= 0``) is the caller's: it closes the position at this mark, sets equity
    to 0 and leaves the loop (a branch out of the loop keeps the ruin check off the
    loop-carried chain of ``cash``). No array is passed in: numba would reference-count it on
    every bar, which costs more than the whole step.
    """
    # DESIGN §2 step 1: funding settles on the quantity held into the bar, at the open
    funding_paid = 0.0
    if funding_on:
        funding_paid = qty * open_price * funding_rate
        cash -= funding_paid
    # DESIGN §2 step 2: trade only when the executable target changes; units then stay
    equity_open = cash + qty * open_price
    traded = 0.0
    fee = 0.0
    price = open_price
    executable = 0.0 if math.isnan(signal) else signal
    if executable != last_target:
        # no position can be sized on non-positive equity: the fill then closes (ruin follows)
        new_qty = executable * leverage * max(equity_open, 0.0) / open_price
        traded = new_qty - qty
        if traded != 0.0:
            direction = 1.0 if traded > 0.0 else -1.0
            price = open_price * (1.0 + fill_slippage * direction)
            fee = fee_rate * abs(traded) * price
            cash -= traded * price + fee
        qty = new_qty
        last_target = executable
    # DESIGN §2 step 3: mark to the close; perpetual P&L is linear in price
    equity = cash + qty * close_price
    return cash, qty, last_target, equity, funding_paid, fee, traded, price, equity_open


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def bucket_step_nb(equity, is_last_bar, bucket_bars, bucket_left, bucket_start_equity):
    """Count one bar into the current bucket of ``bucket_bars`` bars.

    Returns ``(bucket_left, bucket_start_equity, complete, bucket_return)``; the compounded
    return (product of ``1 + r`` minus 1, 0 once ruined) is valid when ``complete``.
    """
    bucket_left -= 1
    if bucket_left == 0 or is_last_bar:
        value = equity / bucket_start_equity - 1.0 if bucket_start_equity > 0.0 else 0.0
        return bucket_bars, equity, True, value
    return bucket_left, bucket_start_equity, False, 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def sign_nb(x):
    """Return +1, -1 or 0 as an int."""
    if x > 0.0:
        return 1
    if x < 0.0:
        return -1
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def first_invalid_input_nb(open_, close, funding_rate, target):
    """Return ``(array_code, index)`` of the first invalid value, ``(-1, -1)`` when all are valid.

    Codes: 0 open (must be finite > 0), 1 close (same), 2 funding_rate (finite),
    3 target (NaN or in [-1, 1]).
    """
    n = open_.shape[0]
    for t in range(n):
        if not (open_[t] > 0.0 and open_[t] < math.inf):
            return 0, t
        if not (close[t] > 0.0 and close[t] < math.inf):
            return 1, t
        if not math.isfinite(funding_rate[t]):
            return 2, t
        s = target[t]
        if not math.isnan(s) and not (-1.0 <= s <= 1.0):
            return 3, t
    return -1, -1


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_nb(
    open_,
    close,
    funding_rate,
    target,
    latency_bars,
    fee_rate,
    slippage,
    slippage_volatility_multiplier,
    leverage,
    funding_on,
    initial_equity,
):
    """Simulate one symbol over all bars; return a ``SimulationOutput`` (per-bar arrays, trades).

    Trade P&L: the equity after the trade's exit leg minus the equity before its entry leg, so
    it includes the trade's price moves, funding, fees, slippage and any ruin write-off. While
    a trade is open it is the only position, so every equity change is its own; on a flip the
    fill cost (slippage ``d * (price - open)`` plus fee) is split pro rata to ``|qty_old|``
    (closing leg) and ``|new_qty|`` (opening leg) of ``|d|``. A trade exiting to flat ends at
    its exit bar's close (equal to the equity after the fill, or 0 after a ruin); a trade still
    open is marked at the last close. The trade P&Ls sum to final minus initial equity.
    """
    n = open_.shape[0]
    # one trade at most per fill, one fill at most per bar from bar 1 + L; the untouched tail
    # of these buffers is never paged in
    max_trades = max(n - 1 - latency_bars, 0)
    equity_out = np.empty(n)
    returns_out = np.empty(n)
    qty_out = np.empty(n)
    fees_out = np.empty(n)
    funding_out = np.empty(n)
    started_out = np.zeros(n, dtype=np.bool_)
    entry_bar = np.empty(max_trades, dtype=np.int64)
    exit_bar = np.empty(max_trades, dtype=np.int64)
    side = np.empty(max_trades, dtype=np.int64)
    pnl = np.empty(max_trades)
    entry_equity = np.empty(max_trades)

    cash = initial_equity
    qty = 0.0
    last_target = 0.0
    prev_equity = initial_equity
    turnover = 0.0
    k = -1  # index of the current (last begun) trade
    start_value = 0.0  # equity attributed to trade k when it began
    for t in range(n):
        qty_old = qty
        # inputs of bar t: the same lines as in simulate_summary_nb (kept inline on purpose:
        # factoring them into an njit helper measured 3.5 -> 14 ns/bar in benchmarks.simulate)
        j = t - 1 - latency_bars
        signal = target[j] if j >= 0 else 0.0
        slip = slippage
        if signal != last_target and slippage_volatility_multiplier != 0.0 and t >= 2:
            slip = fill_slippage_nb(
                slippage, slippage_volatility_multiplier, close[t - 1], close[t - 2]
            )
        cash, qty, last_target, equity, funding_paid, fee, traded, price, equity_open = bar_step_nb(
            open_[t],
            close[t],
            funding_rate[t],
            signal,
            slip,
            fee_rate,
            leverage,
            funding_on,
            cash,
            qty,
            last_target,
        )
        ruined = equity <= 0.0
        if ruined:
            equity = 0.0  # ruin: the negative balance is written off
        equity_out[t] = equity
        returns_out[t] = equity / prev_equity - 1.0
        qty_out[t] = 0.0 if ruined else qty
        fees_out[t] = fee
        funding_out[t] = funding_paid
        turnover += abs(traded) * price
        prev_equity = equity

        # trade bookkeeping (DESIGN §2: a flip ends one trade and begins another)
        side_old = sign_nb(qty_old)
        side_new = sign_nb(qty)
        if side_new != side_old:
            handover = equity_open
            if side_old != 0:
                exit_bar[k] = t
                if side_new != 0:
                    # flip: the closing leg bears its pro-rata share of the fill's cost
                    fill_cost = traded * (price - open_[t]) + fee
                    handover = equity_open - fill_cost * (abs(qty_old) / abs(traded))
                    pnl[k] = handover - start_value
                else:
                    pnl[k] = equity - start_value  # flat from the fill to the close
            if side_new != 0:
                k += 1
                entry_bar[k] = t
                exit_bar[k] = -1
                side[k] = side_new
                entry_equity[k] = equity_open
                start_value = handover
                started_out[t] = True
        if ruined:
            if side_new != 0:
                # closed at this mark: the trade lost everything it started with
                exit_bar[k] = t
                pnl[k] = equity - start_value
            # equity, returns and quantity stay 0 for the rest of the series
            for rest in range(t + 1, n):
                equity_out[rest] = 0.0
                returns_out[rest] = 0.0
                qty_out[rest] = 0.0
                fees_out[rest] = 0.0
                funding_out[rest] = 0.0
            break

    if k >= 0 and exit_bar[k] < 0:
        pnl[k] = prev_equity - start_value  # still open: marked at the last close
    n_trades = k + 1
    return SimulationOutput(
        equity_out,
        returns_out,
        qty_out,
        fees_out,
        funding_out,
        started_out,
        n_trades,
        turnover,
        entry_bar[:n_trades].copy(),
        exit_bar[:n_trades].copy(),
        side[:n_trades].copy(),
        pnl[:n_trades].copy(),
        entry_equity[:n_trades].copy(),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_summary_nb(
    open_,
    close,
    funding_rate,
    target,
    start,
    stop,
    latency_bars,
    fee_rate,
    slippage,
    slippage_volatility_multiplier,
    leverage,
    funding_on,
    initial_equity,
    bucket_bars,
    bucket_returns,
):
    """Simulate bars [start, stop) from flat; return a ``SegmentSummary`` without allocating.

    Equals ``simulate_nb`` on the arrays sliced ``[start:stop]``: the first fill is at
    ``start + 1 + L`` with ``target[start + L]``, earlier targets never trade. When
    ``bucket_bars > 0`` and ``bucket_returns`` has at least ``ceil(n / bucket_bars)`` slots,
    ``bucket_returns[k]`` receives the compounded return of bars
    ``[start + k * bucket_bars, start + (k + 1) * bucket_bars)`` (the last one may be partial).
    """
    # views from ``start``: indices from 0 let LLVM drop numba's negative-index wraparound
    open_ = open_[start:stop]
    close = close[start:stop]
    funding_rate = funding_rate[start:stop]
    target = target[start:stop]
    n = open_.shape[0]
    cash = initial_equity
    qty = 0.0
    last_target = 0.0
    inverse_prev = 1.0 / initial_equity
    inverse_peak = inverse_prev
    equity = initial_equity
    sum_returns = 0.0
    sum_squared = 0.0
    sum_squared_negative = 0.0
    sum_squared_drawdown = 0.0
    sum_equity = 0.0
    peak = initial_equity
    peak_bar = -1
    max_drawdown = 0.0
    max_drawdown_bars = 0
    n_trades = 0
    fees_paid = 0.0
    funding_paid_total = 0.0
    bars_exposed = 0
    turnover = 0.0
    use_buckets = bucket_bars > 0 and bucket_returns.shape[0] > 0
    bucket_index = 0
    bucket_left = bucket_bars
    bucket_start_equity = initial_equity
    last_bar = n - 1
    ruin_bar = -1
    for t in range(n):
        qty_old = qty
        # inputs of bar t: the same lines as in simulate_nb (inline on purpose, see there)
        j = t - 1 - latency_bars
        signal = target[j] if j >= 0 else 0.0
        slip = slippage
        if signal != last_target and slippage_volatility_multiplier != 0.0 and t >= 2:
            slip = fill_slippage_nb(
                slippage, slippage_volatility_multiplier, close[t - 1], close[t - 2]
            )
        cash, qty, last_target, equity, funding_paid, fee, traded, price, _ = bar_step_nb(
            open_[t],
            close[t],
            funding_rate[t],
            signal,
            slip,
            fee_rate,
            leverage,
            funding_on,
            cash,
            qty,
            last_target,
        )
        funding_paid_total += funding_paid
        if traded != 0.0:
            fees_paid += fee
            turnover += abs(traded) * price
            side_new = sign_nb(qty)
            if side_new != 0 and side_new != sign_nb(qty_old):
                n_trades += 1
        if equity <= 0.0:
            ruin_bar = t
            break  # the ruin bar and the bars after it are accounted below
        # branch-free accumulation (the signs of returns and new highs are unpredictable) with
        # one division per bar: scalar division is the costliest instruction of the loop
        inverse_equity = 1.0 / equity
        r = equity * inverse_prev - 1.0
        inverse_prev = inverse_equity
        negative = min(r, 0.0)
        sum_returns += r
        sum_squared += r * r
        sum_squared_negative += negative * negative
        sum_equity += equity
        high = equity >= peak
        peak_bar = t if high else peak_bar
        peak = equity if high else peak
        inverse_peak = inverse_equity if high else inverse_peak
        drawdown = 0.0 if high else 1.0 - equity * inverse_peak
        sum_squared_drawdown += drawdown * drawdown
        max_drawdown = max(max_drawdown, drawdown)
        max_drawdown_bars = max(max_drawdown_bars, t - peak_bar)
        bars_exposed += qty != 0.0
        if use_buckets:
            bucket_left, bucket_start_equity, complete, value = bucket_step_nb(
                equity, t == last_bar, bucket_bars, bucket_left, bucket_start_equity
            )
            if complete:
                bucket_returns[bucket_index] = value
                bucket_index += 1

    if ruin_bar >= 0:
        # ruin: closed at the mark, the negative balance written off; from then on equity 0,
        # return -1 on the ruin bar and 0 after it, drawdown 1, no position
        equity = 0.0
        sum_returns -= 1.0
        sum_squared += 1.0
        sum_squared_negative += 1.0
        sum_squared_drawdown += n - ruin_bar
        max_drawdown = 1.0
        max_drawdown_bars = max(max_drawdown_bars, last_bar - peak_bar)
        for rest in range(ruin_bar, n if use_buckets else 0):
            bucket_left, bucket_start_equity, complete, value = bucket_step_nb(
                0.0, rest == last_bar, bucket_bars, bucket_left, bucket_start_equity
            )
            if complete:
                bucket_returns[bucket_index] = value
                bucket_index += 1

    return SegmentSummary(
        n,
        sum_returns,
        sum_squared,
        sum_squared_negative,
        equity,
        max_drawdown,
        max_drawdown_bars,
        n_trades,
        fees_paid,
        funding_paid_total,
        bars_exposed,
        turnover,
        equity - initial_equity + fees_paid + funding_paid_total,
        sum_squared_drawdown,
        sum_equity,
    )
