"""The lifecycle's tables in the account's state file, and the track records read from it.

Two tables beside the runner's (created on open, ``IF NOT EXISTS``):

- ``lifecycle_transitions``: one row per move (``evolve deploy``/``retire`` or the decay
  monitor): wall time, the account's last processed bar, strategy, from/to state, actor,
  reason and the evidence checked (JSON). The latest row of a strategy is its state.
- ``lifecycle_baselines``: the holdout baseline each deployed strategy is judged against.

Track records come from the runner's own rows (``strategy_marks``, ``fills``, ``funding``,
``strategies``) after the bar at which the current state was entered.
"""

from __future__ import annotations

import json
import time
from typing import Any

from execution.lifecycle.records import DEMO, LIVE, PROMOTED, Baseline, Decision, TrackRecord
from execution.state import StateStore
from fitness import timeframe_to_ms

DAY_MS = 86_400_000

LIFECYCLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS lifecycle_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, wall_ms INTEGER NOT NULL, bar_time INTEGER,
    strategy TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
    actor TEXT NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lifecycle_baselines (
    strategy TEXT PRIMARY KEY, baseline TEXT NOT NULL);
"""

# optional columns a live broker may add with realised values beside the modelled ones
REALISED_SLIPPAGE_COLUMN = "realised_slippage_cost"
MODELLED_FUNDING_COLUMN = "modelled_amount"


def ensure_tables(store: StateStore) -> None:
    """Create the lifecycle tables in ``store`` when missing (a no-op on a read-only file).

    Call it outside ``store.step()``: creating a table commits any open transaction.
    """
    if not store.readonly:
        store.db.executescript(LIFECYCLE_SCHEMA)


def _has_table(store: StateStore, name: str) -> bool:
    rows = store.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return bool(rows)


def last_bar(store: StateStore) -> int | None:
    """Return the account's last processed bar open time (None before the first)."""
    value = store.get_meta("last_bar")
    return None if value is None else int(value)


def transitions(store: StateStore, strategy: str | None = None) -> list[dict[str, Any]]:
    """Return the transitions (of one strategy, or all), oldest first, evidence parsed."""
    if not _has_table(store, "lifecycle_transitions"):
        return []
    where, params = ("WHERE strategy = ?", (strategy,)) if strategy else ("", ())
    rows = store.query(
        "SELECT id, wall_ms, bar_time, strategy, from_state, to_state, actor, reason, evidence "
        f"FROM lifecycle_transitions {where} ORDER BY id",
        params,
    )
    keys = ("id", "wall_ms", "bar_time", "strategy", "from_state", "to_state", "actor", "reason")
    out = []
    for row in rows:
        item = dict(zip(keys, row[:-1], strict=True))
        item["evidence"] = json.loads(row[-1])
        out.append(item)
    return out


def current_state(store: StateStore, strategy: str) -> tuple[str, int | None]:
    """Return the strategy's state and the bar at which it was entered (``promoted``, None)."""
    rows = transitions(store, strategy)
    if not rows:
        return PROMOTED, None
    return str(rows[-1]["to_state"]), rows[-1]["bar_time"]


def on_venue(store: StateStore, strategy: str, mode: str) -> bool:
    """Return whether a demo or live account sends ``strategy``'s leg to the venue.

    False when the account's ledger holds the strategy below the account's rung (``mode``
    ``demo``: not demo or live; ``live``: not live), e.g. after a decay demotion: it then
    shadow-trades in the model only. True when the ledger has no row of it.
    """
    rows = transitions(store, strategy)
    if not rows:
        return True
    state = str(rows[-1]["to_state"])
    allowed = (DEMO, LIVE) if mode == DEMO else (LIVE,)
    return state in allowed


def record_transition(
    store: StateStore, decision: Decision, actor: str, reason: str, bar_time: int | None
) -> dict[str, Any]:
    """Append an allowed ``decision`` as a transition row (inside ``store.step()``)."""
    if not decision.allowed:
        raise RuntimeError(f"refused moves are not recorded as transitions: {decision.reason}")
    wall_ms = time.time_ns() // 1_000_000
    evidence = json.dumps(decision.evidence(), sort_keys=True, allow_nan=True)
    store.db.execute(
        "INSERT INTO lifecycle_transitions (wall_ms, bar_time, strategy, from_state, to_state, "
        "actor, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            wall_ms,
            bar_time,
            decision.strategy,
            decision.from_state,
            decision.to_state,
            actor,
            reason,
            evidence,
        ),
    )
    return {
        "wall_ms": wall_ms,
        "bar_time": bar_time,
        "strategy": decision.strategy,
        "from_state": decision.from_state,
        "to_state": decision.to_state,
        "actor": actor,
        "reason": reason,
    }


