"""The paper broker: each strategy's virtual sub-account advances by the backtest's own bar step.

One implementation of funding → fill → mark serves the backtest and the paper account:
``fitness.bar_step_nb`` (DESIGN §2 steps 1-3), called here once per sub-account and bar with
the same arguments ``fitness.simulate`` passes it. What lives here is only what ``simulate``
does around that call: choosing the executable target, the volatility slippage term, the ruin
write-off, and the bookkeeping of the netted order and its attribution.

Netting (DESIGN §6): the sub-accounts' traded quantities on one symbol at one bar are netted
into one order (``qty = sum d_i``). Each sub-account is charged the fee and slippage of its own
leg, exactly as its backtest charges them, so a sub-account's P&L equals ``fitness.simulate``
of its strategy at its capital, and the account equals the sum. Netting the legs on a venue
can only save cost (crossing legs trade less), so the paper account is conservative by
``sum(fee_i + slip_i) - cost(net order)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fitness import CostModel, bar_step_nb, fill_slippage_nb

_CLIENT_ID_MAX = 36


@dataclass(slots=True)
class SubAccount:
    """One strategy's capital on one symbol: cash, contracts and the last filled target."""

    strategy: str
    symbol: str
    costs: CostModel
    cash: float
    qty: float = 0.0
    last_target: float = 0.0
    value: float = 0.0
    ruined: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.strategy, self.symbol)


@dataclass(frozen=True, slots=True)
class LegResult:
    """What one sub-account did at one bar."""

    strategy: str
    symbol: str
    funding_paid: float
    funding_qty: float
    traded_qty: float
    price: float
    fee: float
    slippage_cost: float
    qty: float
    value: float
    ruined_now: bool


@dataclass(frozen=True, slots=True)
class BarResult:
    """One symbol's bar: the legs and the netted order (``client_id`` empty when no trade)."""

    symbol: str
    bar_time: int
    legs: tuple[LegResult, ...]
    client_id: str
    net_qty: float
    gross_qty: float


def client_order_id(account_id: str, bar_time: int, leg: int) -> str:
    """Return the deterministic client order id ``<account>-<bar open ms>-<leg>`` (<= 36 chars).

    Binance accepts at most 36 characters of ``[.A-Za-z:/0-9_-]``; a retry of the same order
    (same account, bar and leg) produces the same id.
    """
    text = f"{account_id[:16]}-{int(bar_time)}-{int(leg)}"
    if len(text) > _CLIENT_ID_MAX:
        raise ValueError(f"client order id {text!r} is longer than {_CLIENT_ID_MAX} characters")
    return text


@dataclass(slots=True)
class PaperBroker:
    """Fills the account's orders at bar opens by DESIGN §2, per sub-account.

    Parameters
    ----------
    account_id : str
        Short id of the account (client order ids).
    accounts : dict
        ``(strategy, symbol) -> SubAccount``, in a fixed order (the order of the legs).
    """

    account_id: str
    accounts: dict[tuple[str, str], SubAccount] = field(default_factory=dict)

    def step(
        self,
        symbol: str,
        leg: int,
        bar_time: int,
        open_price: float,
        close_price: float,
        funding_rate: float,
        signals: dict[str, float | None],
        previous_closes: tuple[float, float] | None,
    ) -> BarResult:
        """Advance every sub-account on ``symbol`` through one bar.

        Parameters
        ----------
        signals : dict
            Strategy id -> the executable target ``s[t-1-L]`` (NaN = flat), or None when the
            strategy has nothing executable at this bar (before its first decision, or a
            missed one): the position is then held (no fill).
        previous_closes : (close[t-1], close[t-2]) or None
            The two closes before this bar when the account has processed at least two bars
            of the symbol (the volatility slippage term is 0 before that, as in simulate).
        """
        legs = []
        for account in self.accounts.values():
            if account.symbol != symbol:
                continue
            legs.append(
                self._advance(
                    account,
                    open_price,
                    close_price,
                    funding_rate,
                    signals.get(account.strategy),
                    previous_closes,
                )
            )
        net = math.fsum(leg_result.traded_qty for leg_result in legs)
        gross = math.fsum(abs(leg_result.traded_qty) for leg_result in legs)
        client_id = client_order_id(self.account_id, bar_time, leg) if gross > 0.0 else ""
        return BarResult(symbol, bar_time, tuple(legs), client_id, net, gross)

    @staticmethod
    def _advance(
        account: SubAccount,
        open_price: float,
        close_price: float,
        funding_rate: float,
        signal: float | None,
        previous_closes: tuple[float, float] | None,
    ) -> LegResult:
        if account.ruined:
            return LegResult(
                account.strategy,
                account.symbol,
                0.0,
                0.0,
                0.0,
                open_price,
                0.0,
                0.0,
                0.0,
                0.0,
                False,
            )
        costs = account.costs
        executable = account.last_target if signal is None else signal
        slip = costs.slippage
        # the same lines as fitness.backtest.nb.simulate_nb's inputs of bar t
        if (
            executable != account.last_target
            and costs.slippage_volatility_multiplier != 0.0
            and previous_closes is not None
        ):
            slip = fill_slippage_nb(
                costs.slippage,
                costs.slippage_volatility_multiplier,
                previous_closes[0],
                previous_closes[1],
            )
        qty_before = account.qty
        cash, qty, last_target, equity, funding_paid, fee, traded, price, _ = bar_step_nb(
            open_price,
            close_price,
            funding_rate,
            executable,
            slip,
            costs.fee_rate,
            costs.leverage,
            costs.funding,
            account.cash,
            account.qty,
            account.last_target,
        )
        ruined_now = equity <= 0.0
        if ruined_now:
            # DESIGN §2 ruin: closed at this mark, no fee, the negative balance written off
            cash, qty, equity = 0.0, 0.0, 0.0
        account.cash = float(cash)
        account.qty = float(qty)
        account.last_target = float(last_target)
        account.value = float(equity)
        account.ruined = ruined_now
        return LegResult(
            strategy=account.strategy,
            symbol=account.symbol,
            funding_paid=float(funding_paid),
            funding_qty=qty_before,
            traded_qty=float(traded),
            price=float(price),
            fee=float(fee),
            slippage_cost=float(traded * (price - open_price)),
            qty=account.qty,
            value=account.value,
            ruined_now=ruined_now,
        )
