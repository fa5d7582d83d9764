"""The one table of command-line options, composed per command (each flag means one thing)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

GAP_CHOICES = ("error", "split", "fill_flat")

OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "home": (
        ("--home",),
        {
            "metavar": "DIR",
            "type": Path,
            "help": "data home (default: $EVOLVE_HOME, else the user data directory, e.g. "
            "~/.local/share/evolve)",
        },
    ),
    "symbol": (
        ("--symbol",),
        {
            "metavar": "SYM",
            "required": True,
            "help": "market symbol, e.g. BTCUSDT or BTC/USDT:USDT",
        },
    ),
    "timeframe": (
        ("--timeframe",),
        {
            "metavar": "TF",
            "required": True,
            "help": "bar timeframe: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d",
        },
    ),
    "exchange": (
        ("--exchange",),
        {"metavar": "EX", "default": "", "help": "exchange id, e.g. binanceusdm (default: local)"},
    ),
    "gaps": (
        ("--gaps",),
        {
            "choices": GAP_CHOICES,
            "default": "error",
            "help": "what to do with missing bars: error (default) refuses the data, split keeps "
            "the gaps (never traded across), fill_flat inserts flat zero-volume bars",
        },
    ),
    "name": (
        ("--name",),
        {
            "metavar": "NAME",
            "help": "dataset name '<group>/<dataset>' "
            "(default: EXCHANGE/SYMBOL-TF, e.g. local/BTCUSDT-1h)",
        },
    ),
    "force": (
        ("--force",),
        {"action": "store_true", "help": "replace an existing dataset whose content differs"},
    ),
}


def add_option(parser: argparse.ArgumentParser, name: str, **overrides: Any) -> None:
    """Add option ``name`` from :data:`OPTIONS` to ``parser``; ``overrides`` adjust its kwargs."""
    flags, settings = OPTIONS[name]
    parser.add_argument(*flags, **{**settings, **overrides})


def paragraph(text: str, width: int = 88) -> str:
    """Return ``text`` re-wrapped to ``width`` columns (descriptions under a raw formatter)."""
    return textwrap.fill(" ".join(text.split()), width=width)
