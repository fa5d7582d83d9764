"""Backtest ↔ paper parity: ``evolve paper --replay`` equals ``fitness.simulate`` at every bar."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import fitness
from tests.integration.cli import run
from tests.paper_fixtures import DATASET, expected_equity, random_texts, store_dataset, write_spec

N_ACCOUNTS = 12
EQUITY = 10_000.0


def _marks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT bar_time, equity FROM equity_marks ORDER BY bar_time").fetchall()
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def _strategy_marks(path: Path, strategy: str) -> np.ndarray:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT value FROM strategy_marks WHERE strategy = ? ORDER BY bar_time", (strategy,)
        ).fetchall()
    return np.array([r[0] for r in rows])


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    scale = np.maximum(np.abs(expected), 1e-12)
    return float(np.max(np.abs(actual - expected) / scale))


def test_paper_replay_when_random_specs_then_equity_equals_simulate_at_every_bar(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    series = store_dataset(home, n_bars=1500)
    rng = np.random.default_rng(2024)
    n_specs = 0
    worst = 0.0
    for account in range(N_ACCOUNTS):
        n_strategies = 1 + account % 3
        texts = random_texts(rng, n_strategies)
        specs, paths = [], []
        for k, text in enumerate(texts):
            costs = fitness.CostModel(
                latency_bars=(account + k) % 2,
                funding=True,
                slippage_volatility_multiplier=0.5 if account % 4 == 3 else 0.0,
                leverage=1.0 + (account % 3) / 2,
            )
            path, spec = write_spec(tmp_path / f"specs{account}", text, costs)
            specs.append(spec)
            paths.append(str(path))
        weights = [float(1 + k) for k in range(n_strategies)]
        state = tmp_path / f"account{account}.sqlite"
        code, _, err = run(
            capsys,
            "paper",
            *paths,
            "--replay",
            DATASET,
            "--home",
            str(home),
            "--state",
            str(state),
            "--equity",
            str(EQUITY),
            "--weights",
            ",".join(str(w) for w in weights),
        )
        assert code == 0, err
        times, equity = _marks(state)
        assert np.array_equal(times, series.timestamp)
        expected, per_strategy = expected_equity(series, specs, weights, EQUITY)
        error = _relative_error(equity, expected)
        worst = max(worst, error)
        assert error <= 1e-9, (account, error)
        # attribution: each sub-account is its own backtest, and they sum to the account
        values = [_strategy_marks(state, spec.id) for spec in specs]
        for value, curve in zip(values, per_strategy, strict=True):
            assert _relative_error(value, curve) <= 1e-9
        assert _relative_error(np.sum(values, axis=0), equity) <= 1e-9
        n_specs += n_strategies
    assert n_specs >= 20
    print(f"parity: {n_specs} specs in {N_ACCOUNTS} accounts, max relative error {worst:.3g}")


def test_paper_replay_when_from_to_then_equals_simulate_of_the_segment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    series = store_dataset(home, n_bars=800)
    text = random_texts(np.random.default_rng(5), 1)[0]
    path, spec = write_spec(tmp_path / "specs", text, fitness.CostModel(latency_bars=1))
    start, stop = 300, 700
    from fitness.data.timeframes import iso_from_ms

    state = tmp_path / "segment.sqlite"
    code, _, err = run(
        capsys,
        "paper",
        str(path),
        "--replay",
        DATASET,
        "--home",
        str(home),
        "--from",
        iso_from_ms(int(series.timestamp[start])),
        "--to",
        iso_from_ms(int(series.timestamp[stop])),
        "--state",
        str(state),
    )
    assert code == 0, err
    times, equity = _marks(state)
    assert np.array_equal(times, series.timestamp[start:stop])
    expected, _ = expected_equity(series, [spec], [1.0], EQUITY, start, stop)
    assert _relative_error(equity, expected) <= 1e-9


def test_paper_when_restarted_after_the_end_then_nothing_is_added(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=300)
    path, _ = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    state = tmp_path / "a.sqlite"
    argv = ("paper", str(path), "--replay", DATASET, "--home", str(home), "--state", str(state))
    assert run(capsys, *argv)[0] == 0
    before = sqlite3.connect(state).execute("SELECT COUNT(*) FROM fills").fetchone()
    assert run(capsys, *argv)[0] == 0
    after = sqlite3.connect(state).execute("SELECT COUNT(*) FROM fills").fetchone()
    assert before == after


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"state": "candidate"}, "expected 'promoted'"),
        ({"pset_version": "0000"}, "primitive set"),
        ({"timeframe": "4h"}, "specs trade 4h"),
    ],
)
def test_paper_when_spec_unfit_then_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=100)
    path, _ = write_spec(
        tmp_path / "specs",
        "long_only(gt(close, sma(close, 10)))",
        fitness.CostModel(),
        **overrides,
    )
    code, _, err = run(
        capsys,
        "paper",
        str(path),
        "--replay",
        DATASET,
        "--home",
        str(home),
        "--state",
        str(tmp_path / "x.sqlite"),
    )
    assert code == 2
    assert message in err


def test_paper_when_state_holds_another_account_then_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=100)
    path, _ = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    state = tmp_path / "a.sqlite"
    base = ("paper", str(path), "--replay", DATASET, "--home", str(home), "--state", str(state))
    assert run(capsys, *base)[0] == 0
    code, _, err = run(capsys, *base, "--equity", "5000")
    assert code == 2
    assert "belongs to account" in err


def test_status_when_replayed_then_json_lists_strategy_and_equity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    home = tmp_path / "home"
    store_dataset(home, n_bars=200)
    path, spec = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    state = tmp_path / "a.sqlite"
    run(capsys, "paper", str(path), "--replay", DATASET, "--home", str(home), "--state", str(state))
    code, out, _ = run(capsys, "status", "--state", str(state), "--json")
    assert code == 0
    status = json.loads(out)
    assert status["strategies"][0]["strategy"] == spec.id
    assert status["equity"] == _marks(state)[1][-1]
    code, out, _ = run(capsys, "status", "--state", str(state))
    assert code == 0
    assert spec.id in out


class _LiveStub:
    """Just enough of a live feed for the runner to open (or refuse) an account."""

    kind = "live"

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols, self.timeframe = symbols, "1h"


def test_paper_when_replay_state_reused_for_live_bars_or_records_then_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from evolve.cli.live import track_record
    from execution.errors import PaperError
    from execution.runner import Runner, StrategyRun
    from execution.state import StateStore

    home = tmp_path / "home"
    series = store_dataset(home, n_bars=100)
    path, spec = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    state = tmp_path / "replay.sqlite"
    assert run(capsys, "paper", str(path), "--replay", DATASET, "--home", str(home),
               "--state", str(state))[0] == 0  # fmt: skip

    # a replayed record is history: it never counts toward the live gate
    assert track_record([state], spec.id) == 0
    store = StateStore(state)
    try:
        assert store.get_meta("feed") == "replay"
        strategy = StrategyRun(spec.id, spec.expression, fitness.CostModel())
        with pytest.raises(PaperError, match="replay account and this run feeds live bars"):
            Runner(store, _LiveStub((series.symbol,)), [strategy], equity=10_000.0)  # type: ignore[arg-type]
    finally:
        store.close()


def test_status_when_only_a_default_replay_state_exists_then_it_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=60)
    path, spec = write_spec(tmp_path / "specs", "long_only(gt(close, open))", fitness.CostModel())
    assert run(capsys, "paper", str(path), "--replay", DATASET, "--home", str(home))[0] == 0

    code, out, err = run(capsys, "status", "--home", str(home), "--json")

    assert code == 0, err
    assert spec.id in out


def test_paper_when_run_promoted_nothing_then_exit_2_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "promoted").mkdir(parents=True)
    (run_dir / "promotion.json").write_text("{}", "utf-8")

    for command in (("paper", str(run_dir)), ("portfolio", str(run_dir))):
        code, _, err = run(capsys, *command)
        assert code == 2 and "promoted none of the candidates" in err, err


def test_paper_replay_when_spec_judged_on_other_symbols_then_a_notice_names_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=200)
    path, spec = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    document = json.loads(path.read_text())
    document["data"]["symbols"] = ["SYNTHUSDT", "ETHUSDT"]
    path.write_text(json.dumps(document))
    argv = ("paper", str(path), "--replay", DATASET, "--home", str(home))
    code, _, err = run(capsys, *argv, "--state", str(tmp_path / "a.sqlite"))
    assert code == 0
    assert f"strategy {spec.id} was judged on SYNTHUSDT, ETHUSDT" in err
    assert "trades it on SYNTHUSDT only" in err


def test_paper_when_state_file_is_a_demo_account_then_exit_2_and_nothing_added(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store_dataset(home, n_bars=120)
    path, _ = write_spec(
        tmp_path / "specs", "long_only(gt(close, sma(close, 10)))", fitness.CostModel()
    )
    state = tmp_path / "demo.sqlite"
    argv = ("paper", str(path), "--replay", DATASET, "--home", str(home), "--state", str(state))
    assert run(capsys, *argv)[0] == 0
    with sqlite3.connect(state) as db:  # as if `evolve live --mode demo` had opened the file
        db.execute("UPDATE meta SET value = 'demo' WHERE key = 'mode'")
        before = db.execute("SELECT COUNT(*) FROM equity_marks").fetchone()

    code, _, err = run(capsys, *argv)

    assert code == 2 and "holds a demo account and this run is paper" in err
    assert sqlite3.connect(state).execute("SELECT COUNT(*) FROM equity_marks").fetchone() == before
