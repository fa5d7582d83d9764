"""The paper runner: bar closed → targets (the backtest's compiled tree) → net → broker → state.

Each poll of the feed is one step and one SQLite transaction. For a step with one new closed
bar T of a symbol (the normal case, and always in a replay):

1. the broker advances every sub-account on T by DESIGN §2 (funding → fill → mark) with the
   executable target of each strategy, its decision at ``T - (1 + latency_bars)`` bars; a
   strategy without that decision (before its first one, or missed) holds its position;
2. each strategy decides ``s[T]`` with ``primitives`` compile + positions over the closed bars
   up to and including T (``history_bars`` of them; all the feed holds by default);
3. fills, funding, positions, marks, the decision and the last bar processed commit together.

Missed bars (DESIGN §6): when a poll brings more than one new bar (the runner was down, or the
venue published late), those bars are never decided or filled after the fact: each is a
*hold* bar (funding and mark on the quantity held, no fill), the decision is made at the
newest one only, and a ``gap`` event names them. Stale data: a decision on a bar that ended
more than ``stale_bars`` intervals before the feed's clock may only reduce the position
(``stale`` event).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import primitives
from execution.broker import BarResult, PaperBroker, SubAccount
from execution.errors import PaperError
from execution.feed import DEFAULT_STALE_BARS, FRESH, STALE, BarFeed, FeedStatus
from execution.state import SCHEMA_VERSION, StateStore
from fitness import CostModel, timeframe_to_ms

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """One strategy of the account.

    Attributes
    ----------
    id : str
        The spec's id.
    expression : str
        Canonical text, compiled with ``primitives.compile`` (the backtest's compiler).
    costs : CostModel
        The cost model the strategy was judged under (fees, slippage, latency, leverage).
    weight : float
        Capital weight (weights are normalised to sum 1 across the account).
    spec_json : str
        The spec as loaded (kept in the state file).
    """

    id: str
    expression: str
    costs: CostModel
    weight: float = 1.0
    spec_json: str = "{}"


def account_id_of(strategies: Sequence[StrategyRun], equity: float) -> str:
    """Return a short deterministic id of an account: its strategies, weights and equity."""
    text = "\n".join(f"{s.id}:{s.weight!r}" for s in strategies) + f"\n{equity!r}"
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:11]


def normalised_weights(strategies: Sequence[StrategyRun]) -> list[float]:
    """Return the capital weights scaled to sum 1."""
    total = math.fsum(s.weight for s in strategies)
    if not strategies or not (total > 0.0 and math.isfinite(total)):
        raise PaperError(
            f"weights: expected positive finite capital weights, found "
            f"{[s.weight for s in strategies]}"
        )
    if any(not (s.weight > 0.0) for s in strategies):
        raise PaperError(
            f"weights: every weight must be > 0, found {[s.weight for s in strategies]}"
        )
    return [s.weight / total for s in strategies]


class Runner:
    """Drive one paper account from a feed until it is exhausted or asked to stop.

    Parameters
    ----------
    store : StateStore
        The account's state file (created or resumed).
    feed : BarFeed
        Replay or live closed bars.
    strategies : sequence of StrategyRun
        The account's strategies; on resume they must be the ones the file holds.
    equity : float
        Initial account equity (a resume requires the same).
    history_bars : int, optional
        Bars of history a decision reads (None: all the feed holds). At least each
        strategy's ``lookback + settle_bars`` is always used.
    stale_bars : int
        Data older than this many intervals is stale (reduce-only decisions).
    on_event : callable, optional
        Called with each event dict as it is written (events.jsonl, log lines).
    after_step : callable, optional
        Called as ``after_step(store, bar_time)`` at the end of each step, inside its
        transaction (the lifecycle's decay monitor); returns the events it wrote.
    """

    mode = "paper"  # the account's rung: LiveRunner sets "demo" or "live" before opening

    def __init__(
        self,
        store: StateStore,
        feed: BarFeed,
        strategies: Sequence[StrategyRun],
        *,
        equity: float,
        history_bars: int | None = None,
        stale_bars: int = DEFAULT_STALE_BARS,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        after_step: Callable[[StateStore, int], list[dict[str, Any]]] | None = None,
    ) -> None:
        if not (math.isfinite(equity) and equity > 0.0):
            raise PaperError(f"--equity: expected a finite amount > 0, found {equity!r}")
        self.store = store
        self.feed = feed
        self.strategies = list(strategies)
        self.equity = float(equity)
        self.stale_bars = stale_bars
        self.on_event = on_event
        self._sleep = sleep
        self.after_step = after_step
        self.interval_ms = timeframe_to_ms(feed.timeframe)
        self.compiled = {s.id: primitives.compile(s.expression) for s in self.strategies}
        self.windows: dict[str, int | None] = {}
        for s in self.strategies:
            need = self.compiled[s.id].lookback + self.compiled[s.id].settle_bars + 2
            stateful = self.compiled[s.id].is_stateful
            self.windows[s.id] = (
                None if history_bars is None or stateful else max(history_bars, need)
            )
        self.account_id = account_id_of(self.strategies, self.equity)
        self.broker = PaperBroker(self.account_id)
        self.stop_requested = False
        self._open_account()

    # ---------------------------------------------------------------- setup and resume
    def _open_account(self) -> None:
        weights = normalised_weights(self.strategies)
        symbols = self.feed.symbols
        existing = self.store.get_meta("account_id")
        if existing is None:
            with self.store.step():
                self.store.set_meta("schema_version", SCHEMA_VERSION)
                self.store.set_meta("account_id", self.account_id)
                self.store.set_meta("initial_equity", repr(self.equity))
                self.store.set_meta("timeframe", self.feed.timeframe)
                self.store.set_meta("feed", self.feed.kind)
                self.store.set_meta("mode", self.mode)
                self.store.set_meta("symbols", ",".join(symbols))
                for seq, (s, w) in enumerate(zip(self.strategies, weights, strict=True)):
                    capital = self.equity * w
                    self.store.add_strategy(s.id, seq, s.expression, w, capital, s.spec_json)
                    for symbol in symbols:
                        share = capital / len(symbols)
                        self.store.put_position(s.id, symbol, 0.0, share, 0.0, share, False, None)
                ids = [s.id for s in self.strategies]
                opened = f"paper account {self.account_id} opened"
                self._event("start", opened, None, equity=self.equity, strategies=ids)
        elif (self.store.get_meta("feed") or self.feed.kind) != self.feed.kind:
            raise PaperError(
                f"{self.store.path}: the state file holds a {self.store.get_meta('feed')} "
                f"account and this run feeds {self.feed.kind} bars; a replay and a live account "
                "never share a file (a replayed record must not pass for a live one): pass "
                "another --state"
            )
        elif (self.store.get_meta("mode") or "paper") != self.mode:
            raise PaperError(
                f"{self.store.path}: the state file holds a {self.store.get_meta('mode')} "
                f"account and this run is {self.mode}; paper, demo and live accounts never "
                "share a file (a paper record must not pass for a venue one): pass another "
                "--state"
            )
        elif existing != self.account_id:
            raise PaperError(
                f"{self.store.path}: the state file belongs to account {existing} (other "
                f"strategies, weights or equity than these, account {self.account_id}); pass "
                "the same specs, --weights and --equity, or another --state"
            )
        costs = {s.id: s.costs for s in self.strategies}
        for row in self.store.positions():
            self.broker.accounts[(row["strategy"], row["symbol"])] = SubAccount(
                strategy=row["strategy"],
                symbol=row["symbol"],
                costs=costs[row["strategy"]],
                cash=row["cash"],
                qty=row["qty"],
                last_target=row["last_target"],
                value=row["value"],
                ruined=bool(row["ruined"]),
            )
        order = {s.id: i for i, s in enumerate(self.strategies)}
        self.broker.accounts = dict(
            sorted(
                self.broker.accounts.items(),
                key=lambda item: (symbols.index(item[0][1]), order[item[0][0]]),
            )
        )

    @property
    def last_bar(self) -> int | None:
        value = self.store.get_meta("last_bar")
        return None if value is None else int(value)

    # ---------------------------------------------------------------- the loop
    def run(self, max_steps: int | None = None) -> int:
        """Poll and step until the feed is exhausted, ``max_steps`` or a stop; return steps."""
        steps = 0
        while not self.stop_requested and (max_steps is None or steps < max_steps):
            if self.step_once():
                steps += 1
            elif self.feed.exhausted:
                break
            elif self._sleep is not None:
                self._sleep(self.feed.wait_seconds())
        return steps

    def step_once(self) -> bool:
        """Poll the feed once; process the new bars in one transaction. True if any came."""
        if self.store.active_halt() is not None:
            self._on_halt()
            return False
        new_bars, status = self.feed.poll(self.last_bar)
        self._note_data_state(status)
        if not new_bars:
            return False
        self._before_step()
        with self.store.step():
            self._model_step(new_bars, status)
            if self.after_step is not None:  # the lifecycle's decay monitor, same transaction
                for event in self.after_step(self.store, new_bars[-1]):  # before a live plan
                    if self.on_event is not None:
                        self.on_event(event)
            self._within_step(new_bars[-1], status)
        self._after_step(new_bars[-1])
        return True

    # hooks of a live runner (the paper runner's are these no-ops)
    def _on_halt(self) -> None:
        self.stop_requested = True

    def _before_step(self) -> None:
        return None

    def _within_step(self, bar_time: int, status: FeedStatus) -> None:
        return None

    def _after_step(self, bar_time: int) -> None:
        return None

    def _model_step(self, new_bars: list[int], status: FeedStatus) -> None:
        gap = len(new_bars) > 1
        if gap:
            self._event(
                "gap",
                f"{len(new_bars)} bars arrived at once ({new_bars[0]} .. {new_bars[-1]}): "
                "held without fills, decided at the newest only",
                new_bars[-1],
                bars=new_bars,
            )
        for bar_time in new_bars:
            self._process_bar(bar_time, hold=gap)
        self._decide(new_bars[-1], status)
        self.store.set_meta("last_bar", new_bars[-1])

    # ---------------------------------------------------------------- one bar
    def _process_bar(self, bar_time: int, *, hold: bool) -> None:
        fees = funding = 0.0
        for leg_index, symbol in enumerate(self.feed.symbols):
            history = self.feed.history(symbol, bar_time)
            t = len(history) - 1
            open_, close = float(history.open[t]), float(history.close[t])
            rate = float(history.funding_rate[t])
            signals: dict[str, float | None] = {}
            for s in self.strategies:
                signals[s.id] = None if hold else self._signal(s, symbol, bar_time)
            closes = self.store.recent_closes(symbol, 2)
            previous = (closes[0], closes[1]) if len(closes) == 2 else None
            result = self.broker.step(
                symbol, leg_index, bar_time, open_, close, rate, signals, previous
            )
            fees += sum(leg.fee for leg in result.legs)
            funding += sum(leg.funding_paid for leg in result.legs)
            self._record(result, rate)
            self.store.add_bar(symbol, bar_time, open_, close, rate)
        equity = math.fsum(a.value for a in self.broker.accounts.values())
        self.store.add_mark(bar_time, equity, fees, funding)

    def _signal(self, s: StrategyRun, symbol: str, bar_time: int) -> float | None:
        decided_at = bar_time - (1 + s.costs.latency_bars) * self.interval_ms
        found, target = self.store.decision(s.id, symbol, decided_at)
        return target if found else None

    def _record(self, result: BarResult, rate: float) -> None:
        store = self.store
        if result.client_id:
            store.add_order(
                result.client_id, result.symbol, result.bar_time, result.net_qty, result.gross_qty
            )
        for leg in result.legs:
            if leg.traded_qty != 0.0:
                store.add_fill(
                    result.client_id,
                    leg.strategy,
                    leg.symbol,
                    result.bar_time,
                    leg.traded_qty,
                    leg.price,
                    leg.fee,
                    leg.slippage_cost,
                )
            if leg.funding_paid != 0.0:
                store.add_funding(
                    leg.strategy,
                    leg.symbol,
                    result.bar_time,
                    rate,
                    leg.funding_qty,
                    leg.funding_paid,
                )
            account = self.broker.accounts[(leg.strategy, leg.symbol)]
            store.put_position(
                account.strategy,
                account.symbol,
                account.qty,
                account.cash,
                account.last_target,
                account.value,
                account.ruined,
                result.bar_time,
            )
            store.add_strategy_mark(leg.strategy, leg.symbol, result.bar_time, leg.value, leg.qty)
            if leg.ruined_now:
                self._event(
                    "ruin",
                    f"{leg.strategy} on {leg.symbol} is ruined (equity <= 0)",
                    result.bar_time,
                    strategy=leg.strategy,
                )

    def _decide(self, bar_time: int, status: FeedStatus) -> None:
        stale = status.now_ms - (bar_time + self.interval_ms) > self.stale_bars * self.interval_ms
        for symbol in self.feed.symbols:
            history = self.feed.history(symbol, bar_time)
            for s in self.strategies:
                model = float(self.compiled[s.id].positions(history.tail(self.windows[s.id]))[-1])
                if not (math.isnan(model) or -1.0 <= model <= 1.0):
                    raise PaperError(
                        f"strategy {s.id}: target {model!r} at bar {bar_time} is outside [-1, 1]"
                    )
                target = model
                if stale:
                    target = self._reduce_only(s, symbol, model)
                    self._event(
                        "stale",
                        f"data stale: {s.id} on {symbol} may only reduce "
                        f"(model {model}, decided {target})",
                        bar_time,
                    )
                self.store.add_decision(s.id, symbol, bar_time, target, model, stale)

    def _reduce_only(self, s: StrategyRun, symbol: str, model: float) -> float:
        current = self.broker.accounts[(s.id, symbol)].last_target
        last = self.store.last_decision(s.id, symbol)
        if last is not None and not math.isnan(last[1]):
            current = last[1]  # the last decided target will be the position once filled
        wanted = 0.0 if math.isnan(model) else model
        if wanted == 0.0 or (wanted * current > 0.0 and abs(wanted) <= abs(current)):
            return model
        if wanted * current > 0.0:
            return current  # no increase
        return 0.0  # opening or flipping: at most flat

    # ---------------------------------------------------------------- events
    def _note_data_state(self, status: FeedStatus) -> None:
        state = status.state
        previous = self.store.get_meta("data_state")
        if previous == state or (previous is None and state == FRESH):
            return
        with self.store.step():
            self.store.set_meta("data_state", state)
            if state == STALE:
                self._event(
                    "stale",
                    f"data stale: newest closed bar {status.latest_closed_ms}, "
                    f"clock {status.now_ms}; no position opened or increased",
                    status.latest_closed_ms,
                )
            else:
                self._event("fresh", "data fresh again", status.latest_closed_ms)

    def _event(self, kind: str, message: str, bar_time: int | None, **data: object) -> None:
        event = self.store.add_event(kind, message, bar_time, **data)
        logger.info("%s: %s", kind, message)
        if self.on_event is not None:
            self.on_event(event)