def copy_history(source: StateStore, target: StateStore, strategy: str) -> int:
    """Copy the strategy's transitions and baseline from ``source`` into ``target``.

    Used when a move up enters another account (paper → demo → live accounts): the target's
    ledger then shows the whole path. Nothing is copied when ``target`` already holds rows of
    the strategy. Copied rows keep wall time, actor and evidence; their ``bar_time`` is NULL
    (a bar of another account) and their reason names the source file. Call inside
    ``target.step()`` or let the next step commit. Returns the rows copied.
    """
    if transitions(target, strategy):
        return 0
    rows = transitions(source, strategy)
    for row in rows:
        target.db.execute(
            "INSERT INTO lifecycle_transitions (wall_ms, bar_time, strategy, from_state, "
            "to_state, actor, reason, evidence) VALUES (?, NULL, ?, ?, ?, ?, ?, ?)",
            (
                row["wall_ms"],
                strategy,
                row["from_state"],
                row["to_state"],
                row["actor"],
                f"[{source.path.name}] {row['reason']}",
                json.dumps(row["evidence"], sort_keys=True, allow_nan=True),
            ),
        )
    return len(rows)


def put_baseline(store: StateStore, strategy: str, baseline: Baseline) -> None:
    """Store (or replace) the strategy's baseline (inside ``store.step()``)."""
    store.db.execute(
        "INSERT OR REPLACE INTO lifecycle_baselines VALUES (?, ?)",
        (strategy, json.dumps(baseline.to_dict(), sort_keys=True, allow_nan=True)),
    )


def get_baseline(store: StateStore, strategy: str) -> Baseline | None:
    """Return the strategy's stored baseline, or None."""
    if not _has_table(store, "lifecycle_baselines"):
        return None
    rows = store.query("SELECT baseline FROM lifecycle_baselines WHERE strategy = ?", (strategy,))
    return Baseline.from_dict(json.loads(rows[0][0])) if rows else None


def _columns(store: StateStore, table: str) -> set[str]:
    return {str(row[1]) for row in store.query(f"PRAGMA table_info({table})")}


def strategy_equity(store: StateStore, strategy: str) -> list[tuple[int, float]]:
    """Return the strategy's equity (summed over symbols) at each processed bar."""
    rows = store.query(
        "SELECT bar_time, SUM(value) FROM strategy_marks WHERE strategy = ? "
        "GROUP BY bar_time ORDER BY bar_time",
        (strategy,),
    )
    return [(int(t), float(v)) for t, v in rows]


def track_record(store: StateStore, strategy: str, since: int | None = None) -> TrackRecord | None:
    """Return the strategy's record in its current state (None: not in the account).

    Days are UTC calendar days of bar open times; a day counts once its last bar is processed.
    ``since`` (a bar open time) drops the bars up to it as well: a record earned before the
    strategy's last move in another account (a demotion there) does not count again.
    """
    state, entered = current_state(store, strategy)
    if since is not None:
        entered = since if entered is None else max(entered, since)
    capital = store.query("SELECT capital FROM strategies WHERE strategy = ?", (strategy,))
    if not capital:
        return None
    timeframe = store.get_meta("timeframe")
    interval_ms = timeframe_to_ms(timeframe) if timeframe else DAY_MS
    curve = strategy_equity(store, strategy)
    start_equity = float(capital[0][0])
    if entered is not None:
        before = [value for t, value in curve if t <= entered]
        start_equity = before[-1] if before else start_equity
        curve = [(t, value) for t, value in curve if t > entered]
    day_ends: dict[int, float] = {}
    for t, value in curve:
        if (t + interval_ms) // DAY_MS > t // DAY_MS:  # the day's last bar
            day_ends[t // DAY_MS] = value
    equity = [day_ends[day] for day in sorted(day_ends)]
    returns, previous = [], start_equity
    for value in equity:
        returns.append(value / previous - 1.0 if previous > 0.0 else 0.0)
        previous = value
    since = -1 if entered is None else entered
    slippage_column = (
        REALISED_SLIPPAGE_COLUMN
        if REALISED_SLIPPAGE_COLUMN in _columns(store, "fills")
        else "slippage_cost"
    )
    slippage = store.query(
        f"SELECT COALESCE(SUM(slippage_cost), 0), COALESCE(SUM({slippage_column}), 0) "
        "FROM fills WHERE strategy = ? AND bar_time > ?",
        (strategy, since),
    )[0]
    funding_column = (
        MODELLED_FUNDING_COLUMN
        if MODELLED_FUNDING_COLUMN in _columns(store, "funding")
        else "amount"
    )
    funding = store.query(
        f"SELECT COALESCE(SUM(amount), 0), COALESCE(SUM({funding_column}), 0) "
        "FROM funding WHERE strategy = ? AND bar_time > ?",
        (strategy, since),
    )[0]
    return TrackRecord(
        state=state,
        entered_bar_time=entered,
        daily_returns=tuple(returns),
        daily_equity=tuple(equity),
        start_equity=start_equity,
        slippage_realised=float(slippage[1]),
        slippage_modelled=float(slippage[0]),
        funding_realised=float(funding[0]),
        funding_modelled=float(funding[1]),
    )
