"""The end-of-run summary: number formats and summary.md."""

from __future__ import annotations

import math
from pathlib import Path

from evolve.engine.summary import (
    RunSummary,
    format_number,
    format_seconds,
    format_stability,
    summary_markdown,
    write_summary,
)
from tests.unit.populations.helpers import make_spec


def test_format_helpers_when_values_then_compact_text() -> None:
    assert format_seconds(75) == "1:15" and format_seconds(3725) == "1:02:05"
    assert format_seconds(math.nan) == "-"
    assert format_number(1234.5) == "1,234" and format_number(0.012345) == "0.0123"
    assert format_number(2.5) == "2.5" and format_number(math.nan) == "-"
    assert format_stability(None) == "-" and format_stability(-1.0) == "-1"


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
        pareto_size=7,
        best_validation_score=1.25,
    )

    write_summary(tmp_path / "summary.md", summary)

    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("# Run r1")
    assert "**distinct individuals evaluated (trials)**: 321" in text
    assert "**elapsed**: 1:05" in text and "**Pareto front (population)**: 7" in text
    assert "**best validation score (top-5 mean Sharpe)**: 1.25" in text
    assert "| 1 | aaaaaaaaaaaaaaaa | 0.812 | 0.25 | 9 | 1.25 | 0.9 | 11 | 0.85 |" in text
    assert "| 2 | bbbbbbbbbbbbbbbb |" in text and text == summary_markdown(summary)
