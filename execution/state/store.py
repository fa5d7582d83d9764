"""The paper account's state file: one SQLite database (WAL), the single source of truth.

Every runner step is one transaction (``with store.step():``); a ``kill -9`` at any moment
leaves the file at the end of the last committed step, and a restart continues from there.
Readers (``evolve status``) open the same file read-only while the runner writes (WAL).
Monetary values are float64 (REAL); NaN targets are stored as NULL. Times are bar open times
in ms UTC (``bar_time``) unless named ``wall_ms``.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from execution.errors import PaperError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS strategies (
    strategy TEXT PRIMARY KEY, seq INTEGER NOT NULL, expression TEXT NOT NULL,
    weight REAL NOT NULL, capital REAL NOT NULL, state TEXT NOT NULL, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, bar_time INTEGER NOT NULL,
    target REAL, model_target REAL, reduce_only INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (strategy, symbol, bar_time));
CREATE TABLE IF NOT EXISTS orders (
    client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, bar_time INTEGER NOT NULL,
    qty REAL NOT NULL, gross_qty REAL NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    client_id TEXT NOT NULL, strategy TEXT NOT NULL, symbol TEXT NOT NULL,
    bar_time INTEGER NOT NULL, qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
    slippage_cost REAL NOT NULL, PRIMARY KEY (strategy, symbol, bar_time));
CREATE TABLE IF NOT EXISTS positions (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, qty REAL NOT NULL, cash REAL NOT NULL,
    last_target REAL NOT NULL, value REAL NOT NULL, ruined INTEGER NOT NULL,
    bar_time INTEGER, PRIMARY KEY (strategy, symbol));
CREATE TABLE IF NOT EXISTS funding (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, bar_time INTEGER NOT NULL,
    rate REAL NOT NULL, qty REAL NOT NULL, amount REAL NOT NULL,
    PRIMARY KEY (strategy, symbol, bar_time));
CREATE TABLE IF NOT EXISTS equity_marks (
    bar_time INTEGER PRIMARY KEY, equity REAL NOT NULL, fees REAL NOT NULL,
    funding REAL NOT NULL);
CREATE TABLE IF NOT EXISTS strategy_marks (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, bar_time INTEGER NOT NULL,
    value REAL NOT NULL, qty REAL NOT NULL, PRIMARY KEY (strategy, symbol, bar_time));
CREATE TABLE IF NOT EXISTS bars (
    symbol TEXT NOT NULL, bar_time INTEGER NOT NULL, open REAL NOT NULL, close REAL NOT NULL,
    funding_rate REAL NOT NULL, PRIMARY KEY (symbol, bar_time));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, wall_ms INTEGER NOT NULL, bar_time INTEGER,
    kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS halts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, wall_ms INTEGER NOT NULL, reason TEXT NOT NULL,
    active INTEGER NOT NULL);
"""


