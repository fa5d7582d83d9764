"""The paper account's SQLite state file (WAL, one transaction per step)."""

from __future__ import annotations

from execution.state.store import SCHEMA_VERSION, StateStore

__all__ = ["SCHEMA_VERSION", "StateStore"]
