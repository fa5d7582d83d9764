"""One risk check in front of every order, and the drawdown levels (DESIGN §7).

NautilusTrader's shape (``risk/engine.pyx``): every check either passes or denies with a
reason, and the caller has one deny path (an event and a status line). ``check_order`` returns
a frozen ``Allowed`` or ``Denied(check, reason)``; it never raises for a denial. An order that
only *reduces* a position passes every limit but the price band (reducing risk is never
blocked by a risk limit; a price far from the last close means the data or the venue is wrong).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

NORMAL, ALERT, CAUTION, EMERGENCY = "normal", "alert", "caution", "emergency"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Every limit, with a conservative default (amounts in quote currency, rates fractions).

    Attributes
    ----------
    max_order_notional : float
        Largest single order, ``|qty| * price`` (default 5 000).
    max_position_notional : float
        Largest position per symbol after the order (default 10 000).
    max_gross_leverage : float
        Sum of ``|position| * price`` over symbols, divided by the account equity (default 1.0).
    max_orders_per_minute : int
        Orders sent in the last 60 s of wall clock (default 10).
    price_band : float
        Largest ``|reference / last_close - 1|`` (default 0.02).
    stale_bars : int
        The last closed bar may be at most this many intervals old for an increase (default 2).
    daily_loss_limit : float
        Loss since the UTC day's first equity mark, as a fraction of it, at which increases
        stop (default 0.03).
    drawdown_alert, drawdown_caution, drawdown_emergency : float
        Drawdown from the peak equity (per strategy and per account) at which an alert event is
        written, new positions are taken at half size, and the account (or the strategy) is
        flattened and halted (defaults 0.10, 0.15, 0.25).
    reconcile_every_bars : int
        Bars between reconciliations with the venue (default 12; also at every start).
    reconcile_tolerance_lots : float
        An unexplained position difference above this many lots halts (default 1).
    not_found_limit : int
        Queries answered "does not exist" before an order is called lost (default 3).
    """

    max_order_notional: float = 5_000.0
    max_position_notional: float = 10_000.0
    max_gross_leverage: float = 1.0
    max_orders_per_minute: int = 10
    price_band: float = 0.02
    stale_bars: int = 2
    daily_loss_limit: float = 0.03
    drawdown_alert: float = 0.10
    drawdown_caution: float = 0.15
    drawdown_emergency: float = 0.25
    reconcile_every_bars: int = 12
    reconcile_tolerance_lots: float = 1.0
    not_found_limit: int = 3

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"risk limit {item.name}: expected a finite number > 0, found {value!r}"
                )
        if not self.drawdown_alert <= self.drawdown_caution <= self.drawdown_emergency < 1.0:
            raise ValueError(
                "risk limits: expected drawdown_alert <= drawdown_caution <= "
                f"drawdown_emergency < 1, found {self.drawdown_alert}, "
                f"{self.drawdown_caution}, {self.drawdown_emergency}"
            )


