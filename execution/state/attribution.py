"""Per-strategy attribution of the venue account (EXECUTION §3): shares, fills, funding.

One venue account holds several strategies (virtual sub-accounts with capital weights). The
runner nets their legs per symbol into one order; this module attributes what the venue did
back to them, exactly:

- **Shares.** Every order the runner sends is journaled with its shares (``live_order_shares``:
  the signed quantity of each strategy's leg; they sum to the order's quantity) in the same
  transaction as the order itself (``LiveLedger.add_intent``), so a restart after ``kill -9``
  still knows them.
- **Fills.** A venue fill of quantity ``q`` at price ``p`` with fee ``f`` is split
  ``q_s = q · share_s / Σ share`` (signed: a netted order crosses opposite legs internally at
  the fill price) and ``f_s = f · |share_s| / Σ |share|``; the last strategy with a non-zero
  share takes the remainder, so the parts sum to the fill. Each strategy's cash moves by
  ``-q_s · p - f_s`` (``live_fill_parts``, ``live_strategy_cash``, ``live_strategy_positions``).
- **Fills without shares** (an order the runner did not send, adopted at reconciliation) go to
  the ``unattributed`` bucket: a trade nobody decided belongs to no strategy. (Halt orders do
  carry shares: each holder's leg is minus its holding, so a flatten flattens every strategy.)
- **Funding** (``book_funding``): each settlement the venue reports, once per venue
  transaction id, split by the strategies' signed holdings at the settlement time (fills at or
  before it), remainder to the last holder; with no attributed holding, to ``unattributed``.

So ``Σ_s (cash_s + Σ_symbol q_s · price) = wallet + unrealised P&L`` of the venue account at any
price, up to floating-point rounding (tested to 1e-9 relative against the fake venue).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from execution.state.store import StateStore

UNATTRIBUTED = "unattributed"

ATTRIBUTION_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_order_shares (
    client_id TEXT NOT NULL, strategy TEXT NOT NULL, qty REAL NOT NULL,
    PRIMARY KEY (client_id, strategy));
CREATE TABLE IF NOT EXISTS live_strategy_cash (
    strategy TEXT PRIMARY KEY, seq INTEGER NOT NULL, capital REAL NOT NULL, cash REAL NOT NULL,
    fees REAL NOT NULL DEFAULT 0, funding REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS live_strategy_positions (
    strategy TEXT NOT NULL, symbol TEXT NOT NULL, qty REAL NOT NULL,
    PRIMARY KEY (strategy, symbol));
CREATE TABLE IF NOT EXISTS live_fill_parts (
    trade_id TEXT NOT NULL, strategy TEXT NOT NULL, symbol TEXT NOT NULL, qty REAL NOT NULL,
    price REAL NOT NULL, fee REAL NOT NULL, time_ms INTEGER NOT NULL,
    PRIMARY KEY (trade_id, strategy));
CREATE TABLE IF NOT EXISTS live_funding (
    tran_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, time_ms INTEGER NOT NULL,
    amount REAL NOT NULL, qty_held REAL NOT NULL);
CREATE TABLE IF NOT EXISTS live_funding_parts (
    tran_id TEXT NOT NULL, strategy TEXT NOT NULL, amount REAL NOT NULL,
    PRIMARY KEY (tran_id, strategy));
"""


def split_exact(total: float, weights: Sequence[float]) -> list[float]:
    """Split ``total`` in proportion to ``weights``; the parts sum to ``total``.

    The last non-zero weight takes the remainder (``total`` minus the others, summed with
    ``math.fsum``); zero weights get exactly 0.

    Raises
    ------
    ValueError
        When the weights sum to 0 (nothing to split by).
    """
    norm = math.fsum(weights)
    if norm == 0.0:
        raise ValueError(f"split_exact: weights {list(weights)} sum to 0; expected a non-zero sum")
    nonzero = [i for i, w in enumerate(weights) if w != 0.0]
    parts = [0.0] * len(weights)
    for i in nonzero[:-1]:
        parts[i] = total * weights[i] / norm
    parts[nonzero[-1]] = total - math.fsum(parts)
    return parts