def _real(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


class StateStore:
    """Read and write one paper account's SQLite file.

    Parameters
    ----------
    path : Path
        The state file (created with its parent directory when missing, unless ``readonly``).
    readonly : bool
        Open with ``mode=ro`` (``evolve status``): never writes, never creates.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            if not self.path.is_file():
                raise PaperError(
                    f"{self.path}: no paper account state file there (expected the file "
                    "evolve paper writes); pass --state PATH"
                )
            uri = f"file:{self.path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        self._in_step = False

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # ---------------------------------------------------------------- transactions
    @contextlib.contextmanager
    def step(self) -> Iterator[StateStore]:
        """Run the body as one transaction: all of its writes commit, or none do."""
        self.db.execute("BEGIN IMMEDIATE")
        self._in_step = True
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._in_step = False

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        if not self._in_step:
            raise RuntimeError("state writes happen inside StateStore.step() only")
        self.db.execute(sql, params)

    # ---------------------------------------------------------------- meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: object) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    # ---------------------------------------------------------------- strategies
    def add_strategy(
        self, strategy: str, seq: int, expression: str, weight: float, capital: float, spec: str
    ) -> None:
        self._write(
            "INSERT INTO strategies VALUES (?, ?, ?, ?, ?, 'paper', ?)",
            (strategy, seq, expression, weight, capital, spec),
        )

    def strategies(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT strategy, seq, expression, weight, capital, state, spec FROM strategies "
            "ORDER BY seq"
        ).fetchall()
        keys = ("strategy", "seq", "expression", "weight", "capital", "state", "spec")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ---------------------------------------------------------------- decisions
    def add_decision(
        self,
        strategy: str,
        symbol: str,
        bar_time: int,
        target: float,
        model_target: float,
        reduce_only: bool,
    ) -> None:
        self._write(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
            (strategy, symbol, bar_time, _real(target), _real(model_target), int(reduce_only)),
        )

    def decision(self, strategy: str, symbol: str, bar_time: int) -> tuple[bool, float]:
        """Return ``(found, target)`` of the decision made at ``bar_time`` (NaN = flat)."""
        row = self.db.execute(
            "SELECT target FROM decisions WHERE strategy = ? AND symbol = ? AND bar_time = ?",
            (strategy, symbol, bar_time),
        ).fetchone()
        return (False, math.nan) if row is None else (True, _float(row[0]))

    def last_decision(self, strategy: str, symbol: str) -> tuple[int, float] | None:
        row = self.db.execute(
            "SELECT bar_time, target FROM decisions WHERE strategy = ? AND symbol = ? "
            "ORDER BY bar_time DESC LIMIT 1",
            (strategy, symbol),
        ).fetchone()
        return None if row is None else (int(row[0]), _float(row[1]))

    # ---------------------------------------------------------------- orders and fills
    def add_order(
        self, client_id: str, symbol: str, bar_time: int, qty: float, gross_qty: float
    ) -> None:
        self._write(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, 'filled')",
            (client_id, symbol, bar_time, qty, gross_qty),
        )

    def add_fill(
        self,
        client_id: str,
        strategy: str,
        symbol: str,
        bar_time: int,
        qty: float,
        price: float,
        fee: float,
        slippage_cost: float,
    ) -> None:
        self._write(
            "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (client_id, strategy, symbol, bar_time, qty, price, fee, slippage_cost),
        )

    def add_funding(
        self, strategy: str, symbol: str, bar_time: int, rate: float, qty: float, amount: float
    ) -> None:
        self._write(
            "INSERT INTO funding VALUES (?, ?, ?, ?, ?, ?)",
            (strategy, symbol, bar_time, rate, qty, amount),
        )

    # ---------------------------------------------------------------- positions and marks
    def put_position(
        self,
        strategy: str,
        symbol: str,
        qty: float,
        cash: float,
        last_target: float,
        value: float,
        ruined: bool,
        bar_time: int | None,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (strategy, symbol, qty, cash, last_target, value, int(ruined), bar_time),
        )

    def positions(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT strategy, symbol, qty, cash, last_target, value, ruined, bar_time "
            "FROM positions ORDER BY strategy, symbol"
        ).fetchall()
        keys = ("strategy", "symbol", "qty", "cash", "last_target", "value", "ruined", "bar_time")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def add_mark(self, bar_time: int, equity: float, fees: float, funding: float) -> None:
        self._write(
            "INSERT INTO equity_marks VALUES (?, ?, ?, ?)", (bar_time, equity, fees, funding)
        )

    def add_strategy_mark(
        self, strategy: str, symbol: str, bar_time: int, value: float, qty: float
    ) -> None:
        self._write(
            "INSERT INTO strategy_marks VALUES (?, ?, ?, ?, ?)",
            (strategy, symbol, bar_time, value, qty),
        )

    def add_bar(
        self, symbol: str, bar_time: int, open_: float, close: float, funding_rate: float
    ) -> None:
        self._write(
            "INSERT INTO bars VALUES (?, ?, ?, ?, ?)",
            (symbol, bar_time, open_, close, funding_rate),
        )

    def recent_closes(self, symbol: str, n: int) -> list[float]:
        """Return the last ``n`` processed closes of ``symbol``, newest first."""
        rows = self.db.execute(
            "SELECT close FROM bars WHERE symbol = ? ORDER BY bar_time DESC LIMIT ?", (symbol, n)
        ).fetchall()
        return [float(r[0]) for r in rows]

    def bar_count(self, symbol: str) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM bars WHERE symbol = ?", (symbol,)).fetchone()
        return int(row[0])

    def equity_curve(self) -> list[tuple[int, float]]:
        rows = self.db.execute("SELECT bar_time, equity FROM equity_marks ORDER BY bar_time")
        return [(int(t), float(e)) for t, e in rows]

    # ---------------------------------------------------------------- events and halts
    def add_event(
        self, kind: str, message: str, bar_time: int | None = None, **data: object
    ) -> dict[str, Any]:
        wall_ms = time.time_ns() // 1_000_000
        payload = json.dumps(data, sort_keys=True, allow_nan=True)
        self._write(
            "INSERT INTO events (wall_ms, bar_time, kind, message, data) VALUES (?, ?, ?, ?, ?)",
            (wall_ms, bar_time, kind, message, payload),
        )
        return {"wall_ms": wall_ms, "bar_time": bar_time, "kind": kind, "message": message, **data}

    def events(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT wall_ms, bar_time, kind, message FROM events ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(zip(("wall_ms", "bar_time", "kind", "message"), r, strict=True)) for r in rows]

    def add_halt(self, reason: str) -> int:
        """Write an active halt row (``evolve kill``, a risk emergency); return its id."""
        wall_ms = time.time_ns() // 1_000_000
        cursor = self.db.execute(
            "INSERT INTO halts (wall_ms, reason, active) VALUES (?, ?, 1)", (wall_ms, reason)
        )
        return int(cursor.lastrowid or 0)

    def clear_halts(self) -> int:
        """Deactivate every halt (``evolve unhalt --confirm``); return how many were active."""
        cursor = self.db.execute("UPDATE halts SET active = 0 WHERE active = 1")
        return int(cursor.rowcount)

    def active_halt_id(self) -> int | None:
        row = self.db.execute(
            "SELECT id FROM halts WHERE active = 1 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    def active_halt(self) -> str | None:
        row = self.db.execute(
            "SELECT reason FROM halts WHERE active = 1 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query (status views, tests)."""
        return self.db.execute(sql, params).fetchall()
