"""LiveBroker: a query that gets no answer is never read as "the order does not exist"."""

from __future__ import annotations

from pathlib import Path

from execution.broker.live import LiveBroker
from execution.errors import TemporaryExchangeError
from execution.exchange.orders import NotAcceptedError, VenueOrderState
from execution.state import StateStore

SYMBOL = "BTC/USDT:USDT"


class ScriptedTrading:
    """A TradingClient stand-in: queries answer from a script; submits are counted."""

    def __init__(self, queries: list[object], submit_errors: list[Exception] = ()) -> None:
        self.queries = list(queries)
        self.submit_errors = list(submit_errors)
        self.submits: list[str] = []

    def submit(
        self, symbol: str, qty: float, client_id: str, *, reduce_only: bool
    ) -> VenueOrderState:
        self.submits.append(client_id)
        if self.submit_errors:
            raise self.submit_errors.pop(0)
        return VenueOrderState(client_id, "1", symbol, "closed", qty, 100.0, abs(qty))

    def query(self, symbol: str, client_id: str) -> VenueOrderState | None:
        answer = self.queries.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    def trades(self, symbol: str, since_ms: int | None = None) -> list[dict[str, object]]:
        return []


def _broker(tmp_path: Path, trading: ScriptedTrading) -> LiveBroker:
    store = StateStore(tmp_path / "a.sqlite")
    broker = LiveBroker(trading, store, not_found_limit=2, sleep=lambda s: None)  # type: ignore[arg-type]
    with store.step():
        broker.ledger.add_intent("pa1-1700000000000-0", SYMBOL, 1_700_000_000_000, 0.5, False)
    return broker


def test_confirm_absent_when_query_fails_then_order_stays_lost(tmp_path: Path) -> None:
    trading = ScriptedTrading([TemporaryExchangeError("timeout")])
    broker = _broker(tmp_path, trading)
    with broker.store.step():
        broker.ledger.update_order("pa1-1700000000000-0", status="lost")
    outcome = broker.confirm_absent("pa1-1700000000000-0")
    assert outcome.status == "lost"
    assert broker.ledger.order("pa1-1700000000000-0")["status"] == "lost"  # type: ignore[index]


def test_resolve_when_queries_fail_then_not_counted_as_not_found(tmp_path: Path) -> None:
    failure = TemporaryExchangeError("timeout")
    broker = _broker(tmp_path, ScriptedTrading([failure, failure]))
    assert broker.resolve("pa1-1700000000000-0").status == "lost"
    assert broker.ledger.order("pa1-1700000000000-0")["not_found"] == 0  # type: ignore[index]


def test_execute_when_rate_limited_and_query_fails_then_no_resubmit(tmp_path: Path) -> None:
    failure = TemporaryExchangeError("timeout")
    trading = ScriptedTrading(
        [failure, failure, failure], submit_errors=[NotAcceptedError("429", 0.0)]
    )
    broker = _broker(tmp_path, trading)
    assert broker.execute("pa1-1700000000000-0").status == "lost"
    assert trading.submits == ["pa1-1700000000000-0"]


def test_execute_when_order_already_sent_then_queried_not_resubmitted(tmp_path: Path) -> None:
    filled = VenueOrderState("pa1-1700000000000-0", "1", SYMBOL, "closed", 0.0, 100.0, 0.5)
    trading = ScriptedTrading([filled])
    broker = _broker(tmp_path, trading)
    with broker.store.step():
        broker.ledger.update_order("pa1-1700000000000-0", status="filled")
    assert broker.execute("pa1-1700000000000-0").status == "filled"
    assert trading.submits == []
