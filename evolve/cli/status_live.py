"""The live part of ``evolve status``: a demo or live account's venue side, read only.

Read from the live tables (``execution/state/live.py``) of a state file opened ``mode=ro``
(WAL: safe while the runner writes): per symbol the venue position the state file holds (every
venue fill, adopted at reconciliation) against the model's lot-rounded target the runner last
sized, the venue and model equity of the last mark, unresolved orders, the last risk denial,
drawdown levels, and the halt state (account halt, strategies halted by a drawdown emergency).
"""

from __future__ import annotations

from typing import Any

LEVELS = ("normal", "alert", "caution", "emergency")


def read_live_status(store: Any, meta: dict[str, str]) -> dict[str, Any] | None:
    """Return the live section of the status, or None for a paper account.

    Parameters
    ----------
    store : execution.state.StateStore
        Opened read-only.
    meta : dict
        The ``meta`` table (``mode``, ``last_denial``).
    """
    mode = meta.get("mode", "paper")
    tables = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if mode == "paper" or "live_positions" not in tables:
        return None
    risk = dict(store.query("SELECT key, value FROM risk_state"))
    venue = dict(store.query("SELECT symbol, qty FROM live_positions"))
    model_held: dict[str, float] = {}
    for symbol, qty in store.query("SELECT symbol, qty FROM positions"):
        model_held[symbol] = model_held.get(symbol, 0.0) + float(qty)
    symbols = sorted(set(venue) | set(model_held) | _suffixed(risk, "model_target:"))
    positions = []
    for symbol in symbols:
        target = risk.get(f"model_target:{symbol}")
        held = float(venue.get(symbol, 0.0))
        positions.append(
            {
                "symbol": symbol,
                "venue_qty": held,
                "model_target_qty": target,
                "model_held_qty": model_held.get(symbol, 0.0),
                "difference": None if target is None else held - target,
            }
        )
    mark = store.query(
        "SELECT bar_time, equity, model_equity FROM live_marks ORDER BY bar_time DESC LIMIT 1"
    )
    denial = store.query(
        "SELECT wall_ms, bar_time FROM events WHERE kind = 'risk_denied' ORDER BY id DESC LIMIT 1"
    )
    unresolved = store.query(
        "SELECT client_id, status FROM live_orders "
        "WHERE status IN ('pending', 'open', 'partial', 'lost') ORDER BY wall_ms, client_id"
    )
    halt_events = store.query(
        "SELECT kind FROM events WHERE kind IN ('halted', 'halt_incomplete') "
        "ORDER BY id DESC LIMIT 1"
    )
    active = store.active_halt()
    return {
        "mode": mode,
        "positions": positions,
        "venue_equity": mark[0][1] if mark else None,
        "model_equity": mark[0][2] if mark else None,
        "mark_bar": mark[0][0] if mark else None,
        "unresolved_orders": [{"client_id": c, "status": s} for c, s in unresolved],
        "last_denial": meta.get("last_denial"),
        "last_denial_bar": denial[0][1] if denial else None,
        "drawdown_levels": {
            key.removeprefix("level:"): LEVELS[int(value)]
            for key, value in sorted(risk.items())
            if key.startswith("level:")
        },
        "halted": active is not None,
        "halt_reason": active,
        "halt_outcome": halt_events[0][0] if (active is not None and halt_events) else None,
        "halted_strategies": sorted(
            key.removeprefix("halted:") for key, value in risk.items() if key.startswith("halted:")
        ),
    }


def _suffixed(values: dict[str, float], prefix: str) -> set[str]:
    return {key.removeprefix(prefix) for key in values if key.startswith(prefix)}


def live_lines(live: dict[str, Any]) -> list[str]:
    """Return the human-readable lines of the live section."""
    lines = [
        f"{live['mode']} venue: equity "
        + ("-" if live["venue_equity"] is None else f"{live['venue_equity']:.2f}")
        + " (model "
        + ("-" if live["model_equity"] is None else f"{live['model_equity']:.2f}")
        + ")  "
        + (
            f"HALTED: {live['halt_reason']}"
            + (f" ({live['halt_outcome']})" if live["halt_outcome"] else "")
            if live["halted"]
            else "trading"
        )
    ]
    for row in live["positions"]:
        target = row["model_target_qty"]
        lines.append(
            f"  {row['symbol']}: venue {row['venue_qty']:+.6g}  model target "
            + ("-" if target is None else f"{target:+.6g}")
            + f"  model held {row['model_held_qty']:+.6g}"
            + ("" if row["difference"] is None else f"  difference {row['difference']:+.6g}")
        )
    if live["unresolved_orders"]:
        orders = ", ".join(f"{o['client_id']} {o['status']}" for o in live["unresolved_orders"])
        lines.append(f"  unresolved orders: {orders}")
    lines.append(f"  last risk denial: {live['last_denial'] or 'none'}")
    levels = ", ".join(f"{who} {level}" for who, level in live["drawdown_levels"].items())
    lines.append(f"  drawdown levels: {levels or '-'}")
    if live["halted_strategies"]:
        lines.append(f"  strategies halted by drawdown: {', '.join(live['halted_strategies'])}")
    return lines
