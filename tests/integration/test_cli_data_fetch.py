"""`evolve data fetch` argument parsing and date handling (the download: test_fetch.py), and
that importing the CLI pulls in neither ccxt nor Ray."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from tests.integration.cli import run

HOUR = 3_600_000


@pytest.fixture
def fake_fetch(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Stand in for execution.exchange.fetch (our own module, not ccxt) and record the call."""
    import execution.errors as errors

    calls: dict[str, object] = {}

    def fetch_dataset(**kwargs: object) -> object:
        calls.update(kwargs)
        if kwargs["symbol"] == "BAD/SYM":
            raise errors.ExchangeInputError("binanceusdm does not have market symbol BAD/SYM")
        if kwargs["symbol"] == "DOWN/SYM":
            raise errors.ExchangeError("binanceusdm unreachable after 5 attempts")
        progress = types.SimpleNamespace(
            kind="ohlcv",
            since_ms=kwargs["since_ms"],
            until_ms=kwargs["since_ms"] + 10 * HOUR,
            fetched_until_ms=kwargs["since_ms"] + 5 * HOUR,
            n_rows=5,
        )
        kwargs["on_progress"](progress)  # type: ignore[operator]
        from fitness import read_dataset_info

        return read_dataset_info("bundled/BTCUSDT-1h")

    module = types.ModuleType("execution.exchange.fetch")
    module.fetch_dataset = fetch_dataset  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "execution.exchange.fetch", module)
    return calls


def test_data_fetch_when_dates_given_then_parsed_as_utc_and_passed_through(
    capsys, workdir, home, fake_fetch
):
    code, out, err = run(
        capsys,
        "data",
        "fetch",
        "--symbol",
        "BTC/USDT:USDT",
        "--timeframe",
        "1h",
        "--since",
        "2024-01-01",
        "--until",
        "2024-02-01T12:00+02:00",
        "--home",
        str(home),
        "--gaps",
        "split",
    )

    assert code == 0, err
    assert fake_fetch["exchange_id"] == "binanceusdm" and fake_fetch["symbol"] == "BTC/USDT:USDT"
    assert fake_fetch["since_ms"] == 1_704_067_200_000
    assert fake_fetch["until_ms"] == 1_706_781_600_000  # 2024-02-01T10:00Z
    assert (
        fake_fetch["home"] == home and fake_fetch["name"] is None and fake_fetch["gaps"] == "split"
    )
    assert (
        "ohlcv: 5 rows, up to 2024-01-01 05:00 (50.0%)" in out
        and "fetched bundled/BTCUSDT-1h" in out
    )


def test_data_fetch_when_no_until_then_none(capsys, workdir, home, fake_fetch):
    argv = [
        "data",
        "fetch",
        "--symbol",
        "ETH/USDT:USDT",
        "--timeframe",
        "5m",
        "--since",
        "2024-03-01T06:30",
    ]

    assert run(capsys, *argv, "--home", str(home))[0] == 0

    assert fake_fetch["until_ms"] is None and fake_fetch["since_ms"] == 1_709_274_600_000


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["--since", "2024-02-01", "--until", "2024-01-01"], "is not after --since"),
        (["--since", "2024-01-01", "--timeframe", "7m"], "timeframe '7m' is not supported"),
    ],
    ids=["bad-date", "until-before-since", "bad-timeframe"],
)
def test_data_fetch_when_bad_arguments_then_exit_2_before_any_download(
    extra, fragment, capsys, workdir, home, fake_fetch
):
    argv = [
        "data",
        "fetch",
        "--symbol",
        "BTC/USDT:USDT",
        "--timeframe",
        "1h",
        "--home",
        str(home),
        *extra,
    ]

    code, _, err = run(capsys, *argv)

    assert code == 2 and fragment in err and fake_fetch == {}


def test_data_fetch_when_exchange_errors_then_input_exits_2_and_network_exits_1(
    capsys, workdir, home, fake_fetch
):
    base = [
        "data",
        "fetch",
        "--timeframe",
        "1h",
        "--since",
        "2024-01-01",
        "--home",
        str(home),
        "--symbol",
    ]

    bad = run(capsys, *base, "BAD/SYM")
    down = run(capsys, *base, "DOWN/SYM")

    assert (
        bad[0] == 2 and "evolve: error: binanceusdm does not have market symbol BAD/SYM" in bad[2]
    )
    assert (
        down[0] == 1
        and down[2].count("\n") == 1
        and "unreachable" in down[2]
        and "Traceback" not in down[2]
    )


def test_cli_import_when_loaded_then_no_execution_ccxt_or_ray_until_a_command_needs_them():
    code = (
        "import sys, evolve.cli.app; "
        "print(sorted(m for m in ('ccxt', 'ray', 'execution') if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )

    assert result.stdout.strip() == "[]"
