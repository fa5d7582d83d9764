"""The live runner (demo and live): the paper runner's model, a venue account that follows it.

The paper runner's step stays the model (the strategies' virtual sub-accounts, filled by the
backtest's bar step: DESIGN §2, parity with ``fitness.simulate``). After bar ``t`` closes and
``s[t]`` is decided, the live runner sizes the venue position each symbol must hold from the
next bar on: the sum over sub-accounts of the quantity the backtest's own bar step
(``bar_step_nb``) gives for the executable target at the last close, rounded to the lot step.
The difference to the venue's position is the order (reduce-only when it reduces; a flip is a
reduce-only close plus an opening order). Every order passes ``risk.check_order`` (one deny
path: an event and the ``last_denial`` status line), is journaled and committed, then sent by
``LiveBroker`` (orders that cannot double).

Per step: halted? → cancel, flatten, stop · unresolved orders queried · venue equity and
positions read · model step + decisions + drawdown levels + orders journaled (one
transaction) · orders sent · every ``reconcile_every_bars`` bars (and at start) reconcile.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from execution.broker.live import LiveBroker
from execution.broker.paper import client_order_id
from execution.errors import ExchangeError
from execution.feed import BarFeed, FeedStatus
from execution.lifecycle import on_venue
from execution.risk import (
    CAUTION,
    EMERGENCY,
    NORMAL,
    Denied,
    OrderRequest,
    RiskContext,
    RiskLimits,
    check_order,
    drawdown_level,
)
from execution.runner import Runner, StrategyRun, normalised_weights
from execution.state import StateStore
from execution.state.attribution import order_shares, split_exact
from fitness import bar_step_nb

DAY_MS = 86_400_000


class LiveRunner(Runner):
    """Drive one venue account (demo or live) behind the paper model.

    Parameters
    ----------
    broker : LiveBroker
        Sends and records orders (its store must be ``store``).
    limits : RiskLimits
    mode : str
        ``"demo"`` or ``"live"`` (written to the state file).
    leverage : int
        Set and verified on every symbol at start.
    margin_mode : str
        ``"cross"`` or ``"isolated"``, set and verified at start.
    halt_attempts : int
        Flatten attempts of a halt before the "position may still be open" event.
    after_step : callable, optional
        The lifecycle's decay monitor (``Runner``'s hook, inside the step's transaction).

    A strategy whose lifecycle state in this account's ledger is below the account's rung
    (``demo``: paper or promoted; ``live``: anything but live) or ``retired`` — after a decay
    demotion, a ``deploy`` down or a ``retire`` — keeps trading in the model (shadow, the
    paper rung) but its venue leg is flat from the next order on. A strategy with no
    transitions in the ledger trades as before (an account run without ``evolve deploy``).
    """

    def __init__(
        self,
        store: StateStore,
        feed: BarFeed,
        strategies: Sequence[StrategyRun],
        *,
        equity: float,
        broker: LiveBroker,
        limits: RiskLimits | None = None,
        mode: str = "demo",
        leverage: int = 2,
        margin_mode: str = "cross",
        halt_attempts: int = 3,
        history_bars: int | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        after_step: Callable[[StateStore, int], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.limits = limits or RiskLimits()
        self.mode = mode  # before the account opens: the file's mode must match it
        super().__init__(
            store,
            feed,
            strategies,
            equity=equity,
            history_bars=history_bars,
            stale_bars=self.limits.stale_bars,
            on_event=on_event,
            sleep=sleep,
            after_step=after_step,
        )
        self.live = broker
        self.ledger = broker.ledger
        self.attribution = broker.attribution
        self.trading = broker.trading
        broker._on_event = self._broker_event
        self.leverage = leverage
        self.margin_mode = margin_mode
        self.halt_attempts = halt_attempts
        self.halted = False
        self._wall_ms = wall_ms
        self._bars_since_reconcile = 0
        self._caution = False

    # ---------------------------------------------------------------- start
    def start(self) -> bool:
        """Set up the venue, settle what a crash left open, reconcile; False if halted."""
        with self.store.step():
            self.store.set_meta("mode", self.mode)
            if self.ledger.get("since_ms") is None:
                self.ledger.put("since_ms", self._wall_ms() - DAY_MS)
        if self.store.active_halt_id() is not None:
            self._on_halt()
            return False
        symbols = list(self.feed.symbols)
        self.live.setup(symbols, self.leverage, self.margin_mode)
        if not self.attribution.is_open():
            self._open_attribution()
        self._event("live_start", f"{self.mode} account {self.account_id} started", None)
        self._resolve_unresolved()
        self.reconcile()
        self.sync_funding()
        if self.last_bar is not None and self.store.active_halt_id() is None:
            self.feed.poll(self.last_bar)  # the history of the last bar (processed next step)
            self._send(self._plan_now(self.last_bar))  # the current decision, if not yet done
        return True

    def _open_attribution(self) -> None:
        # the venue's equity at first start, split by the capital weights (exact sum)
        equity = self.trading.equity()
        capitals = split_exact(equity, normalised_weights(self.strategies))
        with self.store.step():
            self.attribution.open({s.id: c for s, c in zip(self.strategies, capitals, strict=True)})
            self.ledger.put("attribution_opened_ms", self._wall_ms())

    # ---------------------------------------------------------------- hooks of the step
    def _before_step(self) -> None:
        self._resolve_unresolved()
        self.sync_funding()
        self._venue = self.trading.positions(list(self.feed.symbols))
        self._venue_equity = self.trading.equity()

    def _within_step(self, bar_time: int, status: FeedStatus) -> None:
        model = math.fsum(a.value for a in self.broker.accounts.values())
        self.ledger.add_mark(bar_time, self._venue_equity, model)
        self._check_drawdowns(bar_time, self._venue_equity)
        if self.store.active_halt_id() is not None:  # a halt (drawdown, monitor): no new orders
            self._intents = []
            return
        self._intents = self._plan(bar_time, status.now_ms, self._venue, self._venue_equity)

    def _after_step(self, bar_time: int) -> None:
        self._send(self._intents)
        self._bars_since_reconcile += 1
        if self._bars_since_reconcile >= self.limits.reconcile_every_bars:
            self.reconcile()

    def sync_funding(self) -> int:
        """Book the venue's funding settlements since the last one booked (each once, by its
        transaction id; split by the strategies' holdings at the settlement). Return how many
        were new."""
        opened = int(self.ledger.get("attribution_opened_ms") or 0)
        fetched = {}
        for symbol in self.feed.symbols:
            since = max(self.attribution.last_funding_ms(symbol) or 0, opened + 1)
            fetched[symbol] = self.trading.funding_history(symbol, since)
        booked = 0
        with self.store.step():
            for symbol, rows in fetched.items():
                for row in rows:
                    if int(row["timestamp"]) <= opened:
                        continue  # already in the equity the ledger opened with
                    booked += self.attribution.book_funding(
                        str(row["id"]), symbol, int(row["timestamp"]), float(row["amount"])
                    )
        return booked

    def _send(self, intents: list[str]) -> None:
        for client_id in intents:
            if self.store.active_halt_id() is not None:
                break
            self.live.execute(client_id)

    # ---------------------------------------------------------------- sizing
    def _projected_qty(self, symbol: str, bar_time: int, price: float) -> float:
        """The account's model quantity of ``symbol`` for the next bar (unrounded)."""
        return math.fsum(self._projected_legs(symbol, bar_time, price).values())

    def _projected_legs(self, symbol: str, bar_time: int, price: float) -> dict[str, float]:
        """Each strategy's model quantity of ``symbol`` for the next bar (unrounded)."""
        legs: dict[str, float] = {}
        for (strategy, leg_symbol), account in self.broker.accounts.items():
            if leg_symbol != symbol or account.ruined:
                continue
            costs = account.costs
            found, target = self.store.decision(
                strategy, symbol, bar_time - costs.latency_bars * self.interval_ms
            )
            if self.ledger.get(f"halted:{strategy}") or not on_venue(
                self.store, strategy, self.mode
            ):
                found, target = True, 0.0
            if not found:
                legs[strategy] = account.qty
                continue
            # the backtest's own step at the last close (DESIGN §2 step 2 sizing)
            qty = bar_step_nb(
                price,
                price,
                0.0,
                target,
                costs.slippage,
                costs.fee_rate,
                costs.leverage,
                costs.funding,
                account.cash,
                account.qty,
                account.last_target,
            )[1]
            legs[strategy] = float(qty)
        return legs

    def _plan_now(self, bar_time: int) -> list[str]:
        venue = self.trading.positions(list(self.feed.symbols))
        equity = self.trading.equity()
        now_ms = bar_time + self.interval_ms  # a catch-up right after a restart
        with self.store.step():
            return self._plan(bar_time, now_ms, venue, equity)

    def _plan(
        self, bar_time: int, now_ms: int, venue: dict[str, dict[str, Any]], equity: float
    ) -> list[str]:
        intents: list[str] = []
        bars_old = (now_ms - (bar_time + self.interval_ms)) / self.interval_ms
        day_key = f"day:{bar_time // DAY_MS}"
        if self.ledger.get(day_key) is None:
            self.ledger.put(day_key, equity)
        day_start = self.ledger.get(day_key) or equity
        prices = {s: float(self.feed.history(s, bar_time).close[-1]) for s in self.feed.symbols}
        for leg, symbol in enumerate(self.feed.symbols):
            price = prices[symbol]
            current = float(venue[symbol]["qty"])
            wanted = self._projected_legs(symbol, bar_time, price)
            target = self.trading.round_amount(symbol, math.fsum(wanted.values()))
            self.ledger.put(f"model_target:{symbol}", target)  # for evolve status
            if self._caution and abs(target) > abs(current) and target * current >= 0:
                target = self.trading.round_amount(symbol, current + (target - current) / 2)
            step = self.trading.lot_step(symbol)
            if abs(target - current) < step / 2:
                continue
            parts = [(target - current, abs(target) < abs(current) and target * current >= 0)]
            if current != 0.0 and target * current < 0.0:  # a flip: close, then open
                parts = [(-current, True), (target, False)]
            other = sum(abs(float(venue[s]["qty"])) * prices[s] for s in venue if s != symbol)
            held = self.attribution.holdings(symbol)
            legs = {s: wanted.get(s, 0.0) - held.get(s, 0.0) for s in wanted | held}
            shares = order_shares(legs, target - current)
            for part, (qty, reduce_only) in enumerate(parts):
                qty = self.trading.round_amount(symbol, qty)
                client_id = client_order_id(self.account_id, bar_time, 2 * leg + part)
                if not reduce_only and abs(qty) * price < self.trading.min_notional(symbol):
                    self._event(
                        "order_skipped",
                        f"{symbol}: {qty:+g} at {price:g} is below the minimum notional "
                        f"{self.trading.min_notional(symbol):g}",
                        bar_time,
                        client_id=client_id,
                    )
                    continue
                request = OrderRequest(symbol, qty, price, reduce_only)
                context = RiskContext(
                    last_close=price,
                    position_qty=current if part == 0 else 0.0,
                    other_gross_notional=other,
                    equity=equity,
                    orders_last_minute=self.ledger.orders_since(self._wall_ms() - 60_000),
                    bars_old=bars_old,
                    day_start_equity=day_start,
                )
                verdict = check_order(request, context, self.limits)
                if isinstance(verdict, Denied):
                    self._deny(client_id, request, verdict, bar_time)
                    continue
                known = self.ledger.order(client_id)
                names = list(shares)
                mine = split_exact(qty, [shares[n] for n in names]) if len(parts) > 1 else None
                part_shares = shares if mine is None else dict(zip(names, mine, strict=True))
                if known is not None and known["status"] == "absent":
                    self.ledger.update_order(client_id, status="pending", qty=qty, not_found=0)
                    self.attribution.set_shares(client_id, part_shares)
                    intents.append(client_id)  # the venue said it does not exist: same id again
                elif self.ledger.add_intent(client_id, symbol, bar_time, qty, reduce_only):
                    self.attribution.set_shares(client_id, part_shares)  # same transaction
                    intents.append(client_id)
        return intents

    def _deny(self, client_id: str, request: OrderRequest, denied: Denied, bar_time: int) -> None:
        # the one deny path (NautilusTrader's _deny_order): an event and a status line
        self.store.set_meta("last_denial", f"{denied.check}: {denied.reason}")
        self._event(
            "risk_denied",
            f"order {client_id} {request.symbol} {request.qty:+g} denied by {denied.check}: "
            f"{denied.reason}",
            bar_time,
            check=denied.check,
            client_id=client_id,
        )

    # ---------------------------------------------------------------- drawdown levels
    def _check_drawdowns(self, bar_time: int, equity: float) -> None:
        level = self._level("account", equity, bar_time)
        self._caution = level in (CAUTION, EMERGENCY)
        if level == EMERGENCY and self.store.active_halt_id() is None:
            self.store.add_halt(f"drawdown emergency (equity {equity:.2f})")
        for strategy in self.strategies:
            value = math.fsum(
                a.value for (sid, _), a in self.broker.accounts.items() if sid == strategy.id
            )
            if self._level(strategy.id, value, bar_time) == EMERGENCY:
                self.ledger.put(f"halted:{strategy.id}", 1.0)

    def _level(self, who: str, equity: float, bar_time: int) -> str:
        peak = max(self.ledger.get(f"peak:{who}") or equity, equity)
        self.ledger.put(f"peak:{who}", peak)
        level, drawdown = drawdown_level(peak, equity, self.limits)
        order = [NORMAL, "alert", CAUTION, EMERGENCY]
        previous = int(self.ledger.get(f"level:{who}") or 0)
        if order.index(level) != previous:
            self.ledger.put(f"level:{who}", order.index(level))
            self._event(
                f"drawdown_{level}",
                f"{who}: drawdown {drawdown:.2%} from peak {peak:.2f} → {level}",
                bar_time,
            )
        return level

    # ---------------------------------------------------------------- orders left open
    def _resolve_unresolved(self) -> None:
        uncertain = False
        for row in self.ledger.unresolved_orders():
            client_id = row["client_id"]
            if row["status"] == "pending":
                uncertain |= self.live.resolve(client_id).status == "lost"
            elif row["status"] == "lost":
                uncertain |= self.live.confirm_absent(client_id).status == "absent"
            else:
                state = self.trading.query(row["symbol"], client_id)
                if state is None:
                    uncertain |= self.live.confirm_absent(client_id).status == "absent"
                else:
                    self.live._adopt(client_id, state)
        if uncertain:
            self.reconcile()  # a lost order is resolved against the venue's fills and position

    # ---------------------------------------------------------------- reconciliation
    def reconcile(self) -> None:
        """Venue truth against the state file: fills, positions, open orders (DESIGN §7)."""
        self._bars_since_reconcile = 0
        symbols = list(self.feed.symbols)
        since = int(self.ledger.get("since_ms") or 0)
        trades = {s: self.trading.trades(s, since) for s in symbols}
        venue = self.trading.positions(symbols)
        open_orders = {s: self.trading.open_orders(s) for s in symbols}
        by_order = {
            str(r[1]): str(r[0])
            for r in self.store.query("SELECT client_id, order_id FROM live_orders")
        }
        with self.store.step():
            for symbol in symbols:
                self._reconcile_symbol(symbol, trades[symbol], venue[symbol], by_order)
                for order in open_orders[symbol]:
                    if self.ledger.order(order.client_id) is None:
                        self._event(
                            "reconcile",
                            f"{symbol}: open order {order.client_id or order.order_id} on the "
                            "venue is unknown to the state file (left alone)",
                            self.last_bar,
                        )

    def _reconcile_symbol(
        self,
        symbol: str,
        trades: list[dict[str, Any]],
        venue: dict[str, Any],
        by_order: dict[str, str],
    ) -> None:
        known = self.ledger.fill_ids(symbol)
        for trade in trades:
            if str(trade.get("id")) in known:
                continue
            client_id = by_order.get(str(trade.get("order")), "")
            self.live.record_trade(trade, client_id)
            self._event(
                "reconcile",
                f"{symbol}: adopted venue fill {trade.get('id')} of order "
                f"{client_id or trade.get('order')} ({trade.get('side')} {trade.get('amount')})",
                self.last_bar,
            )
        held, actual = self.ledger.position(symbol), float(venue["qty"])
        difference = actual - held
        if abs(difference) <= 1e-12:
            return
        step = self.trading.lot_step(symbol)
        self.ledger.set_position(symbol, actual)
        self._event(
            "reconcile",
            f"{symbol}: venue position {actual:+g}, state file {held:+g} after every fill: "
            "venue adopted",
            self.last_bar,
            difference=difference,
        )
        if abs(difference) > self.limits.reconcile_tolerance_lots * step + 1e-12:
            self.store.add_halt(
                f"reconcile: unexplained {symbol} position difference {difference:+g}"
            )

    # ---------------------------------------------------------------- kill switch
    def _on_halt(self) -> None:
        """Cancel open orders, flatten with reduce-only market orders, stop (bounded)."""
        self.stop_requested = True
        halt_id = self.store.active_halt_id() or 0
        symbols = list(self.feed.symbols)
        for attempt in range(self.halt_attempts):
            try:
                for symbol in symbols:
                    for order in self.trading.open_orders(symbol):
                        self.trading.cancel(symbol, order.client_id)
                venue = self.trading.positions(symbols)
                open_ = {
                    s: v["qty"] for s, v in venue.items() if self.trading.round_amount(s, v["qty"])
                }
                if not open_:
                    if not self.halted:
                        with self.store.step():
                            self._event("halted", "flat and halted (open orders canceled)", None)
                    self.halted = True
                    return
                for leg, (symbol, raw) in enumerate(sorted(open_.items())):
                    qty = self.trading.round_amount(symbol, raw)  # ccxt would truncate a residue
                    held = self.attribution.holdings(symbol)
                    # the flatten attempt's number is journaled, so a restarted halt never
                    # reuses (and so never resends) an id an earlier run already sent
                    key = f"halt_seq:{halt_id}"
                    with self.store.step():
                        seq = int(self.ledger.get(key) or 0)
                        self.ledger.put(key, float(seq + 1))
                        client_id = f"{self.account_id}-h{halt_id}-{seq}-{leg}"
                        if self.ledger.add_intent(
                            client_id, symbol, self.last_bar or 0, -qty, True
                        ):  # every holder's leg is minus its holding: all flat
                            legs = {s: -q for s, q in held.items()}
                            self.attribution.set_shares(client_id, order_shares(legs, -qty))
                    self.live.execute(client_id)
            except ExchangeError as e:
                with self.store.step():
                    self._event("halt_retry", f"flatten attempt {attempt + 1} failed: {e}", None)
                if self._sleep is not None:
                    self._sleep(min(2.0**attempt, 10.0))
        with self.store.step():
            self._event(
                "halt_incomplete",
                f"halted, but after {self.halt_attempts} attempts a position may still be "
                "open: check the venue",
                None,
            )
        self.halted = True

    # ---------------------------------------------------------------- events
    def _broker_event(self, kind: str, message: str, **data: object) -> None:
        self._event(kind, message, self.last_bar, **data)

    def _event(self, kind: str, message: str, bar_time: int | None, **data: object) -> None:
        if self.store._in_step:
            super()._event(kind, message, bar_time, **data)
        else:
            with self.store.step():
                super()._event(kind, message, bar_time, **data)
