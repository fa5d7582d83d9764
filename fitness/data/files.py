"""Bar and funding files: CSV/Parquet import with row-exact errors, and the store's Parquet I/O.

CSV is read with the stdlib ``csv`` module so every error names the exact line; Parquet with
pyarrow, whose failures (truncated or corrupt files) become :class:`DataError` naming the file.
Row numbering follows :mod:`fitness.data.validation`: ``row N`` is 1-based, header not counted.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fitness.data.series import BarSeries, FundingTable, series_from_columns
from fitness.data.validation import BAR_COLUMNS, RowLocator, check_funding
from fitness.errors import DataError

REQUIRED_BAR_COLUMNS = BAR_COLUMNS[:-1]
FUNDING_COLUMNS = ("timestamp", "funding_rate")
PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_MAGIC = b"PAR1"
_T = TypeVar("_T")
_UNIT_MS = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1000), "ns": (1, 1_000_000)}


def read_bar_file(
    path: str | Path,
    *,
    symbol: str,
    timeframe: str,
    exchange: str = "",
    funding_path: str | Path | None = None,
    gaps: str = "error",
) -> tuple[BarSeries, FundingTable | None]:
    """Read, validate and return a bar file (CSV or Parquet) and its optional funding file.

    The bar file has exactly the columns timestamp, open, high, low, close, volume and
    optionally funding_rate (already aligned per bar); timestamps are integer ms or ISO-8601
    with an offset or ``Z``. The funding file has exactly timestamp (settlement time) and
    funding_rate; its settlements are aligned with :func:`fitness.align_funding`.

    Returns
    -------
    (series, funding)
        ``funding`` is the raw settlement table, or ``None`` without ``funding_path``.

    Raises
    ------
    DataError
        Naming the file and the row/column of the first problem (see the bad-input list in
        :meth:`BarSeries.from_arrays`, plus missing/extra columns, empty, unreadable files and
        settlements outside the bar range); :class:`GapError` for gaps under ``"error"``.
    """
    funding, funding_locator = None, None
    if funding_path is not None:
        funding, funding_locator = _read_funding(funding_path)

    def build(columns: Mapping[str, object], locator: RowLocator) -> BarSeries:
        return series_from_columns(
            columns,
            symbol=symbol,
            timeframe=timeframe,
            exchange=exchange,
            gaps=gaps,
            locator=locator,
            funding=funding,
            funding_locator=funding_locator,
        )

    return read_bars_with(path, build), funding


def read_bars_with(path: str | Path, build: Callable[[dict[str, object], RowLocator], _T]) -> _T:
    """Read a bar file's columns and ``build`` from them; report errors with exact lines.

    CSV goes through pyarrow first (fast); if reading or ``build`` fails, the file is re-read
    with the stdlib reader so the :class:`DataError` names the exact row and line.
    """
    columns, locator = read_columns(path, REQUIRED_BAR_COLUMNS, ("funding_rate",), fast=True)
    try:
        return build(columns, locator)
    except DataError:
        if locator.exact:
            raise
    columns, locator = read_columns(path, REQUIRED_BAR_COLUMNS, ("funding_rate",))
    return build(columns, locator)


def read_funding_file(path: str | Path) -> FundingTable:
    """Read and validate a funding file (columns timestamp, funding_rate; CSV or Parquet)."""
    return _read_funding(path)[0]


def _read_funding(path: str | Path) -> tuple[FundingTable, RowLocator]:
    columns, locator = read_columns(path, FUNDING_COLUMNS)
    times, rates = check_funding(columns["timestamp"], columns["funding_rate"], locator)
    return FundingTable(times, rates, source=locator.source), locator


def read_columns(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = (), *, fast: bool = False
) -> tuple[dict[str, object], RowLocator]:
    """Return the raw columns of a CSV or Parquet file and a locator for its rows.

    The format is detected from the content (Parquet's ``PAR1`` magic), not the name alone.
    CSV cells stay text for the validation to parse, unless ``fast``: then pyarrow parses the
    numbers and the locator is not ``exact`` (see :func:`read_bars_with`).
    """
    file = Path(path)
    source = str(path)
    if not file.is_file():
        what = "is a directory" if file.is_dir() else "does not exist"
        raise DataError(
            f"{source}: the file {what} (expected a CSV or Parquet file); check the path"
        )
    with file.open("rb") as handle:
        head = handle.read(4)
    if not head:
        raise DataError(f"{source}: the file is empty (0 bytes; expected a header and rows)")
    if head == _PARQUET_MAGIC:
        return _read_parquet(file, source, required, optional)
    if file.suffix.lower() in PARQUET_SUFFIXES:
        raise DataError(
            f"{source}: not a Parquet file (the PAR1 magic bytes are missing); the file is "
            "truncated or corrupt — re-export or re-download it"
        )
    if fast:
        parsed = _read_csv_fast(file, source, required, optional)
        if parsed is not None:
            return parsed
    return _read_csv(file, source, required, optional)


def check_column_names(
    source: str, found: Sequence[str], required: Sequence[str], optional: Sequence[str] = ()
) -> None:
    """Raise DataError unless ``found`` is exactly ``required`` plus any of ``optional``."""
    missing = [name for name in required if name not in found]
    unexpected = [name for name in found if name not in (*required, *optional)]
    repeated = [name for name, count in Counter(found).items() if count > 1]
    if not (missing or unexpected or repeated):
        return
    expected = ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")
    problems = [f"missing: {', '.join(missing) or 'none'}"]
    problems.append(f"unexpected: {', '.join(unexpected) or 'none'}")
    if repeated:
        problems.append(f"repeated: {', '.join(repeated)}")
    raise DataError(
        f"{source}: the columns do not match the schema ({'; '.join(problems)}); expected "
        f"exactly {expected}, found {', '.join(found) or 'no columns'}; rename or drop columns"
    )


def _read_csv(
    file: Path, source: str, required: Sequence[str], optional: Sequence[str]
) -> tuple[dict[str, object], RowLocator]:
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise DataError(f"{source} line 1: no header (expected {', '.join(required)})")
            header = [cell.strip() for cell in header]
            check_column_names(source, header, required, optional)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != len(header):
                    raise DataError(
                        f"{source} row {len(rows) + 1} (line {reader.line_num}): {len(row)} "
                        f"field(s) (expected {len(header)}, as in the header); fix the row"
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{source}: not UTF-8 text (undecodable byte at offset {e.start}); "
            "save it as a UTF-8 CSV or a Parquet file"
        ) from None
    except csv.Error as e:
        raise DataError(f"{source}: unreadable CSV ({e}); fix the file") from None
    if not rows:
        raise DataError(f"{source}: no data rows (only a header; expected at least one bar)")
    cells = [np.array(column) for column in zip(*rows, strict=True)]
    locator = RowLocator(source, np.asarray(lines, dtype=np.int64))
    return dict(zip(header, cells, strict=True)), locator


def _read_csv_fast(
    file: Path, source: str, required: Sequence[str], optional: Sequence[str]
) -> tuple[dict[str, object], RowLocator] | None:
    numbers = {name: pa.float64() for name in (*required, *optional) if name != "timestamp"}
    options = pacsv.ConvertOptions(
        column_types={"timestamp": pa.string(), **numbers},
        null_values=[],  # "nan" or "" must never become a silent null
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(file, convert_options=options)
    except (pa.ArrowException, OSError, ValueError):
        return None
    names = table.column_names
    if set(names) - {*required, *optional} or set(required) - set(names) or table.num_rows == 0:
        return None
    columns: dict[str, object] = {}
    for name in names:
        column = table.column(name)
        if name == "timestamp":
            # integer ms cast here; ISO-8601 text stays text for the cell-by-cell parser
            with contextlib.suppress(pa.ArrowException):
                column = pc.cast(column, pa.int64())
        columns[name] = column.to_numpy(zero_copy_only=False)
    return columns, RowLocator(source, exact=False)


def _read_parquet(
    file: Path, source: str, required: Sequence[str], optional: Sequence[str]
) -> tuple[dict[str, object], RowLocator]:
    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(
            f"{source}: cannot read the Parquet file ({reason}); the file is truncated or "
            "corrupt — re-export or re-download it"
        ) from None
    check_column_names(source, table.column_names, required, optional)
    if table.num_rows == 0:
        raise DataError(f"{source}: no data rows (expected at least one)")
    locator = RowLocator(source)
    columns: dict[str, object] = {}
    for name in table.column_names:
        chunked = table.column(name)
        if chunked.null_count:
            row = int(np.flatnonzero(pc.is_null(chunked).to_numpy(zero_copy_only=False))[0])
            raise DataError(
                f"{locator.row(row)}, column {name}: the cell is empty (null); "
                "fill or drop the row in the source data"
            )
        columns[name] = _arrow_column(chunked, name, locator)
    return columns, locator


def _arrow_column(chunked: pa.ChunkedArray, name: str, locator: RowLocator) -> object:
    kind = chunked.type
    if pa.types.is_timestamp(kind):
        if name != "timestamp":
            raise DataError(
                f"{locator.source}, column {name}: a time type ({kind}) in a number column"
            )
        return _arrow_timestamps(chunked, locator)
    if pa.types.is_decimal(kind):
        chunked = pc.cast(chunked, pa.float64())
    elif not (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    ):
        wanted = "int64 ms or UTC timestamps" if name == "timestamp" else "float64 numbers"
        raise DataError(
            f"{locator.source}, column {name}: type {kind} (expected {wanted}); convert the column"
        )
    return chunked.to_numpy()


def _arrow_timestamps(chunked: pa.ChunkedArray, locator: RowLocator) -> np.ndarray:
    kind = chunked.type
    if kind.tz is None:
        raise DataError(
            f"{locator.source}, column timestamp: type {kind} has no time zone, so the times "
            "are ambiguous; store UTC-aware timestamps or int64 milliseconds since the epoch"
        )
    multiply, divide = _UNIT_MS[kind.unit]
    raw = pc.cast(chunked, pa.int64()).to_numpy()
    bad = np.flatnonzero(np.mod(raw, divide) != 0)
    if bad.size:
        raise DataError(
            f"{locator.row(int(bad[0]))}, column timestamp: sub-millisecond time "
            "(expected whole milliseconds); round the timestamps to bar open times"
        )
    timestamps_ms: np.ndarray = raw // divide * multiply  # raw: pyarrow's untyped to_numpy()
    return timestamps_ms


def write_parquet(
    path: Path, columns: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> None:
    """Write int64/float64 ``columns`` to ``path`` as zstd Parquet, deterministically.

    Timestamps are delta-encoded, no dictionaries (they double the size of price columns):
    about 17 bytes per 1h bar.
    """
    table = pa.table(
        {name: pa.array(values) for name, values in columns.items()},
        metadata={f"evolve.{key}": value for key, value in (metadata or {}).items()},
    )
    encoding = {"timestamp": "DELTA_BINARY_PACKED"} if "timestamp" in columns else {}
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        use_dictionary=False,
        column_encoding=encoding,
    )


def read_parquet_columns(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Return the named int64/float64 columns of a file written by :func:`write_parquet`.

    Raises
    ------
    DataError
        If the file is unreadable, or its columns or types differ (a damaged dataset).
    """
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(
            f"{path}: cannot read the stored Parquet file ({reason}); the dataset is damaged — "
            "re-import or re-fetch it"
        ) from None
    if table.column_names != list(names):
        raise DataError(
            f"{path}: stored columns are {', '.join(table.column_names)} (expected "
            f"{', '.join(names)}); the dataset is damaged — re-import or re-fetch it"
        )
    out: dict[str, np.ndarray] = {}
    for name in names:
        wanted = pa.int64() if name == "timestamp" else pa.float64()
        column = table.column(name)
        if column.type != wanted or column.null_count:
            raise DataError(
                f"{path}, column {name}: type {column.type} with {column.null_count} null(s) "
                f"(expected {wanted} without nulls); the dataset is damaged — re-import it"
            )
        out[name] = np.ascontiguousarray(column.to_numpy())
    return out


def parquet_metadata(path: Path) -> dict[str, str]:
    """Return the ``evolve.*`` key/value metadata of a Parquet file (empty for other files)."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError, ValueError):
        return {}
    raw = schema.metadata or {}
    prefix = b"evolve."
    return {
        key[len(prefix) :].decode(): value.decode()
        for key, value in raw.items()
        if key.startswith(prefix)
    }
