"""Regenerate the bundled datasets (``fitness/bundled/``) byte for byte from the shared real data.

Usage::

    python scripts/make_bundled.py [--source DIR] [--check]

``--source`` defaults to ``../shared/data`` next to the repository. ``--check`` rebuilds into a
temporary directory and exits 1 if any file differs from the committed bundle.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from fitness import BarSeries, align_funding, load_bars, read_funding_file
from fitness.data.store import BUNDLED_DIR, write_dataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data"
START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
END_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z (exclusive): last bar 2025-12-31T23:00Z
EXPECTED_BARS = 26_304  # 1,096 days (2024 is a leap year) × 24
CREATED_AT = "2026-01-01T00:00:00Z"  # fixed, so re-running gives identical files
ORIGIN = {
    "repository": "Roshan7869/algotrading",
    "commit": "db07ceb71a",
    "license": "GPL-3.0 (repository LICENSE; freqtrade fork); exchange data: Binance terms",
    "upstream": "Binance USDT-M futures public market data (klines, funding-rate history)",
}
SYMBOLS = {"BTCUSDT": "BTC/USDT:USDT", "ETHUSDT": "ETH/USDT:USDT"}


def build(source: Path, target: Path) -> list[Path]:
    """Write ``<target>/<SYMBOL>-1h/`` for every bundled symbol; return the dataset dirs."""
    written = []
    for symbol, market_symbol in SYMBOLS.items():
        bars_file = source / f"binance_usdm_{symbol}_1h.parquet"
        funding_file = source / f"binance_usdm_{symbol}_funding.parquet"
        full = load_bars(bars_file)
        first, stop = (int(i) for i in full.timestamp.searchsorted([START_MS, END_MS]))
        bars = full.slice(first, stop)
        if bars.n_bars != EXPECTED_BARS or bars.gaps.count or len(bars.segments) != 1:
            raise SystemExit(f"{bars_file}: expected {EXPECTED_BARS} gap-free bars, found {bars}")
        funding = read_funding_file(funding_file).within(START_MS, END_MS)
        rate = align_funding(
            bars.timestamp, bars.timeframe_ms, funding.timestamp, funding.funding_rate
        )
        series = BarSeries.from_arrays(
            bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume, rate,
            symbol=symbol, timeframe="1h", exchange="binanceusdm",
            source=str(bars_file),
        )  # fmt: skip
        stem = f"{symbol}-1h"
        origin_paths = {
            "bars": f"user_data/data/binance/futures/{symbol[:-4]}_USDT_USDT-1h-futures.feather",
            "funding": f"user_data/data/binance/futures/{symbol[:-4]}_USDT_USDT-1h-funding_rate"
            ".feather",
        }
        write_dataset(
            series,
            target / stem,
            name=f"bundled/{stem}",
            funding=funding,
            source=f"{bars_file.name} + {funding_file.name} (evolve shared real data)",
            extra={
                "market_symbol": market_symbol,
                "created_at": CREATED_AT,
                "provenance": {**ORIGIN, "paths": origin_paths},
            },
        )
        written.append(target / stem)
    return written


EPILOG = """\
examples:
  python scripts/make_bundled.py            rewrite fitness/bundled/ from ../shared/data
  python scripts/make_bundled.py --check    exit 1 if the committed bundle differs
  python scripts/make_bundled.py --source /data/shared --check"""


def main(argv: list[str] | None = None) -> int:
    """Build (or with ``--check`` verify) the bundle; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python scripts/make_bundled.py",
        description=(
            "Regenerate the bundled datasets (fitness/bundled/: BTCUSDT-1h and ETHUSDT-1h,\n"
            "2023-2025) byte for byte from the shared real data (binance_usdm_<SYMBOL>_1h.parquet\n"
            "and binance_usdm_<SYMBOL>_funding.parquet)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        metavar="DIR",
        help="the shared real data directory (default: ../shared/data next to the repository)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary directory and exit 1 if any file differs; write nothing",
    )
    args = parser.parse_args(argv)
    if not args.check:
        for directory in build(args.source, BUNDLED_DIR):
            size = sum(file.stat().st_size for file in directory.iterdir())
            print(f"{directory.relative_to(REPO)}: {size:,} bytes")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        different = []
        for directory in build(args.source, Path(scratch)):
            for file in sorted(directory.iterdir()):
                committed = BUNDLED_DIR / directory.name / file.name
                if not committed.is_file() or not filecmp.cmp(file, committed, shallow=False):
                    different.append(str(committed.relative_to(REPO)))
    for name in different:
        print(f"differs: {name}", file=sys.stderr)
    print("bundle is up to date" if not different else "bundle differs; run make_bundled.py")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
