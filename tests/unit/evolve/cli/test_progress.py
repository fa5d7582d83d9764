"""The progress view renders what the events carry."""

from __future__ import annotations

import io

from evolve.cli.progress import generation_line, make_view
from evolve.engine.events import RunFinished, RunStarted, WorkerFailed
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
    assert "hall of fame (top 5)" in text and "SMA(close, 20)" in text
    assert view._live is None


def test_live_view_when_generation_then_panel_shows_the_run_header() -> None:
    # regression: the top table's column loop once rebound ``header``, so the panel showed
    # the word "stability" where the run/generation header belonged
    stream = io.StringIO()
    view = make_view(stream, plain=False)

    view.emit(STARTED)
    view.emit(generation_event())
    view.close()

    text = stream.getvalue()
    assert "generations without improvement" in text and "20260101-000000-s0-ab12" in text
