"""The live (demo/live) tables of an account's state file: venue orders, venue fills, venue
positions, venue equity marks and risk state. Kept apart from the paper tables (which still hold
the model: the strategies' virtual sub-accounts) so the two schemas evolve independently.

Every table here is created by ``LIVE_SCHEMA`` (``CREATE TABLE IF NOT EXISTS``: applying it to
a paper file, or twice, is harmless). Writes happen inside ``StateStore.step()``.
"""

from __future__ import annotations

import time
from typing import Any

from execution.state.store import StateStore

LIVE_SCHEMA_VERSION = 1

LIVE_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_orders (
    client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, bar_time INTEGER NOT NULL,
    qty REAL NOT NULL, reduce_only INTEGER NOT NULL, status TEXT NOT NULL,
    order_id TEXT, filled_qty REAL NOT NULL DEFAULT 0, average_price REAL,
    not_found INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
    wall_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS live_fills (
    trade_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, order_id TEXT NOT NULL,
    symbol TEXT NOT NULL, qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
    time_ms INTEGER NOT NULL, model_price REAL);
CREATE TABLE IF NOT EXISTS live_positions (
    symbol TEXT PRIMARY KEY, qty REAL NOT NULL, wall_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS live_marks (
    bar_time INTEGER PRIMARY KEY, equity REAL NOT NULL, model_equity REAL NOT NULL);
CREATE TABLE IF NOT EXISTS risk_state (key TEXT PRIMARY KEY, value REAL NOT NULL);
"""

OPEN_STATUSES = ("pending", "open", "partial", "lost")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LiveLedger:
    """Read and write the live tables of one state file (see the module docstring)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        if not store.readonly:
            store.db.executescript(LIVE_SCHEMA)

    # ---------------------------------------------------------------- orders
    def add_intent(
        self, client_id: str, symbol: str, bar_time: int, qty: float, reduce_only: bool
    ) -> bool:
        """Journal an order before it is sent (status 'pending'); False if already known."""
        if self.order(client_id) is not None:
            return False
        self.store._write(
            "INSERT INTO live_orders (client_id, symbol, bar_time, qty, reduce_only, status, "
            "wall_ms) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (client_id, symbol, bar_time, qty, int(reduce_only), _now_ms()),
        )
        return True

    def update_order(self, client_id: str, **fields: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in fields)
        self.store._write(
            f"UPDATE live_orders SET {columns} WHERE client_id = ?",
            (*fields.values(), client_id),
        )

    def order(self, client_id: str) -> dict[str, Any] | None:
        rows = self._dicts("SELECT * FROM live_orders WHERE client_id = ?", (client_id,))
        return rows[0] if rows else None

    def unresolved_orders(self) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(OPEN_STATUSES))
        return self._dicts(
            f"SELECT * FROM live_orders WHERE status IN ({marks}) ORDER BY wall_ms, client_id",
            OPEN_STATUSES,
        )

    def orders_since(self, wall_ms: int) -> int:
        row = self.store.db.execute(
            "SELECT COUNT(*) FROM live_orders WHERE wall_ms >= ? AND status != 'denied'",
            (wall_ms,),
        ).fetchone()
        return int(row[0])

    # ---------------------------------------------------------------- fills and positions
    def add_fill(
        self,
        trade_id: str,
        client_id: str,
        order_id: str,
        symbol: str,
        qty: float,
        price: float,
        fee: float,
        time_ms: int,
        model_price: float | None,
    ) -> bool:
        """Record a venue fill once (by trade id) and move the ledger position; False if known."""
        known = self.store.db.execute(
            "SELECT 1 FROM live_fills WHERE trade_id = ?", (trade_id,)
        ).fetchone()
        if known:
            return False
        self.store._write(
            "INSERT INTO live_fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (trade_id, client_id, order_id, symbol, qty, price, fee, time_ms, model_price),
        )
        self.set_position(symbol, self.position(symbol) + qty)
        return True

    def fill_ids(self, symbol: str) -> set[str]:
        rows = self.store.db.execute("SELECT trade_id FROM live_fills WHERE symbol = ?", (symbol,))
        return {str(r[0]) for r in rows}

    def filled_qty(self, client_id: str) -> float:
        row = self.store.db.execute(
            "SELECT COALESCE(SUM(qty), 0) FROM live_fills WHERE client_id = ?", (client_id,)
        ).fetchone()
        return float(row[0])

    def position(self, symbol: str) -> float:
        row = self.store.db.execute(
            "SELECT qty FROM live_positions WHERE symbol = ?", (symbol,)
        ).fetchone()
        return 0.0 if row is None else float(row[0])

    def set_position(self, symbol: str, qty: float) -> None:
        self.store._write(
            "INSERT OR REPLACE INTO live_positions VALUES (?, ?, ?)", (symbol, qty, _now_ms())
        )

    # ---------------------------------------------------------------- marks and risk state
    def add_mark(self, bar_time: int, equity: float, model_equity: float) -> None:
        self.store._write(
            "INSERT OR REPLACE INTO live_marks VALUES (?, ?, ?)", (bar_time, equity, model_equity)
        )

    def get(self, key: str) -> float | None:
        row = self.store.db.execute("SELECT value FROM risk_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def put(self, key: str, value: float) -> None:
        self.store._write("INSERT OR REPLACE INTO risk_state VALUES (?, ?)", (key, float(value)))

    def _dicts(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cursor = self.store.db.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
