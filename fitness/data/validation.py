"""The one validation of bar and funding columns (DESIGN §1), shared by every way data comes in.

Row numbering in every message: ``row N`` is the 1-based position of the data row (the first bar
is row 1, a header is not counted). Messages about CSV files add ``(line L)``, the physical line
of the file (the header is line 1); messages about in-memory arrays add ``(index i)``, 0-based.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fitness.data.timeframes import iso_from_ms, parse_timestamp_text
from fitness.errors import DataError
from primitives.arrays import Float64Array, Int64Array

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
BAR_COLUMNS = ("timestamp", *VALUE_COLUMNS, "funding_rate")
"""Canonical column order: the order of the content hash and of every stored file."""


@dataclass(frozen=True, slots=True)
class RowLocator:
    """Turn a 0-based row index into the ``<source> row N (line L)`` text of error messages.

    ``exact`` is False for CSV read by the fast (pyarrow) path, whose line numbers are unknown:
    a failure there is re-read with the exact reader before it is reported.
    """

    source: str = "<arrays>"
    lines: Int64Array | None = None
    exact: bool = True

    def row(self, index: int) -> str:
        text = f"{self.source} row {index + 1}"
        if self.lines is not None:
            return f"{text} (line {int(self.lines[index])})"
        if self.source.startswith("<"):
            return f"{text} (index {index})"
        return text


def plain(value: object) -> str:
    """Return a number as people write it (``3.0``, ``nan``), not ``np.float64(3.0)``.

    NumPy 2 scalars repr as ``np.float64(3.0)``; ``float``'s repr is the shortest text that
    reads back to the same value, so a message still names the exact cell content.
    """
    try:
        # ignore[arg-type] below: any cell value; float() raises on a non-number, caught below
        return repr(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)


def first_true(mask: np.ndarray) -> int:
    """Return the index of the first True in ``mask``, or -1 when there is none."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else -1