def load_limits(path: Path | None, overrides: dict[str, Any] | None = None) -> RiskLimits:
    """Return limits from a TOML file's ``[risk]`` table (unknown keys refused) and overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        with Path(path).open("rb") as handle:
            values.update(tomllib.load(handle).get("risk", {}))
    values.update(overrides or {})
    known = {item.name for item in fields(RiskLimits)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"{path or 'risk limits'}: unknown key(s) {unknown} in [risk] (expected some of "
            f"{sorted(known)})"
        )
    return RiskLimits(**values)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order the runner wants to send (``qty`` signed, lot-rounded)."""

    symbol: str
    qty: float
    reference_price: float
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the check knows about the account when the order is asked for.

    ``position_qty`` is the symbol's venue position; ``other_gross_notional`` the other
    symbols' ``|qty| * price``; ``bars_old`` the age of the newest closed bar in intervals.
    """

    last_close: float
    position_qty: float
    other_gross_notional: float
    equity: float
    orders_last_minute: int
    bars_old: float
    day_start_equity: float


@dataclass(frozen=True, slots=True)
class Allowed:
    """The order may be sent."""


@dataclass(frozen=True, slots=True)
class Denied:
    """The order is refused by ``check`` (a limit's name) for ``reason``."""

    check: str
    reason: str


def check_order(order: OrderRequest, context: RiskContext, limits: RiskLimits) -> Allowed | Denied:
    """Return ``Allowed()`` or the first ``Denied`` of the checks, in a fixed order.

    A non-finite number anywhere in the order or the context is denied first: every later
    check compares with ``>``, which NaN would pass silently.
    """
    numbers = {
        "qty": order.qty,
        "reference_price": order.reference_price,
        **{item.name: getattr(context, item.name) for item in fields(context)},
    }
    bad = {name: value for name, value in numbers.items() if not math.isfinite(value)}
    if bad:
        return Denied(
            "invalid_input",
            f"{order.symbol}: non-finite "
            + ", ".join(f"{name} {value!r}" for name, value in bad.items())
            + " (expected finite numbers; the order is not sent)",
        )
    price = order.reference_price
    band = abs(price / context.last_close - 1.0) if context.last_close > 0 else math.inf
    if band > limits.price_band:
        return Denied(
            "price_band",
            f"{order.symbol}: reference price {price:g} is {band:.2%} from the last close "
            f"{context.last_close:g} (limit {limits.price_band:.2%})",
        )
    after = context.position_qty + order.qty
    reducing = order.reduce_only or (
        context.position_qty * after >= 0.0 and abs(after) < abs(context.position_qty)
    )
    if reducing:
        return Allowed()
    notional = abs(order.qty) * price
    if context.bars_old > limits.stale_bars:
        return Denied(
            "stale_data",
            f"{order.symbol}: newest closed bar is {context.bars_old:.1f} intervals old "
            f"(limit {limits.stale_bars}); only reducing orders pass",
        )
    if notional > limits.max_order_notional:
        return Denied(
            "max_order_notional",
            f"{order.symbol}: order notional {notional:.2f} > {limits.max_order_notional:.2f}",
        )
    if abs(after) * price > limits.max_position_notional:
        return Denied(
            "max_position_notional",
            f"{order.symbol}: position notional after the order {abs(after) * price:.2f} > "
            f"{limits.max_position_notional:.2f}",
        )
    gross = context.other_gross_notional + abs(after) * price
    if context.equity <= 0 or gross / context.equity > limits.max_gross_leverage:
        return Denied(
            "max_gross_leverage",
            f"gross exposure {gross:.2f} on equity {context.equity:.2f} exceeds leverage "
            f"{limits.max_gross_leverage:g}",
        )
    if context.orders_last_minute >= limits.max_orders_per_minute:
        return Denied(
            "max_orders_per_minute",
            f"{context.orders_last_minute} orders in the last minute "
            f"(limit {limits.max_orders_per_minute})",
        )
    loss = 1.0 - context.equity / context.day_start_equity if context.day_start_equity > 0 else 0
    if loss >= limits.daily_loss_limit:
        return Denied(
            "daily_loss_limit",
            f"down {loss:.2%} since the day's first mark (limit {limits.daily_loss_limit:.2%}); "
            "only reducing orders pass until the next UTC day",
        )
    return Allowed()


def drawdown_level(peak_equity: float, equity: float, limits: RiskLimits) -> tuple[str, float]:
    """Return ``(level, drawdown)`` of ``equity`` below ``peak_equity``."""
    drawdown = 0.0 if peak_equity <= 0 else max(0.0, 1.0 - equity / peak_equity)
    if drawdown >= limits.drawdown_emergency:
        return EMERGENCY, drawdown
    if drawdown >= limits.drawdown_caution:
        return CAUTION, drawdown
    if drawdown >= limits.drawdown_alert:
        return ALERT, drawdown
    return NORMAL, drawdown