def order_shares(legs: Mapping[str, float], qty: float) -> dict[str, float]:
    """Return each strategy's share of an order of ``qty`` given its wanted ``legs``.

    ``legs`` are the strategies' own quantity changes (target minus attributed holding), in
    strategy order. When the order is a fraction ``0 < qty / Σ legs <= 1`` of their sum (lot
    rounding down, the caution level's half size) the legs are scaled; otherwise (rounding up,
    legs that net to almost nothing, holdings that drifted) the legs are kept and the
    difference goes to the largest leg (``unattributed`` when every leg is 0). The shares sum
    to ``qty``.
    """
    names = list(legs)
    values = [float(legs[n]) for n in names]
    total = math.fsum(values)
    if total != 0.0 and 0.0 < qty / total <= 1.0:
        return dict(zip(names, split_exact(qty, values), strict=True))
    shares = dict(zip(names, values, strict=True))
    if not any(values):
        return {UNATTRIBUTED: qty}
    largest = max(names, key=lambda n: abs(legs[n]))
    shares[largest] = 0.0
    shares[largest] = qty - math.fsum(shares.values())
    return {n: q for n, q in shares.items() if q != 0.0}


class StrategyLedger:
    """The per-strategy venue ledger of one state file (see the module docstring)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        if not store.readonly:
            store.db.executescript(ATTRIBUTION_SCHEMA)

    # ---------------------------------------------------------------- opening
    def is_open(self) -> bool:
        return self.store.db.execute("SELECT 1 FROM live_strategy_cash").fetchone() is not None

    def open(self, capitals: Mapping[str, float]) -> None:
        """Open the ledger with each strategy's starting cash (inside a step)."""
        for seq, (strategy, capital) in enumerate(capitals.items()):
            self.store._write(
                "INSERT INTO live_strategy_cash (strategy, seq, capital, cash) VALUES (?, ?, ?, ?)",
                (strategy, seq, capital, capital),
            )

    def strategies(self) -> list[str]:
        rows = self.store.db.execute("SELECT strategy FROM live_strategy_cash ORDER BY seq")
        return [str(r[0]) for r in rows]

    # ---------------------------------------------------------------- shares
    def set_shares(self, client_id: str, shares: Mapping[str, float]) -> None:
        """Journal (or replace) an order's shares (inside the order's step)."""
        self.store._write("DELETE FROM live_order_shares WHERE client_id = ?", (client_id,))
        for strategy, qty in shares.items():
            self.store._write(
                "INSERT INTO live_order_shares VALUES (?, ?, ?)", (client_id, strategy, qty)
            )

    def shares(self, client_id: str) -> dict[str, float]:
        rows = self.store.db.execute(
            "SELECT s.strategy, s.qty FROM live_order_shares s LEFT JOIN live_strategy_cash c "
            "ON c.strategy = s.strategy WHERE s.client_id = ? ORDER BY COALESCE(c.seq, 1e9)",
            (client_id,),
        )
        return {str(r[0]): float(r[1]) for r in rows}

    # ---------------------------------------------------------------- holdings
    def holdings(self, symbol: str, at_ms: int | None = None) -> dict[str, float]:
        """Signed attributed holdings of ``symbol`` per strategy (in strategy order).

        With ``at_ms``, the holdings after every fill at or before that time.
        """
        if at_ms is None:
            rows = self.store.db.execute(
                "SELECT strategy, qty FROM live_strategy_positions WHERE symbol = ?", (symbol,)
            ).fetchall()
        else:
            rows = self.store.db.execute(
                "SELECT strategy, SUM(qty) FROM live_fill_parts WHERE symbol = ? AND "
                "time_ms <= ? GROUP BY strategy",
                (symbol, at_ms),
            ).fetchall()
        held = {str(r[0]): float(r[1]) for r in rows}
        order = [*self.strategies(), UNATTRIBUTED]
        return {s: held[s] for s in order if s in held} | {
            s: q for s, q in held.items() if s not in order
        }

    def _move(self, strategy: str, symbol: str, qty: float, cash: float, fee: float) -> None:
        if strategy == UNATTRIBUTED and not self._known(UNATTRIBUTED):
            self.store._write(
                "INSERT INTO live_strategy_cash (strategy, seq, capital, cash) "
                "VALUES (?, 1000000, 0, 0)",
                (UNATTRIBUTED,),
            )
        self.store._write(
            "UPDATE live_strategy_cash SET cash = cash + ?, fees = fees + ? WHERE strategy = ?",
            (cash, fee, strategy),
        )
        held = self.holdings(symbol).get(strategy, 0.0)
        self.store._write(
            "INSERT OR REPLACE INTO live_strategy_positions VALUES (?, ?, ?)",
            (strategy, symbol, held + qty),
        )

    def _known(self, strategy: str) -> bool:
        row = self.store.db.execute(
            "SELECT 1 FROM live_strategy_cash WHERE strategy = ?", (strategy,)
        ).fetchone()
        return row is not None

    # ---------------------------------------------------------------- booking
    def book_fill(
        self,
        trade_id: str,
        client_id: str,
        symbol: str,
        qty: float,
        price: float,
        fee: float,
        time_ms: int,
    ) -> dict[str, float]:
        """Split one venue fill by its order's shares (inside a step); return the qty parts."""
        shares = self.shares(client_id) if client_id else {}
        shares = {s: q for s, q in shares.items() if q != 0.0}
        if not shares:
            shares = {UNATTRIBUTED: 1.0}
        names = list(shares)
        qty_parts = split_exact(qty, [shares[n] for n in names])
        fee_parts = split_exact(fee, [abs(shares[n]) for n in names])
        for name, q, f in zip(names, qty_parts, fee_parts, strict=True):
            self.store._write(
                "INSERT INTO live_fill_parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (trade_id, name, symbol, q, price, f, time_ms),
            )
            self._move(name, symbol, q, -q * price - f, f)
        return dict(zip(names, qty_parts, strict=True))

    def book_funding(self, tran_id: str, symbol: str, time_ms: int, amount: float) -> bool:
        """Book one funding settlement (``amount`` as the venue reports it: + received, - paid)
        once per venue transaction id (inside a step); False when already booked."""
        known = self.store.db.execute(
            "SELECT 1 FROM live_funding WHERE tran_id = ?", (tran_id,)
        ).fetchone()
        if known:
            return False
        held = {s: q for s, q in self.holdings(symbol, time_ms).items() if q != 0.0}
        total = math.fsum(held.values())
        if total == 0.0:
            held = {UNATTRIBUTED: 1.0}
        self.store._write(
            "INSERT INTO live_funding VALUES (?, ?, ?, ?, ?)",
            (tran_id, symbol, time_ms, amount, total),
        )
        names = list(held)
        for name, part in zip(names, split_exact(amount, [held[n] for n in names]), strict=True):
            self.store._write(
                "INSERT INTO live_funding_parts VALUES (?, ?, ?)", (tran_id, name, part)
            )
            if not self._known(name):
                self._move(name, symbol, 0.0, 0.0, 0.0)
            self.store._write(
                "UPDATE live_strategy_cash SET cash = cash + ?, funding = funding + ? "
                "WHERE strategy = ?",
                (part, part, name),
            )
        return True

    def last_funding_ms(self, symbol: str) -> int | None:
        row = self.store.db.execute(
            "SELECT MAX(time_ms) FROM live_funding WHERE symbol = ?", (symbol,)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # ---------------------------------------------------------------- reading
    def equities(self, prices: Mapping[str, float]) -> dict[str, float]:
        """Each strategy's venue equity: cash plus its holdings at ``prices``."""
        rows = self.store.db.execute("SELECT strategy, cash FROM live_strategy_cash ORDER BY seq")
        out = {str(r[0]): [float(r[1])] for r in rows}
        for strategy, symbol, qty in self.store.db.execute(
            "SELECT strategy, symbol, qty FROM live_strategy_positions"
        ):
            out.setdefault(str(strategy), [0.0]).append(float(qty) * prices[str(symbol)])
        return {s: math.fsum(v) for s, v in out.items()}

    def rows(self, table: str) -> list[dict[str, Any]]:
        cursor = self.store.db.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
