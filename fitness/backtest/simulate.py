"""Typed entry points of the backtest: validate inputs, run the DESIGN §2 kernels, wrap results.

``simulate`` returns per-bar arrays and trade records (reports, metrics); ``simulate_segment``
returns streaming sufficient statistics of one walk-forward segment (the evolution hot path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fitness.backtest.costs import CostModel
from fitness.backtest.nb import (
    SegmentSummary,
    first_invalid_input_nb,
    simulate_nb,
    simulate_summary_nb,
)
from fitness.errors import CostModelError, DataError, SegmentError
from primitives.arrays import BoolArray, Float64Array, Int64Array, as_float64

_ARRAY_NAMES = ("open", "close", "funding_rate", "target")
_EXPECTED = (
    "a finite price > 0",
    "a finite price > 0",
    "a finite rate (0 on bars without a settlement)",
    "NaN (flat) or a value in [-1, 1]",
)
_EMPTY = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TradeRecords:
    """Per-trade records of one simulation, in entry order (DESIGN §2 trade definition).

    Attributes
    ----------
    entry_bar : ndarray of int64, shape (n_trades,)
        Bar whose open filled the entry (a flip's bar for the trade it begins).
    exit_bar : ndarray of int64, shape (n_trades,)
        Bar whose open filled the exit (or whose close ruined the account); -1 when the trade
        is still open at the last bar (its P&L is then marked at the last close).
    side : ndarray of int64, shape (n_trades,)
        +1 long, -1 short.
    pnl : ndarray of float64, shape (n_trades,)
        P&L in account currency: price moves of the trade's position, minus its funding, fees
        and slippage (a flip's fill cost split pro rata to the closing and opening quantities),
        plus any ruin write-off. The trade P&Ls sum to final minus initial equity.
    return_on_equity : ndarray of float64, shape (n_trades,)
        ``pnl`` divided by the account equity just before the entry fill.
    """

    entry_bar: Int64Array
    exit_bar: Int64Array
    side: Int64Array
    pnl: Float64Array
    return_on_equity: Float64Array

    def __len__(self) -> int:
        return int(self.entry_bar.shape[0])


@dataclass(frozen=True, slots=True)
class SimResult:
    """Per-bar outcome of ``simulate`` (one symbol); every array has shape (n_bars,).

    Attributes
    ----------
    equity : ndarray of float64
        Account equity at each bar's close, in account currency (0 from a ruin onwards).
    returns : ndarray of float64
        ``equity[t] / equity[t-1] - 1`` with ``equity[-1] = initial_equity``; -1 on the ruin
        bar, 0 after it.
    qty : ndarray of float64
        Contracts held at the end of the bar (after a ruin closure); negative = short.
    fees : ndarray of float64
        Fees paid at the bar's fill (>= 0).
    funding : ndarray of float64
        Funding paid at the bar's settlement; negative when the account received funding.
    trade_started : ndarray of bool
        True on bars where a trade begins (from flat or by a flip).
    trades : int
        Number of trades begun.
    trade_records : TradeRecords
        One record per trade begun.
    turnover_notional : float
        Traded notional over all fills, ``sum |d| * fill price``, in account currency.
    initial_equity : float
        Equity before the first bar.
    buy_and_hold_return : float
        ``close[-1] / open[1 + latency_bars] - 1``: holding one unit from the first possible
        fill to the last close (0 when no fill is possible).
    """

    equity: Float64Array
    returns: Float64Array
    qty: Float64Array
    fees: Float64Array
    funding: Float64Array
    trade_started: BoolArray
    trades: int
    trade_records: TradeRecords
    turnover_notional: float
    initial_equity: float
    buy_and_hold_return: float

    @property
    def n_bars(self) -> int:
        """Return the number of simulated bars."""
        return int(self.equity.shape[0])


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """Sufficient statistics of ``simulate_segment`` over bars [start, stop).

    Attributes
    ----------
    summary : SegmentSummary
        Kernel statistics: ``n_bars``, sums of returns / squared returns / squared negative
        returns, ``final_equity``, ``max_drawdown``, ``max_drawdown_bars``, ``n_trades``,
        ``fees_paid``, ``funding_paid``, ``bars_exposed``, ``turnover_notional``,
        ``gross_pnl``, ``sum_squared_drawdown``, ``sum_equity``.
    initial_equity : float
        Equity at the segment's start (it always starts flat).
    buy_and_hold_return : float
        ``close[stop-1] / open[start + 1 + latency_bars] - 1`` (0 when no fill is possible).
    bucket_returns : ndarray of float64, shape (ceil(n_bars / bucket_bars),) or None
        Compounded return per bucket of ``bucket_bars`` bars counted from ``start``.
    """

    summary: SegmentSummary
    initial_equity: float
    buy_and_hold_return: float
    bucket_returns: Float64Array | None


def simulate(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    funding_rate: npt.ArrayLike | None,
    target: npt.ArrayLike,
    costs: CostModel,
    initial_equity: float = 1.0,
) -> SimResult:
    """Backtest one symbol's target positions under ``costs`` exactly as DESIGN §2 specifies.

    ``target[t]`` (decided at bar t's close) fills at ``open[t + 1 + latency_bars]`` and only
    when it differs from the last filled target; the quantity then stays. Each bar settles
    funding, fills, then marks to the close. Equity at or below 0 at a mark is ruin.

    Parameters
    ----------
    open_, close : ndarray of float64, shape (n_bars,)
        Bar prices, finite and > 0.
    funding_rate : ndarray of float64, shape (n_bars,), or None
        Funding rate settled inside each bar (DESIGN §1), 0 elsewhere; None = no settlements.
    target : ndarray of float64, shape (n_bars,)
        Target position as a fraction of equity before leverage, in [-1, 1]; NaN = flat.
        Values outside [-1, 1] are rejected, not clipped: they mean an upstream bug.
    costs : CostModel
        Fees, slippage, latency, leverage and funding switch.
    initial_equity : float
        Equity before the first bar, in account currency (> 0).

    Returns
    -------
    SimResult

    Raises
    ------
    DataError
        If an array has the wrong shape or length or holds an invalid value (names the array,
        the index and the value).
    CostModelError
        If ``initial_equity`` is not finite and positive.

    Notes
    -----
    Details DESIGN §2 leaves open, pinned here (and in the naive reference of the tests):

    - Bars before ``1 + latency_bars`` have no order; the account starts flat with a last
      filled target of 0, so an executable target of 0 (or NaN) is no fill.
    - A fill with ``sign(d) = 0`` pays neither slippage nor fee.
    - A fill whose ``equity_open`` is not positive sizes the new position at 0 units (an
      account without equity cannot open one); the mark then ruins it.
    - Ruin (equity <= 0 at a mark): the position is closed at that close with no further
      cost, the negative balance is written off, equity is 0 from that bar on; that bar's
      return is -1 and later returns are 0; ``qty`` is 0 from that bar on.
    - Funding paid and fees are positive when they cost the account; with ``costs.funding``
      off no funding cash flow happens.
    """
    open_a, close_a, funding_a, target_a = _validated_arrays(open_, close, funding_rate, target)
    _check_costs(costs, initial_equity)
    out = simulate_nb(
        open_a,
        close_a,
        funding_a,
        target_a,
        costs.latency_bars,
        costs.fee_rate,
        costs.slippage,
        costs.slippage_volatility_multiplier,
        costs.leverage,
        costs.funding,
        float(initial_equity),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        trade_returns = out.trade_pnl / out.trade_entry_equity
    records = TradeRecords(
        entry_bar=out.trade_entry_bar,
        exit_bar=out.trade_exit_bar,
        side=out.trade_side,
        pnl=out.trade_pnl,
        return_on_equity=trade_returns,
    )
    return SimResult(
        equity=out.equity,
        returns=out.returns,
        qty=out.qty,
        fees=out.fees,
        funding=out.funding,
        trade_started=out.trade_started,
        trades=int(out.n_trades),
        trade_records=records,
        turnover_notional=float(out.turnover_notional),
        initial_equity=float(initial_equity),
        buy_and_hold_return=_buy_and_hold(open_a, close_a, 0, len(open_a), costs.latency_bars),
    )


def simulate_segment(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    funding_rate: npt.ArrayLike | None,
    target: npt.ArrayLike,
    costs: CostModel,
    start: int,
    stop: int,
    *,
    initial_equity: float = 1.0,
    bucket_bars: int = 0,
    validate: bool = True,
) -> SegmentResult:
    """Backtest bars [start, stop) from flat and return streaming statistics (no per-bar arrays).

    Equals ``simulate`` on every array sliced ``[start:stop]``: targets before ``start`` never
    trade, the first fill is at ``start + 1 + latency_bars`` with ``target[start +
    latency_bars]``. Bars before ``start`` may have served the strategy's indicator warm-up;
    the simulation itself never reads them (the volatility slippage term starts at
    ``start + 2``).

    Parameters
    ----------
    open_, close, funding_rate, target
        Full-length arrays as for ``simulate``.
    costs : CostModel
    start, stop : int
        Segment bounds, ``0 <= start < stop <= n_bars``.
    initial_equity : float
    bucket_bars : int
        When > 0, also return the compounded return of every ``bucket_bars`` bars from
        ``start`` (e.g. daily buckets for the lineage store); the last bucket may be partial.
    validate : bool
        Check every value of the arrays (a pass over ``[start, stop)``); pass False only for
        arrays already validated (market data checked once, targets from ``primitives``).
        Shapes, lengths and bounds are always checked.

    Returns
    -------
    SegmentResult

    Raises
    ------
    DataError, CostModelError
        As for ``simulate``.
    SegmentError
        If ``start``/``stop`` are not ``0 <= start < stop <= n_bars`` or ``bucket_bars < 0``.
    """
    arrays = _validated_arrays(open_, close, funding_rate, target, check_values=False)
    open_a, close_a, funding_a, target_a = arrays
    n_bars = open_a.shape[0]
    if not (0 <= start < stop <= n_bars):
        raise SegmentError(
            f"simulate_segment: start={start}, stop={stop} is not a segment of the {n_bars} bars "
            "(expected 0 <= start < stop <= n_bars); check the fold boundaries"
        )
    if bucket_bars < 0:
        raise SegmentError(
            f"simulate_segment: bucket_bars must be >= 0 (0: no buckets), was {bucket_bars}; "
            "pass the number of bars per bucket"
        )
    if validate:
        window = slice(start, stop)
        _check_values(
            open_a[window], close_a[window], funding_a[window], target_a[window], offset=start
        )
    _check_costs(costs, initial_equity)
    buckets = _EMPTY
    if bucket_bars > 0:
        buckets = np.empty(-(-(stop - start) // bucket_bars), dtype=np.float64)
    summary = simulate_summary_nb(
        open_a,
        close_a,
        funding_a,
        target_a,
        start,
        stop,
        costs.latency_bars,
        costs.fee_rate,
        costs.slippage,
        costs.slippage_volatility_multiplier,
        costs.leverage,
        costs.funding,
        float(initial_equity),
        bucket_bars,
        buckets,
    )
    return SegmentResult(
        summary=summary,
        initial_equity=float(initial_equity),
        buy_and_hold_return=_buy_and_hold(open_a, close_a, start, stop, costs.latency_bars),
        bucket_returns=buckets if bucket_bars > 0 else None,
    )


def simulate_many(
    markets: Sequence[tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike | None, npt.ArrayLike]],
    costs: CostModel,
    initial_equity: float = 1.0,
) -> list[SimResult]:
    """Run ``simulate`` on several symbols, one independent account each.

    Parameters
    ----------
    markets : sequence of (open, close, funding_rate, target)
        One tuple per symbol, arrays as for ``simulate`` (lengths may differ between symbols).
    costs : CostModel
    initial_equity : float
        Starting equity of each symbol's account.

    Returns
    -------
    list of SimResult
        In the order of ``markets``.
    """
    return [
        simulate(open_, close, funding_rate, target, costs, initial_equity)
        for open_, close, funding_rate, target in markets
    ]


def warmup() -> None:
    """Compile, or load from numba's on-disk cache, every simulation kernel (once per worker)."""
    prices = np.full(4, 100.0)
    target = np.array([np.nan, 1.0, -1.0, 0.0])
    simulate(prices, prices, np.zeros(4), target, CostModel())
    simulate_segment(prices, prices, np.zeros(4), target, CostModel(), 0, 4, bucket_bars=2)


def _buy_and_hold(
    open_: Float64Array, close: Float64Array, start: int, stop: int, latency_bars: int
) -> float:
    entry = start + 1 + latency_bars
    if entry >= stop:
        return 0.0
    return float(close[stop - 1] / open_[entry] - 1.0)


def _check_costs(costs: CostModel, initial_equity: float) -> None:
    if not isinstance(costs, CostModel):
        raise TypeError(f"costs: expected a fitness.CostModel, found {type(costs).__name__}")
    if not (math.isfinite(initial_equity) and initial_equity > 0.0):
        raise CostModelError(
            f"initial_equity: expected a finite amount > 0, was {initial_equity!r}"
        )


def _validated_arrays(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    funding_rate: npt.ArrayLike | None,
    target: npt.ArrayLike,
    check_values: bool = True,
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array]:
    open_a = _as_array(open_, "open")
    n_bars = open_a.shape[0]
    if n_bars == 0:
        raise DataError("open: no bars (expected at least one); pass a non-empty series")
    if funding_rate is None:
        funding_rate = np.zeros(n_bars)
    arrays = (
        open_a,
        _as_array(close, "close"),
        _as_array(funding_rate, "funding_rate"),
        _as_array(target, "target"),
    )
    for name, array in zip(_ARRAY_NAMES, arrays, strict=True):
        if array.shape[0] != n_bars:
            raise DataError(
                f"{name}: length {array.shape[0]} differs from open's {n_bars} bars "
                "(expected one value per bar); align the arrays to the same bars"
            )
    if check_values:
        _check_values(*arrays, offset=0)
    return arrays


def _as_array(values: npt.ArrayLike, name: str) -> Float64Array:
    try:
        return as_float64(values, name)
    except ValueError as e:
        raise DataError(str(e)) from e


def _check_values(
    open_: Float64Array,
    close: Float64Array,
    funding_rate: Float64Array,
    target: Float64Array,
    offset: int,
) -> None:
    code, index = first_invalid_input_nb(open_, close, funding_rate, target)
    if code < 0:
        return
    value = (open_, close, funding_rate, target)[code][index]
    raise DataError(
        f"{_ARRAY_NAMES[code]}[{index + offset}]: expected {_EXPECTED[code]}, found {value!r}; "
        "fix the input (targets from a strategy may be clipped with numpy.clip(target, -1, 1))"
    )
