"""evolve backtest / primitives / runs --compare on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.cli.backtest_plot import account
from evolve.config import load_config
from evolve.engine.inputs import load_market
from fitness import evaluate
from tests.integration.cli import run

EXPRESSION = "long_only(gt(close, sma(close, 50)))"
BTC = ("--data", "bundled/BTCUSDT-1h")


def test_backtest_when_expression_then_engine_metrics_per_segment_and_symbol(capsys) -> None:
    code, out, err = run(capsys, "backtest", EXPRESSION, *BTC, "--taker-fee", "0.0004")

    assert code == 0, err
    config = load_config(
        overrides={"data.datasets": ["bundled/BTCUSDT-1h"], "costs.taker_fee": 4e-4}
    )
    expected = evaluate(EXPRESSION, load_market(config).market, config.fitness())
    assert expected.id in out and "taker fee 0.04%" in out
    for row in expected.table:
        line = next(x for x in out.splitlines() if f" {row.segment} " in x and row.symbol in x)
        assert f"{int(row.metrics['n_trades']):,}" in line
    assert "holdout" not in out.split("metrics per segment")[1].split("discovery (all")[0]
    assert "validation:" in out and "robust_score" in out


def test_backtest_when_holdout_then_holdout_rows_and_summary(capsys) -> None:
    code, out, _ = run(capsys, "backtest", EXPRESSION, *BTC, "--holdout", "--no-funding")

    assert code == 0
    assert "│ holdout" in out and "holdout: " in out and "funding off" in out


def test_backtest_when_plot_svg_then_deterministic_svg_without_date(capsys, tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"

    assert run(capsys, "backtest", EXPRESSION, *BTC, "--plot", str(first))[0] == 0
    assert run(capsys, "backtest", EXPRESSION, *BTC, "--plot", str(second))[0] == 0

    text = first.read_text("utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert "dc:date" not in text and "drawdown %" in text and "equity" in text
    assert first.read_bytes() == second.read_bytes()


def test_backtest_when_plot_png_then_png_written(capsys, tmp_path: Path) -> None:
    path = tmp_path / "chart.png"

    assert run(capsys, "backtest", EXPRESSION, *BTC, "--plot", str(path))[0] == 0

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["backtest", "long if close > 1"], "expression"),
        (["backtest", EXPRESSION, "--plot", "chart.pdf"], "--plot chart.pdf: expected"),
        (["backtest", EXPRESSION, "--slippage", "-1"], "costs.slippage"),
        (["backtest", EXPRESSION, "--data", "bundled/NOPE-1h"], "bundled/NOPE-1h"),
    ],
)
def test_backtest_when_bad_input_then_exit_2_one_line(capsys, argv, fragment) -> None:
    code, _, err = run(capsys, *argv)

    assert code == 2 and err.startswith("evolve: error:") and fragment in err
    assert err.count("\n") == 1


def test_account_when_equity_then_drawdown_from_running_peak() -> None:
    equity, drawdown = account([1.0, 1.2, 0.9, 1.5, 1.2])

    assert list(equity) == [1.0, 1.2, 0.9, 1.5, 1.2]
    assert drawdown == pytest.approx([0.0, 0.0, 0.9 / 1.2 - 1, 0.0, 1.2 / 1.5 - 1])


def test_primitives_when_listed_then_every_registry_entry_with_signature(capsys) -> None:
    from primitives import registry

    code, out, _ = run(capsys, "primitives")

    assert code == 0
    assert f"({len(registry())} of {len(registry())})" in out
    assert "sma(Price, Window) -> Price" in out and "Simple moving average" in out
    assert "Window" in out and "1 … 1000" in out


def test_primitives_when_filtered_then_only_matches_and_unknown_category_refused(capsys) -> None:
    code, out, _ = run(capsys, "primitives", "--search", "rsi")
    assert code == 0 and "rsi(Price, Window) -> Oscillator" in out and "sma(" not in out

    code, _, err = run(capsys, "primitives", "--category", "nope")
    assert code == 2 and "expected one of" in err


def _fake_run(root: Path, run_id: str, seed: int, promoted: int | None) -> None:
    import json

    from populations import RunDir, RunManifest

    run_dir = RunDir.create(root, run_id)
    run_dir.write_manifest(
        RunManifest(
            run_id=run_id,
            seed=seed,
            status="completed",
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:01:00Z",
            data=[{"name": "bundled/BTCUSDT-1h"}],
            config_hash="c" * 64,
            package_versions={},
            generation=20,
            n_generations=20,
            n_evaluated=1234 + seed,
        )
    )
    members = [
        {"objective_names": ["robust_score"], "objectives": [0.5 + seed]} for _ in range(3 + seed)
    ]
    run_dir.hall_of_fame_path.write_text(json.dumps({"members": members}), "utf-8")
    if promoted is not None:
        summary = {"n_promoted": promoted, "n_candidates": 3 + seed}
        (run_dir.path / "promotion.json").write_text(json.dumps({"summary": summary}), "utf-8")


def test_runs_compare_when_two_runs_then_side_by_side_facts(capsys, tmp_path: Path) -> None:
    _fake_run(tmp_path, "20260101-000000-s1-aaaa", 1, promoted=None)
    _fake_run(tmp_path, "20260101-000000-s2-bbbb", 2, promoted=1)

    code, out, err = run(
        capsys,
        "runs",
        "--runs-root",
        str(tmp_path),
        "--compare",
        "20260101-000000-s1-aaaa",
        str(tmp_path / "20260101-000000-s2-bbbb"),
    )

    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if "s1-aaaa" in line)
    assert "s2-bbbb" in header

    def row(name: str) -> str:
        return next(line for line in lines if line.startswith(f"│ {name} "))

    assert "1" in row("seed") and "2" in row("seed")
    assert "20/20" in row("generations") and "1,235" in row("trials") and "1,236" in row("trials")
    assert "1.5" in row("best score") and "2.5" in row("best score")
    assert "4" in row("hall of fame") and "5" in row("hall of fame")
    assert "not promoted yet" in row("promoted") and "1 of 5" in row("promoted")


def test_runs_compare_when_run_unknown_then_exit_2(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "runs", "--runs-root", str(tmp_path), "--compare", "nope")

    assert code == 2 and "nope" in err
