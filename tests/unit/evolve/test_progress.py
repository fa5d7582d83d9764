"""The progress view and the end-of-run report render what the events carry."""

from __future__ import annotations

import io
import math
from pathlib import Path

from evolve.events import RunFinished, RunStarted, WorkerFailed
from evolve.progress import (
    format_number,
    format_seconds,
    format_stability,
    generation_line,
    make_view,
)
from evolve.report import RunSummary, summary_markdown, write_summary
from tests.unit.evolve.test_events import generation_event
from tests.unit.populations.helpers import make_spec

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


def test_format_helpers_when_values_then_compact_text() -> None:
    assert format_seconds(75) == "1:15" and format_seconds(3725) == "1:02:05"
    assert format_seconds(math.nan) == "-"
    assert format_number(1234.5) == "1,234" and format_number(0.012345) == "0.0123"
    assert format_number(2.5) == "2.5" and format_number(math.nan) == "-"
    assert format_stability(None) == "-" and format_stability(-1.0) == "-1"


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


def test_summary_markdown_when_members_then_facts_and_table(tmp_path: Path) -> None:
    summary = RunSummary(
        run_id="r1",
        run_dir=str(tmp_path),
        status="completed",
        datasets=["bundled/BTCUSDT-1h"],
        timeframe="1h",
        seed=3,
        generation=5,
        n_generations=5,
        n_trials=321,
        elapsed_seconds=65.0,
        objective_names=["robust_score", "max_drawdown", "n_nodes"],
        members=[make_spec("a" * 16), make_spec("b" * 16, stability=None)],
        last=generation_event(),
    )

    write_summary(tmp_path / "summary.md", summary)

    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("# Run r1")
    assert "**distinct individuals evaluated (trials)**: 321" in text
    assert "| 1 | aaaaaaaaaaaaaaaa | 0.812 | 0.25 | 9 | 1.25 | 0.9 | 11 | 0.85 |" in text
    assert "| 2 | bbbbbbbbbbbbbbbb |" in text and text == summary_markdown(summary)
