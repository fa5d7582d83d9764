"""The progress view renders what the events carry."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from evolve.cli.progress import generation_line, make_view, panel
from evolve.engine.events import (
    GenerationCompleted,
    ParetoRow,
    RunFinished,
    RunStarted,
    WorkerFailed,
    WorkersStarting,
)
from tests.unit.evolve.engine.test_events import generation_event

STARTED = RunStarted(
    run_id="20260101-000000-s0-ab12",
    run_dir="runs/20260101-000000-s0-ab12",
    datasets=["bundled/BTCUSDT-1h"],
    symbols=["BTCUSDT"],
    timeframe="1h",
    n_bars=26_304,
    seed=0,
    population=40,
    n_generations=5,
    workers=1,
    objective_names=["robust_score", "worst_drawdown", "complexity"],
    directions=[1, -1, -1],
    config_hash="f" * 64,
)


def test_generation_line_when_event_then_every_statistic_named() -> None:
    line = generation_line(generation_event())

    for part in (
        "gen 2/5",
        "elapsed 0:12",
        "eta 0:12",
        "score=0.75",
        "drawdown=0.1",
        "nodes=4",
        "pareto 7",
        "hof 12",
        "trials 110",
        "evals/s 1,234",
        "memo 40%",
        "semantic 10%",
        "workers 2",
        "unique 80%",
        "size 11.5",
    ):
        assert part in line, part
    assert "\n" not in line


def test_plain_view_when_not_a_terminal_then_one_line_per_generation() -> None:
    stream = io.StringIO()
    view = make_view(stream)

    view.emit(STARTED)
    view.emit(generation_event())
    view.emit(generation_event(generation=3))
    view.emit(WorkerFailed("worker 2 died"))
    view.close()

    text = stream.getvalue()
    assert "20260101-000000-s0-ab12" in text and "runs/20260101-000000-s0-ab12" in text
    assert text.count("gen ") == 2 and "worker 2 died" in text
    assert "\x1b[" not in text  # no terminal control codes in logs


def test_live_view_when_terminal_then_panel_with_top_table_and_clean_stop() -> None:
    stream = io.StringIO()
    view = make_view(stream, plain=False)

    view.emit(STARTED)
    view.emit(generation_event())
    view.emit(RunFinished("r", "d", "completed", 5, 100, 1.0, "d/summary.md"))

    text = stream.getvalue()
    assert "hall of fame (top 1)" in text and "SMA(close, 20)" in text
    assert "generation" in text and "2/5 (40%)" in text  # the header, not a stray "stability"
    assert view._live is None


def _full_event() -> GenerationCompleted:
    return generation_event(
        patience=15,
        busy_share=0.83,
        pareto=[
            ParetoRow(3, 0.41, 0.22, 0.9, "long if close > open"),
            ParetoRow(6, 0.75, 0.18, 1.1, "long if close > SMA(close, 20)"),
        ],
    )


@pytest.mark.parametrize("width", [100, 160])
def test_panel_when_rendered_at_fixed_width_then_every_field_present(width: int) -> None:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    header = {"run": "20260101-000000-s0-ab12", "data": "bundled/BTCUSDT-1h", "timeframe": "1h"}

    console.print(panel(_full_event(), {**header, "seed": 0}, width=width))

    text = console.export_text()
    for part in (
        "run 20260101-000000-s0-ab12",
        "bundled/BTCUSDT-1h 1h",
        "generation 2/5 (40%)",
        "elapsed 0:12",
        "eta 0:12",
        "evals/s 1,234",
        "trials 110",
        "memo hits 40%",
        "semantic cache hits 10%",
        "workers 2 (83% busy)",
        "stale generations 1/15",
        "pareto 7",
        "hall of fame 12",
        "pareto front by complexity",
        "hall of fame (top 1)",
        "drawdown",
        "val Sharpe",
        "long if close > open",
        "SMA(close, 20)",
        "robust_score",
    ):
        assert part in text, f"{part!r} missing at width {width}:\n{text}"
    assert text.startswith("run ")  # the header, not a stray column name
    front = [line for line in text.splitlines() if "long if close > open" in line]
    assert front and "0.41" in front[0] and "0.22" in front[0]


def test_panel_when_patience_off_and_busy_unknown_then_says_so() -> None:
    console = Console(width=120, file=io.StringIO(), record=True, color_system=None)

    console.print(panel(generation_event(), {}, width=120))

    text = console.export_text()
    assert "stale generations 1 (no early stop)" in text
    assert "busy" not in text


def test_view_when_ray_workers_start_then_says_so_before_first_generation() -> None:
    stream = io.StringIO()
    view = make_view(stream, plain=True)

    view.emit(STARTED)
    view.emit(WorkersStarting(2, ray=True))

    assert "starting Ray (2 workers)…" in stream.getvalue()


def test_view_when_in_process_evaluator_then_no_ray_line() -> None:
    stream = io.StringIO()
    view = make_view(stream, plain=True)

    view.emit(WorkersStarting(1, ray=False))

    assert "Ray" not in stream.getvalue()