def _cell(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def coerce_timestamps(values: object, locator: RowLocator) -> Int64Array:
    """Return ``values`` as int64 ms: integers, integral floats, datetime64 or text cells.

    Raises
    ------
    DataError
        Naming the first row whose cell is not an integer ms timestamp or ISO-8601 with offset.
    """
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind in "iu":
        return np.ascontiguousarray(array, dtype=np.int64)
    if kind == "f":
        bad = first_true(~np.isfinite(array) | (array != np.round(array)))
        if bad >= 0:
            raise DataError(
                f"{locator.row(bad)}, column timestamp: {_cell(array[bad])} is not an integer "
                "millisecond timestamp; write bar open times as integer ms since the epoch (UTC)"
            )
        return np.ascontiguousarray(array, dtype=np.int64)
    if kind == "M":
        # numpy datetime64 carries no zone; by numpy's convention it is UTC
        return np.ascontiguousarray(array.astype("datetime64[ms]").astype(np.int64))
    if kind in "OUS":
        return _parse_timestamp_cells(array, locator)
    raise DataError(
        f"{locator.source}, column timestamp: dtype {array.dtype} cannot hold timestamps "
        "(expected int64 ms since the epoch or ISO-8601 text); convert the column"
    )


def _parse_timestamp_cells(array: np.ndarray, locator: RowLocator) -> Int64Array:
    if array.dtype.kind in "US":
        try:  # fast path: a column of integer text
            return np.ascontiguousarray(array.astype(np.int64))
        except (ValueError, OverflowError):
            pass
    out = np.empty(array.shape[0], dtype=np.int64)
    for index, cell in enumerate(array.tolist()):
        if isinstance(cell, bytes):
            cell = cell.decode("utf-8", "replace")
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
            out[index] = int(cell)
            continue
        reason = "the cell is empty"
        if isinstance(cell, str) and cell.strip():
            try:
                out[index] = parse_timestamp_text(cell)
                continue
            except ValueError as e:
                reason = str(e)
        elif cell is not None and not isinstance(cell, str):
            reason = f"{_cell(cell)} is not a timestamp"
        raise DataError(
            f"{locator.row(index)}, column timestamp: {reason} (expected integer ms since the "
            "epoch or ISO-8601 with an offset, e.g. 2024-01-01T00:00:00Z); fix the cell"
        )
    return out


def coerce_floats(values: object, column: str, locator: RowLocator) -> Float64Array:
    """Return ``values`` as a contiguous float64 array (NaN/inf are checked separately).

    Raises
    ------
    DataError
        Naming the first row whose cell is empty or not a number.
    """
    array = np.asarray(values)
    if array.dtype.kind in "iuf":
        return np.ascontiguousarray(array, dtype=np.float64)
    if array.dtype.kind in "US":
        try:
            return np.ascontiguousarray(array.astype(np.float64))
        except ValueError:
            pass
    if array.dtype.kind not in "OUS":
        raise DataError(
            f"{locator.source}, column {column}: dtype {array.dtype} is not numeric "
            "(expected float64 numbers); convert the column"
        )
    out = np.empty(array.shape[0], dtype=np.float64)
    for index, cell in enumerate(array.tolist()):
        try:
            if isinstance(cell, (str, bytes)) and not cell.strip():
                raise ValueError
            if isinstance(cell, bool):
                raise TypeError
            out[index] = float(cell)
        except (TypeError, ValueError):
            found = "the cell is empty" if cell is None or not str(cell).strip() else None
            found = found or f"{_cell(cell)} is not a number"
            raise DataError(
                f"{locator.row(index)}, column {column}: {found} (expected a decimal number); "
                "fix or drop the row in the source data"
            ) from None
    return out


def check_values(columns: Mapping[str, Float64Array], locator: RowLocator) -> None:
    """Check finite prices/volume/funding, prices > 0, the OHLC envelope and volume >= 0.

    Raises
    ------
    DataError
        For the first violation, in the order: non-finite, non-positive price, high < low,
        open/close outside [low, high], negative volume.
    """
    names = [*VALUE_COLUMNS, *(["funding_rate"] if "funding_rate" in columns else [])]
    for column in names:
        bad = first_true(~np.isfinite(columns[column]))
        if bad >= 0:
            what = "a funding rate" if column == "funding_rate" else "a finite number"
            raise DataError(
                f"{locator.row(bad)}, column {column}: value is {plain(columns[column][bad])} "
                f"(expected {what}); fix or drop the row in the source data"
            )
    for column in PRICE_COLUMNS:
        bad = first_true(columns[column] <= 0.0)
        if bad >= 0:
            raise DataError(
                f"{locator.row(bad)}, column {column}: price {plain(columns[column][bad])} is not "
                "positive (expected a price > 0); fix or drop the row in the source data"
            )
    high, low = columns["high"], columns["low"]
    bad = first_true(high < low)
    if bad >= 0:
        raise DataError(
            f"{locator.row(bad)}, columns high/low: high < low (high {plain(high[bad])}, low "
            f"{plain(low[bad])}; expected high >= low); the columns may be swapped — fix the source"
        )
    for column in ("open", "close"):
        values = columns[column]
        bad = first_true((values < low) | (values > high))
        if bad >= 0:
            raise DataError(
                f"{locator.row(bad)}, column {column}: {column} {plain(values[bad])} is "
                f"outside [low, high] = [{plain(low[bad])}, {plain(high[bad])}] (expected "
                f"low <= {column} <= high); fix the row in the source data"
            )
    bad = first_true(columns["volume"] < 0.0)
    if bad >= 0:
        raise DataError(
            f"{locator.row(bad)}, column volume: volume {plain(columns['volume'][bad])} is "
            "negative (expected >= 0); fix or drop the row in the source data"
        )


def check_increasing(timestamp: Int64Array, locator: RowLocator, what: str = "timestamp") -> None:
    """Check ``timestamp`` is strictly increasing, telling duplicates from disorder.

    Raises
    ------
    DataError
        Naming the first row that repeats or precedes the row before it.
    """
    steps = np.diff(timestamp)
    bad = first_true(steps <= 0)
    if bad < 0:
        return
    row, previous = bad + 1, int(timestamp[bad])
    current = int(timestamp[row])
    if current == previous:
        raise DataError(
            f"{locator.row(row)}, column timestamp: duplicate {what} {current} "
            f"({iso_from_ms(current)}), the same as the row before (expected each {what} "
            "once); remove the duplicate rows"
        )
    raise DataError(
        f"{locator.row(row)}, column timestamp: {what} {current} ({iso_from_ms(current)}) is "
        f"earlier than the row before ({iso_from_ms(previous)}) (expected strictly increasing "
        "timestamps); sort the file by timestamp"
    )


def check_grid(
    timestamp: Int64Array, timeframe: str, timeframe_ms: int, locator: RowLocator
) -> None:
    """Check every bar opens on the ``timeframe`` grid (a multiple of ``timeframe_ms``).

    Raises
    ------
    DataError
        Naming the first off-grid row and how far past the grid it is.
    """
    offset = np.mod(timestamp, timeframe_ms)
    bad = first_true(offset != 0)
    if bad >= 0:
        value = int(timestamp[bad])
        raise DataError(
            f"{locator.row(bad)}, column timestamp: timestamp {value} ({iso_from_ms(value)}) "
            f"is off the {timeframe} grid (expected a multiple of {timeframe_ms} ms, was "
            f"{int(offset[bad])} ms past); timestamps must be bar open times — re-export the "
            "data or check --timeframe"
        )


def check_funding(
    timestamp: object, funding_rate: object, locator: RowLocator
) -> tuple[Int64Array, Float64Array]:
    """Validate a raw funding table: equal lengths, numbers, finite rates, strictly increasing.

    Returns
    -------
    (timestamp, funding_rate) : int64 ms and float64 arrays, shape (n_settlements,)
    """
    times = coerce_timestamps(timestamp, locator)
    rates = coerce_floats(funding_rate, "funding_rate", locator)
    if times.ndim != 1 or rates.ndim != 1 or times.shape != rates.shape:
        raise DataError(
            f"{locator.source}: funding columns differ in shape (timestamp {times.shape}, "
            f"funding_rate {rates.shape}; expected two 1-D arrays of one length)"
        )
    bad = first_true(~np.isfinite(rates))
    if bad >= 0:
        raise DataError(
            f"{locator.row(bad)}, column funding_rate: value is {plain(rates[bad])} (expected "
            "a finite funding rate); fix or drop the row"
        )
    check_increasing(times, locator, what="settlement time")
    return times, rates + 0.0  # + 0.0 turns -0.0 into 0.0, so equal data hash equally
