"""The market-data store: data home, dataset names, manifests, atomic saves, listing and loading.

Layout: ``<home>/datasets/<group>/<SYMBOL>-<tf>/`` holding ``bars.parquet`` (the seven columns,
``funding_rate`` aligned per bar), ``funding.parquet`` (raw settlements, when any) and
``manifest.json`` (written last; its content hash is verified on every load, so a torn or
tampered write is detected). Bundled datasets live in the package, ``fitness/bundled/<stem>/``,
and are named ``bundled/<stem>``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fitness.data.atomic import atomic_write, fsync_dir
from fitness.data.files import (
    PARQUET_SUFFIXES,
    write_parquet,
)
from fitness.data.gaps import GapReport
from fitness.data.series import BarSeries, FundingTable
from fitness.data.timeframes import iso_from_ms, timeframe_to_ms
from fitness.errors import DataError

SCHEMA_VERSION = 1
BUNDLED_GROUP = "bundled"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled"
BARS_FILE = "bars.parquet"
FUNDING_FILE = "funding.parquet"
MANIFEST_FILE = "manifest.json"
_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# keys save_dataset derives from the data; ``extra`` may not contradict them
_DERIVED_KEYS = frozenset(
    {
        "schema_version", "name", "symbol", "timeframe", "timeframe_ms", "n_bars",
        "first_timestamp_ms", "first_timestamp", "last_timestamp_ms", "last_timestamp",
        "has_funding", "n_funding", "gaps", "content_hash", "funding_hash", "files",
    }
)  # fmt: skip


class DatasetNotFoundError(DataError, FileNotFoundError):
    """No dataset (or no complete dataset: manifest missing) exists under the given name."""


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A stored dataset: its ``name``, directory ``path`` and parsed ``manifest`` (read-only).

    ``problem`` is non-empty only in :func:`list_datasets` results that are damaged: an
    unreadable manifest (the manifest is then empty) or a truncated, missing or mismatched
    Parquet file (the manifest is kept).
    """

    name: str
    path: Path
    manifest: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""

    @property
    def is_bundled(self) -> bool:
        return self.name.startswith(f"{BUNDLED_GROUP}/")

    @property
    def content_hash(self) -> str:
        return str(self.manifest.get("content_hash", ""))

    @property
    def n_bars(self) -> int:
        return int(self.manifest.get("n_bars", 0))

    @property
    def gaps(self) -> GapReport:
        return GapReport.from_dict(self.manifest.get("gaps", {}))

    @property
    def bars_path(self) -> Path:
        return self.path / BARS_FILE

    @property
    def funding_path(self) -> Path:
        return self.path / FUNDING_FILE


