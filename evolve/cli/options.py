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
    # evolve run / runs / lineage
    "config": (
        ("--config",),
        {"metavar": "FILE", "type": Path, "help": "TOML run configuration (see examples/configs)"},
    ),
    "data": (
        ("--data",),
        {
            "metavar": "NAME|PATH",
            "action": "append",
            "help": "dataset name (evolve data ls) or Parquet/CSV bar file; repeat for several "
            "symbols (default: bundled/BTCUSDT-1h and bundled/ETHUSDT-1h)",
        },
    ),
    "seed": (("--seed",), {"metavar": "N", "type": int, "help": "run seed (default 0)"}),
    "population": (
        ("--population",),
        {"metavar": "N", "type": int, "help": "individuals per generation"},
    ),
    "generations": (
        ("--generations",),
        {
            "metavar": "N",
            "type": int,
            "help": "generations after generation 0 (may be raised on --resume to extend a "
            "completed or early-stopped run)",
        },
    ),
    "patience": (
        ("--patience",),
        {
            "metavar": "N",
            "type": int,
            "help": "stop after N generations without a better hall-of-fame validation score "
            "(0 = never stop early; default 15); may be raised on --resume to continue an "
            "early-stopped run",
        },
    ),
    "workers": (
        ("--workers",),
        {
            "metavar": "N",
            "type": int,
            "help": "evaluation workers: 1 = in-process, N > 1 = a local Ray instance, "
            "0 = all cores (default)",
        },
    ),
    "ray_address": (
        ("--ray-address",),
        {"metavar": "ADDR", "help": "join this Ray cluster instead of starting a local one"},
    ),
    "runs_root": (
        ("--runs-root",),
        {
            "metavar": "DIR",
            "help": "directory holding run directories (default: ./runs, relative to the "
            "current directory; $EVOLVE_RUNS_ROOT)",
        },
    ),
    "run_dir": (
        ("--run-dir",),
        {"metavar": "DIR", "type": Path, "help": "the run directory (default: the latest run)"},
    ),
    "resume": (
        ("--resume",),
        {
            "action": "store_true",
            "help": "continue the latest run (or --run-dir) from its last complete generation",
        },
    ),
    "seed_templates": (
        ("--seed-templates",),
        {
            "metavar": "FILE",
            "type": Path,
            "help": "expressions (one per line) seeding generation 0, e.g. examples/seeds.txt",
        },
    ),
}


def add_option(parser: argparse.ArgumentParser, name: str, **overrides: Any) -> None:
    """Add option ``name`` from :data:`OPTIONS` to ``parser``; ``overrides`` adjust its kwargs."""
    flags, settings = OPTIONS[name]
    parser.add_argument(*flags, **{**settings, **overrides})


def paragraph(text: str, width: int = 88) -> str:
    """Return ``text`` re-wrapped to ``width`` columns (descriptions under a raw formatter)."""
    return textwrap.fill(" ".join(text.split()), width=width)
