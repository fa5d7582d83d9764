"""The DESIGN §2 backtest as a deliberately naive pure-Python loop: the oracle of fitness.simulate.

Written from the text of DESIGN §2 and the documented details of ``fitness.simulate`` (NaN
target = flat, fill only on a change of the executable target, ruin closes at the mark, volatility
slippage), sharing no code with the kernel. Trade P&L is computed differently from the kernel:
as the equity after the trade's exit leg minus the equity before its entry leg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_EFFECTIVE_SLIPPAGE = 0.5


@dataclass
class NaiveTrade:
    entry_bar: int
    side: int
    entry_equity: float  # equity just before the entry fill (the return denominator)
    start_value: float  # equity attributed to the trade when it begins
    exit_bar: int = -1
    pnl: float = math.nan


@dataclass
class NaiveResult:
    equity: list[float] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    fees: list[float] = field(default_factory=list)
    funding: list[float] = field(default_factory=list)
    trade_started: list[bool] = field(default_factory=list)
    trades: list[NaiveTrade] = field(default_factory=list)
    turnover_notional: float = 0.0


def _side(quantity: float) -> int:
    if quantity > 0:
        return 1
    if quantity < 0:
        return -1
    return 0


def naive_simulate(
    open_: list[float],
    close: list[float],
    funding_rate: list[float],
    target: list[float],
    *,
    taker_fee: float,
    maker_fee: float,
    use_maker: bool,
    slippage: float,
    slippage_volatility_multiplier: float,
    latency_bars: int,
    leverage: float,
    funding: bool,
    initial_equity: float,
) -> NaiveResult:
    """Run DESIGN §2 bar by bar with Python floats."""
    fee_rate = maker_fee if use_maker else taker_fee
    n = len(open_)
    result = NaiveResult()
    cash = initial_equity
    qty = 0.0
    last_filled = 0.0  # the account starts flat: an executable target of 0 is no order
    previous_equity = initial_equity
    ruined = False
    trade: NaiveTrade | None = None

    for t in range(n):
        # the order for s[t] fills at the open of bar t + 1 + L; NaN means flat
        source = t - 1 - latency_bars
        if source >= 0:
            executable = target[source]
            if executable != executable:
                executable = 0.0
        else:
            executable = 0.0

        # 1. funding on the quantity held going into the bar
        paid_funding = 0.0
        if funding and not ruined:
            paid_funding = qty * open_[t] * funding_rate[t]
            cash = cash - paid_funding

        # 2. fill when the executable target differs from the last one filled
        paid_fee = 0.0
        old_qty = qty
        started = False
        if not ruined and executable != last_filled:
            equity_open = cash + qty * open_[t]
            sizing_equity = equity_open if equity_open > 0 else 0.0
            new_qty = executable * leverage * sizing_equity / open_[t]
            d = new_qty - qty
            if t >= 2 and slippage_volatility_multiplier != 0.0:
                effective_slippage = slippage + slippage_volatility_multiplier * abs(
                    close[t - 1] / close[t - 2] - 1
                )
                effective_slippage = min(effective_slippage, MAX_EFFECTIVE_SLIPPAGE)
            else:
                effective_slippage = slippage
            price = open_[t] * (1 + effective_slippage * _side(d))
            paid_fee = fee_rate * abs(d) * price
            cash = cash - (d * price + paid_fee)
            qty = new_qty
            last_filled = executable
            result.turnover_notional += abs(d) * price

            old_side, new_side = _side(old_qty), _side(new_qty)
            if old_side != new_side:
                # a trade's P&L = equity after its exit leg - equity before its entry leg
                start_value = equity_open
                if old_side != 0 and new_side != 0:
                    # flip: the closing leg bears its pro-rata share of the fill's cost
                    total_cost = equity_open - (cash + qty * open_[t])
                    closing_cost = total_cost * abs(old_qty) / abs(d)
                    start_value = equity_open - closing_cost
                    trade.exit_bar = t
                    trade.pnl = start_value - trade.start_value
                    trade = None
                elif old_side != 0:
                    trade.exit_bar = t  # flat from here: P&L settled at this bar's close
                if new_side != 0:
                    trade = NaiveTrade(t, new_side, equity_open, start_value)
                    result.trades.append(trade)
                    started = True

        # 3. mark at the close; ruin closes the position there and stays
        equity = cash + qty * close[t]
        if ruined or equity <= 0:
            equity = 0.0
            cash = 0.0
            if trade is not None:
                trade.exit_bar = t
            qty = 0.0
            ruined = True
        # a trade that went flat this bar ends at this close's equity (after any ruin)
        if trade is not None and trade.exit_bar >= 0:
            trade.pnl = equity - trade.start_value
            trade = None

        result.equity.append(equity)
        result.returns.append(equity / previous_equity - 1 if previous_equity > 0 else 0.0)
        result.qty.append(qty)
        result.fees.append(paid_fee)
        result.funding.append(paid_funding)
        result.trade_started.append(started)
        previous_equity = equity

    if trade is not None:
        trade.pnl = result.equity[-1] - trade.start_value
    return result
