"""Typed events and sinks: JSONL lines, the recorder, and sink failure isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.engine.events import (
    CheckpointWritten,
    GenerationCompleted,
    JsonlSink,
    Recorder,
    TopMember,
    WorkerFailed,
    emit,
    event_fields,
)
from populations import EventLog, read_events


def generation_event(**overrides: object) -> GenerationCompleted:
    values: dict[str, object] = {
        "generation": 2,
        "n_generations": 5,
        "elapsed_seconds": 12.5,
        "generation_seconds": 4.0,
        "eta_seconds": 12.0,
        "n_evaluated": 40,
        "n_new_trials": 35,
        "n_trials": 110,
        "evaluations_per_second": 1234.5,
        "objective_names": ["robust_score", "worst_drawdown", "complexity"],
        "objective_best": [0.75, 0.1, 4.0],
        "objective_median": [0.2, 0.3, 12.0],
        "n_feasible": 38,
        "population_size": 40,
        "pareto_size": 7,
        "hall_of_fame_size": 12,
        "top": [TopMember("abc", "long if close > SMA(close, 20)", 0.75, 1.1, 14.0, 0.9)],
        "memo_hit_rate": 0.4,
        "semantic_hit_rate": 0.1,
        "workers": 2,
        "unique_structures": 0.8,
        "mean_size": 11.5,
        "n_immigrants": 0,
        "validation_score": 1.05,
        "best_validation_score": 1.1,
        "stale_generations": 1,
    }
    values.update(overrides)
    return GenerationCompleted(**values)  # type: ignore[arg-type]


class Exploding:
    def emit(self, event: object) -> None:
        raise RuntimeError("view broke")

    def close(self) -> None:
        pass


def test_jsonl_sink_when_events_emitted_then_one_named_line_each(tmp_path: Path) -> None:
    sink = JsonlSink(EventLog(tmp_path / "events.jsonl"))

    emit([sink], generation_event())
    emit([sink], CheckpointWritten(2, "checkpoints/gen-000002.json", 0.01))
    sink.close()

    events = read_events(tmp_path / "events.jsonl")
    assert [e["event"] for e in events] == ["generation", "checkpoint"]
    assert events[0]["top"][0]["pretty"] == "long if close > SMA(close, 20)"
    assert events[0]["objective_best"] == [0.75, 0.1, 4.0]
    assert events[1]["generation"] == 2


def test_event_fields_when_nested_dataclass_then_plain_dicts() -> None:
    fields = event_fields(generation_event())

    assert fields["top"] == [
        {
            "id": "abc",
            "pretty": "long if close > SMA(close, 20)",
            "robust_score": 0.75,
            "validation_sharpe_annual": 1.1,
            "validation_trades": 14.0,
            "stability": 0.9,
        }
    ]


def test_emit_when_view_sink_fails_then_others_still_receive_it(tmp_path: Path) -> None:
    recorder = Recorder()
    log = JsonlSink(EventLog(tmp_path / "events.jsonl"))

    emit([log, Exploding(), recorder], WorkerFailed("actor 3 died"))

    assert recorder.of_type(WorkerFailed) == [WorkerFailed("actor 3 died")]
    assert read_events(tmp_path / "events.jsonl")[0]["message"] == "actor 3 died"


def test_emit_when_event_log_fails_then_error_propagates(tmp_path: Path) -> None:
    log = JsonlSink(EventLog(tmp_path / "missing-dir" / "events.jsonl"))

    with pytest.raises(OSError):
        emit([log], WorkerFailed("x"))
