"""``evolve data synth``: loadable synthetic datasets through the store, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fitness import load_bars, read_dataset_info
from tests.integration.cli import run
from tests.synthetic_markets import planted_edge_series, random_walk_series

DAYS = 60  # 1,440 bars per symbol: small, the generator is the planted-edge test's


def synth(capsys: pytest.CaptureFixture[str], home: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "data", "synth", "--days", str(DAYS), "--home", str(home), *extra)


def test_data_synth_when_defaults_then_planted_edge_datasets_stored_with_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = synth(capsys, tmp_path)

    assert code == 0
    for i, symbol in enumerate(("PEAUSDT", "PEBUSDT")):
        name = f"synthetic/{symbol}-1h"
        info = read_dataset_info(name, home=tmp_path)
        series = load_bars(name, home=tmp_path)  # verifies the content hash
        expected = planted_edge_series(DAYS * 24, 10 + i, symbol=symbol)
        manifest = dict(info.manifest)
        assert series.content_hash == expected.content_hash == info.content_hash
        assert (series.symbol, series.timeframe, series.n_bars) == (symbol, "1h", DAYS * 24)
        assert manifest["name"] == name and manifest["has_funding"] is True
        assert manifest["source"].startswith(f"synthetic planted trend edge, seed {10 + i} ")
        assert manifest["synthetic"] == {"kind": "trend", "seed": 10 + i, "days": DAYS}
        assert manifest["first_timestamp"] == "2023-01-01T00:00:00Z"
        assert f"stored {name}" in out and info.content_hash in out
    assert '"synthetic/PEAUSDT-1h", "synthetic/PEBUSDT-1h"' in out

    code, out, _ = run(capsys, "data", "ls", "--home", str(tmp_path))
    assert code == 0 and "synthetic/PEAUSDT-1h" in out and "synthetic/PEBUSDT-1h" in out


def test_data_synth_when_same_seed_then_same_content_hash_else_different(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    homes = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for home, seed in zip(homes, ("7", "7", "8"), strict=True):
        assert synth(capsys, home, "--seed", seed, "--symbols", "1")[0] == 0

    hashes = [read_dataset_info("synthetic/PEAUSDT-1h", home=h).content_hash for h in homes]

    assert hashes[0] == hashes[1] != hashes[2]
    first, second = (h / "datasets/synthetic/PEAUSDT-1h/bars.parquet" for h in homes[:2])
    assert first.read_bytes() == second.read_bytes()


def test_data_synth_when_random_walk_with_prefix_then_named_and_described(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = synth(capsys, tmp_path, "--kind", "random_walk", "--symbols", "3", "--name", "X1")

    assert code == 0
    for i, letter in enumerate("ABC"):
        info = read_dataset_info(f"synthetic/X1{letter}USDT-1h", home=tmp_path)
        expected = random_walk_series(DAYS * 24, 10 + i, symbol=f"X1{letter}USDT")
        assert info.content_hash == expected.content_hash
        assert info.manifest["source"].startswith(f"synthetic random walk (no edge), seed {10 + i}")


def test_data_synth_when_rerun_then_unchanged_and_other_content_needs_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert synth(capsys, tmp_path, "--symbols", "1")[0] == 0
    manifest = tmp_path / "datasets/synthetic/PEAUSDT-1h/manifest.json"
    before = manifest.read_text("utf-8")

    code, out, _ = synth(capsys, tmp_path, "--symbols", "1")
    assert code == 0 and "unchanged" in out and manifest.read_text("utf-8") == before

    code, _, err = synth(capsys, tmp_path, "--symbols", "1", "--seed", "11")
    assert code == 2 and "already exists with different content" in err and "--force" in err
    assert manifest.read_text("utf-8") == before

    assert synth(capsys, tmp_path, "--symbols", "1", "--seed", "11", "--force")[0] == 0
    assert json.loads(manifest.read_text("utf-8"))["synthetic"]["seed"] == 11


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--kind", "sine", "invalid choice"),
        ("--symbols", "0", "1..26"),
        ("--symbols", "27", "1..26"),
        ("--days", "29", ">= 30"),
        ("--days", "two", ">= 30"),
        ("--seed", "-1", ">= 0"),
        ("--name", "a/b", "letters and digits"),
    ],
)
def test_data_synth_when_bad_option_then_exit_2_naming_it_and_nothing_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, expected: str
) -> None:
    code, _, err = run(capsys, "data", "synth", option, value, "--home", str(tmp_path))

    assert code == 2 and f"argument {option}" in err and expected in err and value in err
    assert not (tmp_path / "datasets").exists()
