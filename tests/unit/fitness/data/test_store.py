"""The store: data home, names, atomic save, manifest, listing, hash-verified loading, bundled."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fitness import (
    BarSeries,
    DataError,
    DatasetNotFoundError,
    FundingTable,
    dataset_name,
    default_home,
    list_datasets,
    load_bars,
    load_funding,
    read_dataset_info,
    save_dataset,
)
from tests.stubs import START_MS, make_bar_columns, make_bars, write_csv

HOUR = 3_600_000
NAME = "testex/SYNTHUSDT-1h"


def all_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def funding_for(series: BarSeries) -> FundingTable:
    times = series.timestamp[series.funding_rate != 0]
    return FundingTable(times, series.funding_rate[series.funding_rate != 0])


def test_dataset_name_when_ccxt_symbol_then_normalised():
    assert dataset_name("binanceusdm", "BTC/USDT:USDT", "1h") == "binanceusdm/BTCUSDT-1h"
    assert dataset_name("BinanceUSDM", "ethusdt", "5m") == "binanceusdm/ETHUSDT-5m"
    assert dataset_name("", "BTCUSDT", "1d") == "local/BTCUSDT-1d"
    with pytest.raises(DataError, match="timeframe"):
        dataset_name("x", "BTCUSDT", "2d")


def test_default_home_when_evolve_home_set_then_used_else_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EVOLVE_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"

    monkeypatch.delenv("EVOLVE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "evolve"

    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_home() == tmp_path / "user" / ".local" / "share" / "evolve"


def test_save_dataset_when_saved_then_layout_manifest_and_round_trip(tmp_path: Path):
    series = make_bars(200, seed=1, symbol="SYNTHUSDT", exchange="testex")
    funding = funding_for(series)

    info = save_dataset(
        series,
        home=tmp_path,
        name=NAME,
        funding=funding,
        source="unit test",
        extra={"market_symbol": "SYNTH/USDT:USDT"},
    )
    loaded = load_bars(NAME, home=tmp_path)

    assert all_files(tmp_path / "datasets") == [
        "testex",
        "testex/SYNTHUSDT-1h",
        "testex/SYNTHUSDT-1h/bars.parquet",
        "testex/SYNTHUSDT-1h/funding.parquet",
        "testex/SYNTHUSDT-1h/manifest.json",
    ]
    manifest = json.loads((info.path / "manifest.json").read_text())
    assert manifest["content_hash"] == series.content_hash == loaded.content_hash
    assert manifest["n_bars"] == 200 and manifest["n_funding"] == len(funding)
    assert manifest["first_timestamp"] == "2024-01-01T00:00:00Z"
    assert manifest["market_symbol"] == "SYNTH/USDT:USDT" and manifest["source"] == "unit test"
    assert manifest["gaps"] == {
        "policy": "error",
        "count": 0,
        "missing_bars": 0,
        "longest_bars": 0,
        "gaps": [],
    }
    assert (loaded.name, loaded.symbol, loaded.exchange, loaded.has_funding) == (
        NAME,
        "SYNTHUSDT",
        "testex",
        True,
    )
    stored = pq.read_table(info.path / "bars.parquet")
    assert stored.column_names == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "funding_rate",
    ]
    assert (
        pq.ParquetFile(info.path / "bars.parquet").metadata.row_group(0).column(1).compression
        == "ZSTD"
    )
    restored = load_funding(NAME, home=tmp_path)
    assert restored is not None and restored.content_hash == funding.content_hash


def test_save_dataset_when_done_then_no_temp_files_and_resave_replaces(tmp_path: Path):
    save_dataset(make_bars(50, seed=1), home=tmp_path, name=NAME, funding=None)
    save_dataset(make_bars(60, seed=2), home=tmp_path, name=NAME)

    assert not [path for path in tmp_path.rglob("*") if path.name.endswith(".tmp")]
    assert load_bars(NAME, home=tmp_path).n_bars == 60
    assert load_funding(NAME, home=tmp_path) is None


def test_save_dataset_when_write_fails_then_nothing_left_behind(tmp_path: Path, monkeypatch):
    import fitness.data.store as store

    def explode(path: Path, series: BarSeries) -> None:
        path.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(store, "_write_bars", explode)
    home = tmp_path / "home"

    with pytest.raises(OSError, match="disk full"):
        save_dataset(make_bars(10), home=home, name=NAME)

    assert not home.exists()


def test_load_bars_when_bars_replaced_without_manifest_then_torn_write_detected(tmp_path: Path):
    info = save_dataset(make_bars(50, seed=1), home=tmp_path, name=NAME)
    other = save_dataset(make_bars(50, seed=2), home=tmp_path, name="testex/OTHER-1h")
    shutil.copyfile(other.path / "bars.parquet", info.path / "bars.parquet")

    with pytest.raises(DataError, match=r"does not match the manifest.*interrupted"):
        load_bars(NAME, home=tmp_path)


def test_load_bars_when_parquet_truncated_then_data_error_names_file(tmp_path: Path):
    info = save_dataset(make_bars(50, seed=1), home=tmp_path, name=NAME)
    data = (info.path / "bars.parquet").read_bytes()
    (info.path / "bars.parquet").write_bytes(data[: len(data) // 2])

    with pytest.raises(DataError, match=r"bars.parquet: cannot read the stored Parquet file"):
        load_bars(NAME, home=tmp_path)


def test_load_funding_when_funding_file_modified_then_detected(tmp_path: Path):
    series = make_bars(50, seed=1)
    info = save_dataset(series, home=tmp_path, name=NAME, funding=funding_for(series))
    other = make_bars(50, seed=9)
    save_dataset(other, home=tmp_path, name="testex/O-1h", funding=funding_for(other))
    shutil.copyfile(
        tmp_path / "datasets/testex/O-1h/funding.parquet", info.path / "funding.parquet"
    )

    with pytest.raises(DataError, match=r"funding content hash .* does not match"):
        load_funding(NAME, home=tmp_path)


def test_read_dataset_info_when_absent_or_incomplete_then_not_found_error(tmp_path: Path):
    with pytest.raises(DatasetNotFoundError, match="not found"):
        read_dataset_info("testex/NOPE-1h", home=tmp_path)
    (tmp_path / "datasets/testex/HALF-1h").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="incomplete"):
        read_dataset_info("testex/HALF-1h", home=tmp_path)


def test_save_dataset_when_bundled_group_or_bad_name_or_contradicting_extra_then_refused(tmp_path):
    series = make_bars(10)
    with pytest.raises(DataError, match="read-only"):
        save_dataset(series, home=tmp_path, name="bundled/X-1h")
    with pytest.raises(DataError, match="not valid"):
        save_dataset(series, home=tmp_path, name="../escape")
    with pytest.raises(ValueError, match="contradicts"):
        save_dataset(series, home=tmp_path, name=NAME, extra={"n_bars": 3})
    assert not (tmp_path / "datasets").exists()


def test_save_dataset_when_funding_outside_bars_then_refused(tmp_path: Path):
    series = make_bars(10)
    funding = FundingTable(np.array([START_MS - 8 * HOUR]), np.array([0.1]))

    with pytest.raises(DataError, match="outside the bars"):
        save_dataset(series, home=tmp_path, name=NAME, funding=funding)


def test_list_datasets_when_store_has_good_and_damaged_then_both_listed_bundled_first(tmp_path):
    save_dataset(make_bars(10), home=tmp_path, name="b/TWO-1h")
    save_dataset(make_bars(10), home=tmp_path, name="a/ONE-1h")
    broken = tmp_path / "datasets/a/BROKEN-1h"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")

    names = [(info.name, bool(info.problem)) for info in list_datasets(home=tmp_path)]

    assert names == [
        ("bundled/BTCUSDT-1h", False),
        ("bundled/ETHUSDT-1h", False),
        ("a/BROKEN-1h", True),
        ("a/ONE-1h", False),
        ("b/TWO-1h", False),
    ]
    store_only = list_datasets(home=tmp_path, include_bundled=False)
    assert [info.name for info in store_only] == ["a/BROKEN-1h", "a/ONE-1h", "b/TWO-1h"]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_bundled_dataset_when_loaded_then_hash_verified_three_years_gap_free_with_funding(symbol):
    name = f"bundled/{symbol}-1h"

    series = load_bars(name)
    info = read_dataset_info(name)
    funding = load_funding(name)

    assert series.n_bars == 26_304 and series.segments == ((0, 26_304),)
    assert int(series.timestamp[0]) == 1_672_531_200_000  # 2023-01-01T00:00Z
    assert int(series.timestamp[-1]) == 1_767_222_000_000  # 2025-12-31T23:00Z
    assert info.manifest["exchange"] == "binanceusdm" and info.manifest["market_symbol"].startswith(
        symbol[:3]
    )
    assert series.has_funding and funding is not None and len(funding) == 3 * 365 * 3 + 3
    # funding settles at 00/08/16 UTC only; the aligned column holds exactly the raw rates
    assert np.all(funding.timestamp % (8 * HOUR) == 0)
    np.testing.assert_array_equal(
        series.funding_rate[series.timestamp % (8 * HOUR) == 0], funding.funding_rate
    )
    # independent recomputation of the content hash from the raw Parquet columns
    table = pq.read_table(info.path / "bars.parquet")
    digest = hashlib.sha256()
    for column in table.column_names:
        dtype = "<i8" if column == "timestamp" else "<f8"
        digest.update(
            column.encode() + b"\0" + table.column(column).to_numpy().astype(dtype).tobytes()
        )
    assert info.content_hash == "sha256:" + digest.hexdigest() == series.content_hash


def test_load_bars_when_given_plain_files_then_symbol_and_timeframe_inferred(tmp_path: Path):
    columns = make_bar_columns(30, seed=4, timeframe="5m")
    named = write_csv(tmp_path / "binance_usdm_SOLUSDT_5m.csv", columns)
    anonymous = write_csv(tmp_path / "prices.csv", columns)

    by_name, by_spacing = load_bars(named), load_bars(str(anonymous))

    assert (by_name.symbol, by_name.timeframe) == ("SOLUSDT", "5m")
    assert (by_spacing.symbol, by_spacing.timeframe) == ("prices", "5m")
    assert by_name.content_hash == by_spacing.content_hash and by_name.has_funding


def test_load_bars_when_given_dataset_directory_or_stored_bars_file_then_loaded(tmp_path: Path):
    info = save_dataset(make_bars(40, seed=5), home=tmp_path, name=NAME)

    from_dir = load_bars(info.path)
    from_file = load_bars(info.path / "bars.parquet")

    assert from_dir.content_hash == from_file.content_hash == info.content_hash
    assert from_dir.name == NAME and from_file.symbol == "SYNTHUSDT"


def test_load_bars_when_nothing_matches_then_not_found(tmp_path: Path):
    with pytest.raises(DatasetNotFoundError):
        load_bars("nowhere/NOPE-1h", home=tmp_path)
    with pytest.raises(DatasetNotFoundError):
        load_bars(tmp_path / "missing.parquet")


REPO = Path(__file__).resolve().parents[4]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the shared real data next to the repo")
def test_make_bundled_when_rerun_then_byte_identical_to_committed_bundle():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_bundled.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "bundle is up to date" in result.stdout


@pytest.mark.parametrize("damage", ["truncated", "missing", "other-length"])
def test_list_datasets_when_bars_file_damaged_then_flagged_with_manifest_kept(tmp_path, damage):
    info = save_dataset(make_bars(50, seed=1), home=tmp_path, name=NAME)
    save_dataset(make_bars(30, seed=2), home=tmp_path, name="testex/SHORT-1h")
    bars = info.path / "bars.parquet"
    if damage == "truncated":
        bars.write_bytes(bars.read_bytes()[: bars.stat().st_size // 2])
    elif damage == "missing":
        bars.unlink()
    else:
        shutil.copyfile(tmp_path / "datasets/testex/SHORT-1h/bars.parquet", bars)

    listed = {item.name: item for item in list_datasets(home=tmp_path, include_bundled=False)}

    damaged = listed[NAME]
    assert str(bars) in damaged.problem and "re-import" in damaged.problem
    assert damaged.n_bars == 50  # the manifest is still shown
    assert listed["testex/SHORT-1h"].problem == ""
    expected = {
        "truncated": "unreadable bars file",
        "missing": "missing",
        "other-length": "30 rows",
    }
    assert expected[damage] in damaged.problem


def test_list_datasets_when_funding_file_truncated_then_flagged(tmp_path: Path):
    series = make_bars(50, seed=1)
    info = save_dataset(series, home=tmp_path, name=NAME, funding=funding_for(series))
    funding = info.funding_path
    funding.write_bytes(funding.read_bytes()[:20])

    [listed] = list_datasets(home=tmp_path, include_bundled=False)

    assert "unreadable funding file" in listed.problem
