"""Load bars and funding from the store, the bundled datasets or plain files, hash-verified."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from fitness.data.files import parquet_metadata, read_bars_with, read_parquet_columns
from fitness.data.gaps import GapReport, find_gaps
from fitness.data.series import BarSeries, FundingTable, content_hash, series_from_columns
from fitness.data.store import (
    DatasetInfo,
    DatasetNotFoundError,
    is_file_reference,
    read_dataset_info,
    read_info_at,
)
from fitness.data.timeframes import TIMEFRAMES
from fitness.data.validation import (
    BAR_COLUMNS,
    RowLocator,
    check_grid,
    check_increasing,
    check_values,
    coerce_timestamps,
)
from fitness.errors import DataError


def load_bars(
    name_or_path: str | Path, *, home: Path | None = None, gaps: str = "error"
) -> BarSeries:
    """Return the bar series of a dataset or file, verified.

    Parameters
    ----------
    name_or_path : str or Path
        A store name (``"binanceusdm/BTCUSDT-1h"``), a bundled name (``"bundled/BTCUSDT-1h"``),
        a dataset directory, or a Parquet/CSV file in the DESIGN §1 schema (optional
        ``funding_rate`` column). A plain file's symbol and timeframe come from its ``evolve.*``
        metadata, else its name (``BTCUSDT-1h.csv``, ``binance_usdm_BTCUSDT_1h.parquet``), else
        the timestamp spacing.
    home : Path, optional
        Data home; default :func:`fitness.default_home`.
    gaps : {"error", "split", "fill_flat"}
        Gap policy for plain files; a stored dataset keeps the policy it was imported with.

    Raises
    ------
    DatasetNotFoundError
        If no such dataset or file exists.
    DataError
        If the stored bars do not match the manifest's content hash (a torn write or a
        modified file), or the data fail validation.
    """
    if is_file_reference(name_or_path, home=home):
        path = Path(name_or_path)
        if path.is_dir():
            return _load_dataset(read_info_at(path))
        if not path.exists():
            raise DatasetNotFoundError(
                f"{name_or_path}: no such file, dataset directory or dataset name; list "
                "datasets with `evolve data ls`"
            )
        return _load_file(path, gaps=gaps)
    return _load_dataset(read_dataset_info(str(name_or_path), home=home))


def load_funding(name: str, *, home: Path | None = None) -> FundingTable | None:
    """Return the raw funding settlements of dataset ``name``, or None when it stores none.

    Raises
    ------
    DataError
        If the funding file does not match the manifest's ``funding_hash``.
    """
    info = read_dataset_info(name, home=home)
    if not info.manifest.get("n_funding"):
        return None
    columns = read_parquet_columns(info.funding_path, ("timestamp", "funding_rate"))
    found = content_hash(columns, ("timestamp", "funding_rate"))
    if found != info.manifest.get("funding_hash"):
        raise DataError(
            f"{info.funding_path}: funding content hash {found[:19]} does not match the "
            f"manifest ({str(info.manifest.get('funding_hash'))[:19]}); the dataset was modified "
            "or a write was interrupted — re-import or re-fetch it"
        )
    return FundingTable(columns["timestamp"], columns["funding_rate"], str(info.funding_path))


def _load_dataset(info: DatasetInfo) -> BarSeries:
    manifest = info.manifest
    columns = read_parquet_columns(info.bars_path, BAR_COLUMNS)
    found = content_hash(columns)
    if found != manifest["content_hash"] or columns["timestamp"].shape[0] != manifest["n_bars"]:
        raise DataError(
            f"{info.bars_path}: content hash {found[:19]} ({columns['timestamp'].shape[0]} bars) "
            f"does not match the manifest ({str(manifest['content_hash'])[:19]}, "
            f"{manifest['n_bars']} bars); the dataset was modified or a write was interrupted "
            "— re-import or re-fetch it"
        )
    # the hash proves these are the bytes that were validated at save; re-check cheaply anyway
    locator = RowLocator(str(info.bars_path))
    report = GapReport.from_dict(manifest["gaps"])
    check_values(columns, locator)
    check_increasing(columns["timestamp"], locator)
    check_grid(columns["timestamp"], manifest["timeframe"], manifest["timeframe_ms"], locator)
    if report.policy != "split" and find_gaps(columns["timestamp"], manifest["timeframe_ms"]):
        raise DataError(f"{info.bars_path}: gaps in bars stored under policy {report.policy!r}")
    return BarSeries(
        columns["timestamp"],
        columns["open"],
        columns["high"],
        columns["low"],
        columns["close"],
        columns["volume"],
        columns["funding_rate"],
        symbol=str(manifest["symbol"]),
        timeframe=str(manifest["timeframe"]),
        exchange=str(manifest.get("exchange") or ""),
        name=info.name,
        has_funding=bool(manifest.get("has_funding")),
        gaps=report,
    )


def _load_file(path: Path, *, gaps: str) -> BarSeries:
    metadata = parquet_metadata(path)
    symbol_hint, timeframe_hint = _hints_from_name(path.name)

    def build(columns: dict[str, object], locator: RowLocator) -> BarSeries:
        timeframe = metadata.get("timeframe") or timeframe_hint
        if timeframe is None:
            timeframe = _infer_timeframe(coerce_timestamps(columns["timestamp"], locator), path)
        return series_from_columns(
            columns,
            symbol=metadata.get("symbol") or symbol_hint,
            timeframe=timeframe,
            gaps=gaps,
            locator=locator,
        )

    return read_bars_with(path, build)


def _hints_from_name(filename: str) -> tuple[str, str | None]:
    stem = filename.split(".")[0]
    tokens = [token for token in re.split(r"[_\-\s]+", stem) if token]
    for index in range(len(tokens) - 1, -1, -1):
        if tokens[index] in TIMEFRAMES:
            symbol = tokens[index - 1].upper() if index > 0 else stem
            return symbol, tokens[index]
    return stem, None


def _infer_timeframe(timestamp: np.ndarray, path: Path) -> str:
    steps = np.diff(timestamp)
    positive = steps[steps > 0]
    step = int(positive.min()) if positive.size else 0
    for timeframe, milliseconds in TIMEFRAMES.items():
        if milliseconds == step:
            return timeframe
    raise DataError(
        f"{path}: cannot tell the timeframe (bars are {step} ms apart, not one of "
        f"{', '.join(TIMEFRAMES)}); import it with `evolve data import --timeframe TF`"
    )
