"""``evolve data`` end to end: the bad-input battery, import/ls/show, data home, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.integration.cli import run
from tests.stubs import COLUMNS, START_MS, make_bar_columns, write_csv, write_parquet_file

HOUR = 3_600_000
EVOLVE = Path(sys.executable).with_name("evolve")


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    directory = tmp_path / "inputs"
    directory.mkdir()
    return directory


def import_args(path: Path, home: Path, *extra: str) -> list[str]:
    return [
        "data",
        "import",
        str(path),
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--home",
        str(home),
        *extra,
    ]


def good_rows(n: int = 24) -> list[list[str]]:
    return [[str(START_MS + i * HOUR), "100", "101", "99", "100.5", "10"] for i in range(n)]


def csv_file(
    directory: Path, rows: list[list[str]], header: list[str] | None = None, name: str = "bars.csv"
) -> Path:
    path = directory / name
    lines = [",".join(header or COLUMNS), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def with_cell(row: int, column: str, value: str) -> list[list[str]]:
    rows = good_rows()
    rows[row - 1][COLUMNS.index(column)] = value
    return rows


def assert_nothing_stored(home: Path, workdir: Path) -> None:
    leftovers = list(home.rglob("*")) if home.exists() else []
    assert leftovers == [], f"store not empty: {leftovers}"
    assert list(workdir.iterdir()) == [], "the current directory was written"


# each case builds the bad input in a directory and returns (file to import, extra arguments,
# fragments the message must hold besides the file's path)
Case = Callable[[Path], tuple[Path, list[str], list[str]]]


def cell_case(row: int, column: str, value: str, *fragments: str) -> Case:
    return lambda directory: (csv_file(directory, with_cell(row, column, value)), [], [*fragments])


def timestamp_case(row: int, timestamp_ms: int, *fragments: str) -> Case:
    return cell_case(row, "timestamp", str(timestamp_ms), f"row {row} (line {row + 1})", *fragments)


def missing_column(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = csv_file(directory, [row[:5] for row in good_rows()], header=list(COLUMNS[:5]))
    return path, [], ["missing: volume", "expected exactly timestamp, open"]


def extra_column(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = csv_file(directory, [[*row, "7"] for row in good_rows()], header=[*COLUMNS, "trades"])
    return path, [], ["unexpected: trades"]


def empty_file(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = directory / "bars.csv"
    path.write_text("")
    return path, [], ["the file is empty"]


def truncated_parquet(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = write_parquet_file(directory / "bars.parquet", make_bar_columns(24, with_funding=False))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    return path, [], ["cannot read the Parquet file", "truncated or corrupt"]


def corrupt_parquet(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = directory / "bars.parquet"
    path.write_bytes(b"garbage, not parquet")
    return path, [], ["not a Parquet file"]


def funding_outside(directory: Path) -> tuple[Path, list[str], list[str]]:
    rows = [[str(START_MS - 8 * HOUR), "0.0001"], [str(START_MS + 8 * HOUR), "0.0001"]]
    funding = csv_file(directory, rows, header=["timestamp", "funding_rate"], name="funding.csv")
    fragments = ["funding.csv row 1 (line 2), column timestamp", "outside the bar range"]
    return csv_file(directory, good_rows()), ["--funding", str(funding)], fragments


def gap_default_error(directory: Path) -> tuple[Path, list[str], list[str]]:
    path = csv_file(directory, good_rows()[:5] + good_rows()[8:])
    return path, [], ["row 6 (line 7)", "gap", "--gaps split", "--gaps fill_flat"]


BAD_INPUTS: dict[str, Case] = {
    "missing-column": missing_column,
    "extra-column": extra_column,
    "non-numeric-cell": cell_case(3, "close", "abc", "row 3 (line 4), column close", "'abc'"),
    "nan-price": cell_case(2, "close", "nan", "row 2 (line 3), column close", "nan"),
    "inf-price": cell_case(5, "high", "inf", "row 5 (line 6), column high", "inf"),
    "non-positive-price": cell_case(4, "low", "-1", "row 4 (line 5), column low", "not positive"),
    "high-below-low": cell_case(6, "high", "98", "row 6 (line 7), columns high/low", "high < low"),
    "open-outside-range": cell_case(7, "open", "101.5", "row 7 (line 8), column open", "outside"),
    "close-outside-range": cell_case(8, "close", "98.5", "row 8 (line 9), column close", "outside"),
    "negative-volume": cell_case(9, "volume", "-0.5", "row 9 (line 10), column volume", "negative"),
    "duplicate-timestamp": timestamp_case(10, START_MS + 8 * HOUR, "duplicate"),
    "unsorted-timestamps": timestamp_case(10, START_MS + 4 * HOUR, "earlier than the row before"),
    "off-grid-timestamp": timestamp_case(11, START_MS + 10 * HOUR + 123, "off the 1h grid"),
    "naive-iso-timestamp": cell_case(
        1, "timestamp", "2024-01-01T00:00:00", "row 1 (line 2), column timestamp", "no UTC offset"
    ),
    "empty-file": empty_file,
    "truncated-parquet": truncated_parquet,
    "corrupt-parquet": corrupt_parquet,
    "funding-outside-bars": funding_outside,
    "gaps-default-error": gap_default_error,
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_data_import_when_bad_input_then_exit_2_one_line_naming_file_and_row_and_nothing_stored(
    case: str, capsys, workdir: Path, home: Path, inputs: Path
):
    path, extra, fragments = BAD_INPUTS[case](inputs)

    code, out, err = run(capsys, *import_args(path, home, *extra))

    assert code == 2, err
    assert err.startswith("evolve: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    assert str(inputs) in err, "the message names the file"
    for fragment in fragments:
        assert fragment in err
    assert_nothing_stored(home, workdir)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda d: csv_file(d, with_cell(3, "close", "abc")),
            "bars.csv row 3 (line 4), column close",
        ),
        (
            lambda d: csv_file(d, [r[:5] for r in good_rows()], header=list(COLUMNS[:5])),
            "missing: volume",
        ),
    ],
    ids=["non-numeric", "missing-column"],
)
def test_evolve_console_script_when_bad_input_then_exit_2_and_message_on_stderr(
    make, fragment, tmp_path: Path, inputs: Path
):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "EVOLVE_HOME": str(tmp_path / "envhome")}
    path = make(inputs)

    result = subprocess.run(
        [str(EVOLVE), "data", "import", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(f"evolve: error: {inputs}") and fragment in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "envhome").exists() and list(cwd.iterdir()) == []


def stored_hash(home: Path, name: str) -> str:
    return json.loads((home / "datasets" / name / "manifest.json").read_text())["content_hash"]


def test_data_import_when_same_file_twice_then_same_hash_and_second_is_a_noop(
    capsys, workdir, home, inputs
):
    path = write_csv(inputs / "btc.csv", make_bar_columns(100, seed=1))

    first = run(capsys, *import_args(path, home))
    hash_before = stored_hash(home, "local/BTCUSDT-1h")
    mtime = (home / "datasets/local/BTCUSDT-1h/manifest.json").stat().st_mtime_ns
    second = run(capsys, *import_args(path, home))

    assert first[0] == 0 and "imported local/BTCUSDT-1h: 100 bars" in first[1]
    assert hash_before in first[1]
    assert second[0] == 0 and "unchanged" in second[1]
    assert stored_hash(home, "local/BTCUSDT-1h") == hash_before
    assert (home / "datasets/local/BTCUSDT-1h/manifest.json").stat().st_mtime_ns == mtime
    assert list(workdir.iterdir()) == []


def test_data_import_when_one_value_differs_then_other_hash_and_force_needed(
    capsys, workdir, home, inputs
):
    columns = make_bar_columns(100, seed=1)
    original = write_csv(inputs / "a.csv", columns)
    columns["volume"][50] += 0.001
    changed = write_csv(inputs / "b.csv", columns)
    run(capsys, *import_args(original, home))
    hash_a = stored_hash(home, "local/BTCUSDT-1h")

    refused = run(capsys, *import_args(changed, home))
    other = run(capsys, *import_args(changed, home, "--name", "local/CHANGED-1h"))
    forced = run(capsys, *import_args(changed, home, "--force"))

    assert (
        refused[0] == 2
        and "already exists with different content" in refused[2]
        and "--force" in refused[2]
    )
    assert other[0] == 0 and stored_hash(home, "local/CHANGED-1h") != hash_a
    assert forced[0] == 0 and "replaced" in forced[1]
    assert stored_hash(home, "local/BTCUSDT-1h") == stored_hash(home, "local/CHANGED-1h")


def test_data_import_when_csv_parquet_iso_and_int_then_all_same_hash(capsys, workdir, home, inputs):
    columns = make_bar_columns(60, seed=2)
    files = [
        write_csv(inputs / "int.csv", columns),
        write_csv(inputs / "iso.csv", columns, iso_timestamps=True),
        write_parquet_file(inputs / "data.parquet", columns),
    ]

    for index, path in enumerate(files):
        assert run(capsys, *import_args(path, home, "--name", f"t/F{index}-1h"))[0] == 0

    assert len({stored_hash(home, f"t/F{index}-1h") for index in range(3)}) == 1


def test_data_import_when_gaps_split_or_fill_flat_then_recorded_in_manifest(
    capsys, workdir, home, inputs
):
    path = csv_file(inputs, good_rows()[:5] + good_rows()[8:])

    split = run(capsys, *import_args(path, home, "--gaps", "split", "--name", "g/SPLIT-1h"))
    filled = run(capsys, *import_args(path, home, "--gaps", "fill_flat", "--name", "g/FILL-1h"))

    assert split[0] == 0 and filled[0] == 0
    split_manifest = json.loads((home / "datasets/g/SPLIT-1h/manifest.json").read_text())
    fill_manifest = json.loads((home / "datasets/g/FILL-1h/manifest.json").read_text())
    assert split_manifest["n_bars"] == 21 and fill_manifest["n_bars"] == 24
    assert split_manifest["gaps"]["count"] == fill_manifest["gaps"]["count"] == 1
    assert fill_manifest["gaps"]["gaps"][0] == {
        "start": "2024-01-01T05:00:00Z",
        "end": "2024-01-01T08:00:00Z",
        "start_ms": START_MS + 5 * HOUR,
        "end_ms": START_MS + 8 * HOUR,
        "missing_bars": 3,
        "filled": True,
    }
    filled_volume = (
        pq.read_table(home / "datasets/g/FILL-1h/bars.parquet").column("volume").to_numpy()
    )
    np.testing.assert_array_equal(filled_volume[5:8], 0.0)


def test_data_import_when_funding_file_and_ccxt_symbol_then_manifest_records_both(
    capsys, workdir, home, inputs
):
    bars = csv_file(inputs, good_rows())
    funding = csv_file(
        inputs,
        [[str(START_MS + 8 * HOUR + 8), "0.0001"], [str(START_MS + 16 * HOUR), "-0.0003"]],
        header=["timestamp", "funding_rate"],
        name="funding.csv",
    )

    code, out, _ = run(
        capsys,
        "data",
        "import",
        str(bars),
        "--symbol",
        "BTC/USDT:USDT",
        "--timeframe",
        "1h",
        "--exchange",
        "binanceusdm",
        "--funding",
        str(funding),
        "--home",
        str(home),
    )

    assert code == 0 and "binanceusdm/BTCUSDT-1h" in out and "2 funding settlements" in out
    manifest = json.loads((home / "datasets/binanceusdm/BTCUSDT-1h/manifest.json").read_text())
    assert manifest["market_symbol"] == "BTC/USDT:USDT" and manifest["symbol"] == "BTCUSDT"
    assert manifest["n_funding"] == 2 and manifest["has_funding"] is True
    rates = (
        pq.read_table(home / "datasets/binanceusdm/BTCUSDT-1h/bars.parquet")
        .column("funding_rate")
        .to_numpy()
    )
    assert rates[8] == 0.0001 and rates[16] == -0.0003 and np.count_nonzero(rates) == 2


def test_data_ls_when_store_has_a_dataset_then_table_lists_it_and_bundled(
    capsys, workdir, home, inputs
):
    run(capsys, *import_args(write_csv(inputs / "b.csv", make_bar_columns(100, seed=1)), home))
    digest = stored_hash(home, "local/BTCUSDT-1h").removeprefix("sha256:")

    code, out, _ = run(capsys, "data", "ls", "--home", str(home))

    assert code == 0
    for header in ("name", "symbol", "timeframe", "first", "last", "bars", "gaps", "hash"):
        assert header in out
    row = next(line for line in out.splitlines() if "local/BTCUSDT-1h" in line)
    assert "BTCUSDT" in row and "1h" in row and "2024-01-01 00:00" in row and "100" in row
    assert digest[:12] in row and digest[:13] not in row
    assert "bundled/BTCUSDT-1h" in out and "26,304" in out and "bundled/ETHUSDT-1h" in out
    assert f"data home: {home}" in out


def test_data_ls_when_bars_parquet_truncated_then_listed_as_damaged_naming_the_file(
    capsys, workdir, home, inputs
):
    run(capsys, *import_args(write_csv(inputs / "b.csv", make_bar_columns(100, seed=1)), home))
    bars = home / "datasets/local/BTCUSDT-1h/bars.parquet"
    bars.write_bytes(bars.read_bytes()[: bars.stat().st_size // 2])

    code, out, _ = run(capsys, "data", "ls", "--home", str(home))

    assert code == 0
    row = next(
        line for line in out.splitlines() if "local/BTCUSDT-1h" in line and "damaged:" not in line
    )
    assert "damaged" in row
    assert "damaged: local/BTCUSDT-1h:" in out and "bars.parquet" in out


def test_data_show_when_bundled_then_manifest_gaps_and_first_last_rows(capsys, workdir):
    code, out, _ = run(capsys, "data", "show", "bundled/BTCUSDT-1h", "--rows", "2")

    assert code == 0
    assert "content_hash" in out and "market_symbol" in out and "BTC/USDT:USDT" in out
    assert "gaps: 0 (policy error" in out
    assert "first and last 2 of 26,304 bars" in out
    assert "2023-01-01T00:00:00Z" in out and "2023-01-01T01:00:00Z" in out
    assert "2025-12-31T23:00:00Z" in out and "2023-01-01T02:00:00Z" not in out
    assert list(workdir.iterdir()) == []


def test_data_show_when_json_then_manifest_parses(capsys, workdir):
    code, out, _ = run(capsys, "data", "show", "bundled/ETHUSDT-1h", "--json")

    assert code == 0 and json.loads(out)["name"] == "bundled/ETHUSDT-1h"


def test_data_show_when_split_gaps_then_gap_rows_listed(capsys, workdir, home, inputs):
    path = csv_file(inputs, good_rows()[:5] + good_rows()[8:])
    run(capsys, *import_args(path, home, "--gaps", "split"))

    code, out, _ = run(
        capsys, "data", "show", "local/BTCUSDT-1h", "--home", str(home), "--rows", "50"
    )

    assert code == 0 and "gaps: 1 (policy split; 3 bars missing" in out
    assert "2024-01-01T05:00:00Z" in out and "bars" in out


def test_data_show_when_unknown_dataset_then_exit_2(capsys, workdir, home):
    code, _, err = run(capsys, "data", "show", "local/NOPE-1h", "--home", str(home))

    assert code == 2 and "evolve: error: dataset 'local/NOPE-1h' is not found" in err


def test_data_home_when_evolve_home_set_then_used_and_home_flag_wins(
    capsys, workdir, tmp_path, inputs, monkeypatch
):
    env_home, flag_home = tmp_path / "envhome", tmp_path / "flaghome"
    monkeypatch.setenv("EVOLVE_HOME", str(env_home))
    path = write_csv(inputs / "b.csv", make_bar_columns(30, seed=1))
    base = ["data", "import", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h"]

    assert run(capsys, *base)[0] == 0
    assert run(capsys, *base, "--home", str(flag_home), "--name", "x/FLAG-1h")[0] == 0

    assert (env_home / "datasets/local/BTCUSDT-1h/manifest.json").is_file()
    assert (flag_home / "datasets/x/FLAG-1h/manifest.json").is_file()
    assert not (flag_home / "datasets/local").exists() and not (env_home / "datasets/x").exists()
    assert "local/BTCUSDT-1h" in run(capsys, "data", "ls")[1]
    assert list(workdir.iterdir()) == []


def test_data_home_when_nothing_configured_then_xdg_user_dir_not_cwd(
    capsys, workdir, tmp_path, inputs
):
    path = write_csv(inputs / "b.csv", make_bar_columns(30, seed=1))

    assert (
        run(capsys, "data", "import", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h")[0] == 0
    )

    assert (tmp_path / "xdg/evolve/datasets/local/BTCUSDT-1h/manifest.json").is_file()
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [[], ["data"], ["data", "import"], ["data", "fetch"], ["data", "ls"], ["data", "show"]],
    ids=["evolve", "data", "import", "fetch", "ls", "show"],
)
def test_help_when_asked_then_exit_0_with_usage_description_and_examples(argv, capsys):
    code, out, _ = run(capsys, *argv, "--help")

    assert code == 0
    assert out.startswith("usage: evolve") and "examples" in out and "options:" in out


def test_version_and_usage_errors_when_given_then_exit_0_and_2(capsys):
    assert run(capsys, "--version")[:2] == (0, "evolve 0.1.0\n")
    code, _, err = run(capsys, "data", "import", "x.csv", "--timeframe", "1h")
    assert code == 2 and "--symbol" in err
    assert run(capsys)[0] == 2 and run(capsys, "data")[0] == 2


def test_cli_when_internal_error_or_interrupt_then_exit_1_with_traceback_or_3(
    capsys, workdir, monkeypatch
):
    import fitness

    def broken(**_: object) -> None:
        raise RuntimeError("boom")

    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fitness, "list_datasets", broken)
    code, _, err = run(capsys, "data", "ls")
    assert code == 1 and "Traceback" in err and "RuntimeError: boom" in err

    monkeypatch.setattr(fitness, "list_datasets", interrupted)
    code, _, err = run(capsys, "data", "ls")
    assert code == 3 and "interrupted" in err
