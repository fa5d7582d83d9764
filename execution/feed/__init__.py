"""Closed-bar sources: stored bars on a simulated clock (replay), the venue via ccxt (live)."""

from __future__ import annotations

from execution.feed.base import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_STALE_BARS,
    FRESH,
    STALE,
    BarFeed,
    FeedStatus,
    History,
    history_from_arrays,
)
from execution.feed.replay import ReplayFeed

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "DEFAULT_STALE_BARS",
    "FRESH",
    "STALE",
    "BarFeed",
    "FeedStatus",
    "History",
    "ReplayFeed",
    "history_from_arrays",
]
