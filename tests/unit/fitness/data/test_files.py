"""read_bar_file / read_funding_file: CSV and Parquet import, exact row and line numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fitness import DataError, read_bar_file, read_funding_file
from tests.stubs import COLUMNS, START_MS, make_bar_columns, write_csv, write_parquet_file

HOUR = 3_600_000


def plain_columns(n: int = 48, seed: int = 0) -> dict[str, np.ndarray]:
    return make_bar_columns(n, seed, with_funding=False)


def test_read_bar_file_when_csv_and_parquet_of_same_data_then_same_hash(tmp_path: Path):
    columns = plain_columns()
    csv_series, _ = read_bar_file(
        write_csv(tmp_path / "a.csv", columns), symbol="X", timeframe="1h"
    )
    parquet_series, _ = read_bar_file(
        write_parquet_file(tmp_path / "a.parquet", columns), symbol="X", timeframe="1h"
    )

    assert csv_series.content_hash == parquet_series.content_hash
    np.testing.assert_array_equal(csv_series.close, columns["close"])


def test_read_bar_file_when_iso_timestamps_then_same_hash_as_int(tmp_path: Path):
    columns = plain_columns()
    as_int, _ = read_bar_file(write_csv(tmp_path / "i.csv", columns), symbol="X", timeframe="1h")
    as_iso, _ = read_bar_file(
        write_csv(tmp_path / "s.csv", columns, iso_timestamps=True), symbol="X", timeframe="1h"
    )

    assert as_iso.content_hash == as_int.content_hash


def test_read_bar_file_when_parquet_has_utc_timestamp_type_then_accepted_and_naive_refused(
    tmp_path: Path,
):
    columns = plain_columns(10)
    reference, _ = read_bar_file(
        write_parquet_file(tmp_path / "r.parquet", columns), symbol="X", timeframe="1h"
    )
    table = pa.table(columns)
    aware = table.set_column(
        0, "timestamp", pa.array(columns["timestamp"], pa.timestamp("ms", "UTC"))
    )
    naive = table.set_column(
        0, "timestamp", pa.array(columns["timestamp"] * 1000, pa.timestamp("us"))
    )
    pq.write_table(aware, tmp_path / "aware.parquet")
    pq.write_table(naive, tmp_path / "naive.parquet")

    series, _ = read_bar_file(tmp_path / "aware.parquet", symbol="X", timeframe="1h")

    assert series.content_hash == reference.content_hash
    with pytest.raises(DataError, match=r"naive.parquet, column timestamp: .* no time zone"):
        read_bar_file(tmp_path / "naive.parquet", symbol="X", timeframe="1h")


def test_read_bar_file_when_csv_error_then_row_and_physical_line_are_named(tmp_path: Path):
    path = tmp_path / "bad.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{START_MS + i * HOUR},10,11,9,10,1" for i in range(3)]
    lines.insert(2, "")  # a blank line is skipped but still counts as a line of the file
    lines.append(f"{START_MS + 3 * HOUR},10,11,9,x10,1")
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(DataError) as caught:
        read_bar_file(path, symbol="X", timeframe="1h")

    assert str(caught.value).startswith(
        f"{path} row 4 (line 6), column close: 'x10' is not a number"
    )


def test_read_bar_file_when_row_has_wrong_field_count_then_error_names_line(tmp_path: Path):
    path = tmp_path / "short.csv"
    path.write_text(f"timestamp,open,high,low,close,volume\n{START_MS},10,11,9,10\n")

    with pytest.raises(DataError, match=r"short.csv row 1 \(line 2\): 5 field\(s\) \(expected 6"):
        read_bar_file(path, symbol="X", timeframe="1h")


def test_read_bar_file_when_funding_column_present_then_used_as_aligned_rates(tmp_path: Path):
    columns = make_bar_columns(30, seed=2, with_funding=True)

    series, funding = read_bar_file(
        write_csv(tmp_path / "f.csv", columns), symbol="X", timeframe="1h"
    )

    assert series.has_funding and funding is None
    np.testing.assert_array_equal(series.funding_rate, columns["funding_rate"])


def test_read_bar_file_when_funding_file_then_aligned_and_raw_table_returned(tmp_path: Path):
    columns = plain_columns(24)
    funding_path = write_csv(
        tmp_path / "funding.csv",
        {
            "timestamp": [START_MS + 8 * HOUR + 8, START_MS + 16 * HOUR],
            "funding_rate": [0.0001, -0.0002],
        },
    )

    series, funding = read_bar_file(
        write_csv(tmp_path / "b.csv", columns),
        symbol="X",
        timeframe="1h",
        funding_path=funding_path,
    )

    assert funding is not None and list(funding.timestamp) == [
        START_MS + 8 * HOUR + 8,
        START_MS + 16 * HOUR,
    ]
    assert series.has_funding
    assert series.funding_rate[8] == 0.0001 and series.funding_rate[16] == -0.0002
    assert np.count_nonzero(series.funding_rate) == 2


def test_read_bar_file_when_funding_column_and_file_both_given_then_error(tmp_path: Path):
    bars_path = write_csv(tmp_path / "b.csv", make_bar_columns(24, seed=0))
    funding_path = write_csv(tmp_path / "f.csv", {"timestamp": [START_MS], "funding_rate": [0.1]})

    with pytest.raises(DataError, match="funding given twice"):
        read_bar_file(bars_path, symbol="X", timeframe="1h", funding_path=funding_path)


def test_read_funding_file_when_columns_wrong_then_error_lists_both_sets(tmp_path: Path):
    path = write_csv(tmp_path / "f.csv", {"time": [START_MS], "rate": [0.1]})

    with pytest.raises(DataError) as caught:
        read_funding_file(path)

    message = str(caught.value)
    assert "missing: timestamp, funding_rate" in message and "unexpected: time, rate" in message


def test_read_bar_file_when_header_only_or_not_utf8_then_clear_error(tmp_path: Path):
    header_only = tmp_path / "h.csv"
    header_only.write_text(",".join(COLUMNS) + "\n")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"timestamp,open\n\xff\xfe\x00")

    with pytest.raises(DataError, match=r"h.csv: no data rows"):
        read_bar_file(header_only, symbol="X", timeframe="1h")
    with pytest.raises(DataError, match=r"b.csv: not UTF-8 text"):
        read_bar_file(binary, symbol="X", timeframe="1h")


def test_read_bar_file_when_parquet_has_null_then_error_names_row(tmp_path: Path):
    columns = {name: list(values) for name, values in plain_columns(5).items()}
    columns["volume"][3] = None
    pq.write_table(pa.table(columns), tmp_path / "n.parquet")

    with pytest.raises(DataError, match=r"n.parquet row 4, column volume: the cell is empty"):
        read_bar_file(tmp_path / "n.parquet", symbol="X", timeframe="1h")


def test_read_bar_file_when_missing_path_then_data_error(tmp_path: Path):
    with pytest.raises(DataError, match=r"nope.csv: the file does not exist"):
        read_bar_file(tmp_path / "nope.csv", symbol="X", timeframe="1h")


def test_read_bar_file_when_fast_path_validates_a_bad_value_then_exact_line_still_reported(
    tmp_path: Path,
):
    path = tmp_path / "blank-lines.csv"
    rows = [f"{START_MS + i * HOUR},10,11,9,10,1" for i in range(4)]
    rows[2] = f"{START_MS + 2 * HOUR},10,11,9,nan,1"  # parses as a number, fails validation
    path.write_text("timestamp,open,high,low,close,volume\n\n" + "\n\n".join(rows) + "\n")

    with pytest.raises(DataError) as caught:
        read_bar_file(path, symbol="X", timeframe="1h")

    assert str(caught.value).startswith(f"{path} row 3 (line 7), column close: value is nan")


def test_read_bar_file_when_awkward_decimals_then_fast_and_exact_readers_agree(tmp_path: Path):
    from fitness.data.files import read_columns
    from fitness.data.series import series_from_columns

    path = tmp_path / "decimals.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    values = ["0.1", "1e-7", "123456789.123456789", "0.30000000000000004", "5", " 2.5"]
    for index, value in enumerate(values):
        lines.append(f"{START_MS + index * HOUR},{value},{value},{value},{value},{value}")
    path.write_text("\n".join(lines) + "\n")

    hashes = set()
    for fast in (True, False):
        columns, locator = read_columns(path, COLUMNS, ("funding_rate",), fast=fast)
        assert locator.exact is not fast
        hashes.add(series_from_columns(columns, symbol="X", timeframe="1h").content_hash)

    assert len(hashes) == 1


def test_read_bar_file_when_csv_close_outside_range_then_plain_numbers_in_message(tmp_path):
    path = tmp_path / "bad.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{START_MS + i * HOUR},1.5,2,1,1.5,1" for i in range(3)]
    lines.append(f"{START_MS + 3 * HOUR},1.5,2,1,3,1")
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(DataError) as caught:
        read_bar_file(path, symbol="X", timeframe="1h")

    message = str(caught.value)
    assert "column close: close 3.0 is outside [low, high] = [1.0, 2.0]" in message
    assert "np." not in message and "float64" not in message
