"""``evolve run`` refuses funding on daily bars (DESIGN §2 step 1): exit 2 naming the timeframe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evolve.cli.app import main
from fitness import BarSeries
from tests.synthetic_markets import write_bar_file

DAY_MS = 86_400_000
CONFIG = """\
[data]
datasets = ["{path}"]

[folds]
n_discovery_folds = 2

[gp]
population = 8
generations = 1

[run]
seed = 1
workers = 1
{extra}"""


def _daily_series(n_bars: int) -> BarSeries:
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return BarSeries.from_arrays(
        1_577_836_800_000 + np.arange(n_bars, dtype=np.int64) * DAY_MS,  # from 2020-01-01
        open_,
        np.maximum(open_, close) * 1.002,
        np.minimum(open_, close) * 0.998,
        close,
        np.ones(n_bars),
        rng.normal(1e-4, 1e-4, n_bars),  # three 8-hourly settlements summed per day
        symbol="DAYUSDT",
        timeframe="1d",
    )


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str) -> tuple[int, str]:
    path = write_bar_file(tmp_path, _daily_series(1_200))
    config = tmp_path / "daily.toml"
    config.write_text(CONFIG.format(path=path.as_posix(), extra=extra), "utf-8")
    code = main(["run", "--config", str(config), "--runs-root", str(tmp_path / "runs")])
    return code, capsys.readouterr().err


def test_run_when_daily_bars_with_funding_then_exit_2_naming_the_timeframe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, capsys, "")

    assert code == 2
    assert "funding on 1d bars is not supported" in err and "funding = false" in err
    assert "Traceback" not in err


def test_run_when_daily_bars_with_funding_off_then_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, capsys, "\n[costs]\nfunding = false\n")

    assert code == 0, err