def default_home() -> Path:
    """Return the data home: ``$EVOLVE_HOME``, else the platform's per-user data directory.

    ``$XDG_DATA_HOME/evolve`` or ``~/.local/share/evolve`` on Linux, ``~/Library/Application
    Support/evolve`` on macOS, ``%LOCALAPPDATA%\\evolve`` on Windows. Never the current
    directory unless ``EVOLVE_HOME`` says so.
    """
    configured = os.environ.get("EVOLVE_HOME", "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "evolve"
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA", "")
        return (Path(local) if local else Path.home() / "AppData" / "Local") / "evolve"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "evolve"


def dataset_name(exchange: str, symbol: str, timeframe: str) -> str:
    """Return the store name ``"<exchange>/<SYMBOL>-<tf>"``, e.g. ``"binanceusdm/BTCUSDT-1h"``.

    ccxt symbols are normalised (``"BTC/USDT:USDT"`` -> ``"BTCUSDT"``); an empty exchange
    becomes ``"local"``.

    Raises
    ------
    DataError
        For an unknown timeframe or a symbol/exchange that cannot form a name.
    """
    timeframe_to_ms(timeframe)
    group = (exchange or "local").strip().lower()
    name = f"{group}/{normalize_symbol(symbol)}-{timeframe}"
    check_dataset_name(name)
    return name


def normalize_symbol(symbol: str) -> str:
    """Return the exchange-style id of a symbol: ``"BTC/USDT:USDT"`` -> ``"BTCUSDT"``.

    The settlement suffix (``:USDT``) and separators (``/``, ``-``, ``_``, spaces) are dropped
    and letters upper-cased; ``"BTCUSDT"`` stays as it is.
    """
    return re.sub(r"[/\-_\s]", "", str(symbol).split(":")[0]).upper()


def check_dataset_name(name: str) -> tuple[str, str]:
    """Return ``(group, stem)`` of a valid dataset name ``"<group>/<stem>"``.

    Raises
    ------
    DataError
        If ``name`` is not two parts of letters, digits, ``.``, ``_`` or ``-``.
    """
    parts = str(name).split("/")
    if len(parts) != 2 or not all(_NAME_PART.fullmatch(part) for part in parts):
        raise DataError(
            f"dataset name {name!r} is not valid (expected '<group>/<dataset>' of letters, "
            "digits, '.', '_', '-', e.g. binanceusdm/BTCUSDT-1h); `evolve data ls` lists them"
        )
    return parts[0], parts[1]


def dataset_dir(name: str, *, home: Path | None = None) -> Path:
    """Return the directory of dataset ``name`` (bundled names resolve inside the package)."""
    group, stem = check_dataset_name(name)
    if group == BUNDLED_GROUP:
        return BUNDLED_DIR / stem
    return Path(home or default_home()) / "datasets" / group / stem


def save_dataset(
    series: BarSeries,
    *,
    home: Path,
    name: str,
    funding: FundingTable | None = None,
    source: str = "",
    extra: Mapping[str, object] | None = None,
) -> DatasetInfo:
    """Store ``series`` (and raw ``funding``) as dataset ``name`` under ``home``, atomically.

    Every file is written to a temporary name in the dataset directory, fsynced and renamed;
    the manifest goes last, so readers see either the old or the new dataset, and a torn write
    is caught by the content-hash check on load. ``extra`` adds manifest keys (e.g.
    ``market_symbol``, ``exchange``, ``created_at``, fetch bounds) but may not contradict the
    keys derived from the data.

    Raises
    ------
    DataError
        For an invalid name, the read-only ``bundled/`` group, or settlements outside the bars.
    """
    group, _ = check_dataset_name(name)
    if group == BUNDLED_GROUP:
        raise DataError(f"dataset name {name!r}: the bundled/ group is read-only; pick --name")
    return write_dataset(
        series, dataset_dir(name, home=home), name=name, funding=funding, source=source,
        extra=extra, stop_at=Path(home).parent,
    )  # fmt: skip


def write_dataset(
    series: BarSeries,
    directory: Path,
    *,
    name: str,
    funding: FundingTable | None = None,
    source: str = "",
    extra: Mapping[str, object] | None = None,
    stop_at: Path | None = None,
) -> DatasetInfo:
    """Write the dataset files into ``directory`` (used by :func:`save_dataset` and the bundler).

    Directories this call creates (up to ``stop_at``) are removed again if the write fails.
    """
    manifest = build_manifest(series, name=name, funding=funding, source=source, extra=extra)
    created = _make_dirs(directory, stop_at)
    try:
        atomic_write(directory / BARS_FILE, lambda path: _write_bars(path, series))
        if funding is not None:
            columns = {"timestamp": funding.timestamp, "funding_rate": funding.funding_rate}
            atomic_write(directory / FUNDING_FILE, lambda path: write_parquet(path, columns))
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        atomic_write(directory / MANIFEST_FILE, lambda path: path.write_text(text, "utf-8"))
        if funding is None:
            (directory / FUNDING_FILE).unlink(missing_ok=True)
        fsync_dir(directory)
    except BaseException:
        for made in reversed(created):
            try:
                made.rmdir()  # only if still empty
            except OSError:
                break
        raise
    return DatasetInfo(name=name, path=directory, manifest=manifest)


def build_manifest(
    series: BarSeries,
    *,
    name: str,
    funding: FundingTable | None = None,
    source: str = "",
    extra: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """Return the manifest of ``series`` stored as ``name`` (see the module docstring)."""
    first, last = int(series.timestamp[0]), int(series.timestamp[-1])
    if funding is not None and len(funding):
        end = last + series.timeframe_ms
        if int(funding.timestamp[0]) < first or int(funding.timestamp[-1]) >= end:
            raise DataError(
                f"{funding.source}: settlements span {iso_from_ms(int(funding.timestamp[0]))} .. "
                f"{iso_from_ms(int(funding.timestamp[-1]))}, outside the bars "
                f"[{iso_from_ms(first)}, {iso_from_ms(end)}); trim the funding table first"
            )
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "symbol": series.symbol,
        "timeframe": series.timeframe,
        "timeframe_ms": series.timeframe_ms,
        "exchange": series.exchange,
        "market_symbol": None,
        "first_timestamp_ms": first,
        "first_timestamp": iso_from_ms(first),
        "last_timestamp_ms": last,
        "last_timestamp": iso_from_ms(last),
        "n_bars": series.n_bars,
        "has_funding": series.has_funding or funding is not None,
        "n_funding": len(funding) if funding is not None else 0,
        "gaps": series.gaps.to_dict(),
        "content_hash": series.content_hash,
        "funding_hash": funding.content_hash if funding is not None else None,
        "files": {"bars": BARS_FILE, "funding": FUNDING_FILE if funding is not None else None},
        "source": source,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for key, value in (extra or {}).items():
        if key in _DERIVED_KEYS and manifest[key] != value:
            raise ValueError(f"extra[{key!r}] = {value!r} contradicts the data ({manifest[key]!r})")
        manifest[key] = value
    return manifest


def read_dataset_info(name: str, *, home: Path | None = None) -> DatasetInfo:
    """Return the manifest of dataset ``name`` (a store name or ``bundled/<stem>``).

    Raises
    ------
    DatasetNotFoundError
        If there is no complete dataset (no ``manifest.json``) under that name.
    DataError
        If the manifest is unreadable or from a newer schema.
    """
    directory = dataset_dir(name, home=home)
    if not (directory / MANIFEST_FILE).is_file():
        where = "the bundled datasets" if name.startswith(f"{BUNDLED_GROUP}/") else directory
        state = "incomplete (no manifest.json)" if directory.is_dir() else "not found"
        raise DatasetNotFoundError(
            f"dataset {name!r} is {state} in {where}; list datasets with `evolve data ls` or "
            "import one with `evolve data import`"
        )
    return read_info_at(directory, name=name)


def read_info_at(directory: Path, *, name: str | None = None) -> DatasetInfo:
    """Return the :class:`DatasetInfo` of a dataset directory (name from the manifest if None)."""
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{directory}: no {MANIFEST_FILE} (not a dataset)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: unreadable manifest ({e}); re-import the dataset") from None
    required = ("schema_version", "name", "symbol", "timeframe", "n_bars", "content_hash", "gaps")
    missing = [key for key in required if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise DataError(f"{path}: manifest lacks {', '.join(missing)}; re-import the dataset")
    if int(manifest["schema_version"]) > SCHEMA_VERSION:
        raise DataError(
            f"{path}: manifest schema_version {manifest['schema_version']} is newer than this "
            f"evolve understands ({SCHEMA_VERSION}); upgrade evolve"
        )
    return DatasetInfo(name=name or str(manifest["name"]), path=directory, manifest=manifest)


def list_datasets(*, home: Path | None = None, include_bundled: bool = True) -> list[DatasetInfo]:
    """Return every dataset, bundled first, then the store's sorted by name.

    Unreadable datasets — a bad manifest, or a Parquet file whose footer is unreadable or
    whose row count differs from the manifest (:func:`files_problem`) — are listed with
    ``problem`` set instead of raising.
    """
    found: list[DatasetInfo] = []
    roots = [(BUNDLED_GROUP, BUNDLED_DIR)] if include_bundled else []
    store = Path(home or default_home()) / "datasets"
    if store.is_dir():
        roots += [(group.name, group) for group in sorted(store.iterdir()) if group.is_dir()]
    for group, root in roots:
        if group.startswith(".") or not root.is_dir():
            continue
        for directory in sorted(root.iterdir()):
            if not directory.is_dir() or directory.name.startswith((".", "_")):
                continue
            name = f"{group}/{directory.name}"
            try:
                info = read_info_at(directory, name=name)
            except DataError as e:
                found.append(DatasetInfo(name=name, path=directory, problem=str(e)))
                continue
            problem = files_problem(info)
            found.append(
                info if not problem else DatasetInfo(name, directory, info.manifest, problem)
            )
    return found


def files_problem(info: DatasetInfo) -> str:
    """Return why a dataset's Parquet files cannot be what its manifest says ("" if sound).

    Reads only each file's footer (row count), not the bars: a truncated or overwritten file
    has no valid footer or another row count. The content hash is verified on load.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    expected: dict[str, tuple[Path, int | None]] = {"bars": (info.bars_path, info.n_bars)}
    files = info.manifest.get("files")
    if isinstance(files, Mapping) and files.get("funding"):
        expected["funding"] = (info.funding_path, None)
    for label, (path, n_rows) in expected.items():
        try:
            rows = pq.read_metadata(path).num_rows
        except FileNotFoundError:
            return f"{path}: {label} file missing; re-import or re-fetch the dataset"
        except (OSError, pa.ArrowException) as e:
            return f"{path}: unreadable {label} file ({e}); re-import or re-fetch the dataset"
        if n_rows is not None and rows != n_rows:
            return (
                f"{path}: {rows} rows, the manifest says {n_rows}; re-import or re-fetch "
                "the dataset"
            )
    return ""


def is_file_reference(name_or_path: str | Path, *, home: Path | None = None) -> bool:
    """Return True when ``name_or_path`` means a file or directory rather than a store name."""
    if isinstance(name_or_path, Path):
        return True
    text = str(name_or_path)
    if text.startswith(f"{BUNDLED_GROUP}/"):
        return False
    try:
        check_dataset_name(text)
    except DataError:
        return True
    if Path(text).suffix.lower() in (*PARQUET_SUFFIXES, ".csv"):
        return True
    in_store = (dataset_dir(text, home=home) / MANIFEST_FILE).is_file()
    return not in_store and Path(text).exists()


def _write_bars(path: Path, series: BarSeries) -> None:
    metadata = {"symbol": series.symbol, "timeframe": series.timeframe}
    write_parquet(path, series.columns(), metadata)


def _make_dirs(directory: Path, stop_at: Path | None) -> list[Path]:
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != stop_at and current != current.parent:
        missing.append(current)
        current = current.parent
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))
