"""events.jsonl: one object per line, append order, torn-line repair, clear read errors."""

from __future__ import annotations

import math

import pytest

from populations import EventLog, read_events


def test_event_log_when_written_then_lines_in_order_with_event_and_time_first(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")

    log.write("run_started", run_id="r1", seed=42)
    log.write("generation", generation=0, best=math.nan, sizes=[1, 2])

    events = read_events(log.path)
    assert [event["event"] for event in events] == ["run_started", "generation"]
    assert list(events[0]) == ["event", "time", "run_id", "seed"]
    assert events[0]["time"].endswith("Z") and math.isnan(events[1]["best"])
    assert log.path.read_text().count("\n") == 2


def test_event_log_when_reserved_or_unserialisable_field_then_error_and_nothing_written(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", fsync=True)

    with pytest.raises(ValueError, match="reserved"):
        log.write("x", time="now")
    with pytest.raises(TypeError):
        log.write("x", value=object())

    assert read_events(log.path) == []


def test_event_log_repair_when_last_line_torn_then_truncated_and_appending_continues(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.write("a", n=1)
    log.write("b", n=2)
    intact = log.path.read_bytes()
    with log.path.open("ab") as handle:
        handle.write(b'{"event": "c", "ti')

    assert read_events(log.path)[-1]["event"] == "b"  # a live reader skips the torn line
    dropped = log.repair()

    assert dropped == len(b'{"event": "c", "ti')
    assert log.path.read_bytes() == intact
    assert log.repair() == 0
    log.write("resumed")
    assert [event["event"] for event in read_events(log.path)] == ["a", "b", "resumed"]


def test_event_log_repair_when_missing_or_whole_file_torn_then_handled(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    assert log.repair() == 0
    log.path.write_bytes(b'{"eve')

    assert log.repair() == 5
    assert log.path.read_bytes() == b""


def test_read_events_when_complete_line_invalid_then_error_names_file_and_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "a"}\nnot json\n{"event": "b"}\n')

    with pytest.raises(ValueError, match=r"events\.jsonl line 2: expected one JSON object"):
        read_events(path)
    path.write_text('{"event": "a"}\n[1]\n')
    with pytest.raises(ValueError, match="line 2: expected a JSON object, found list"):
        read_events(path)
    assert read_events(tmp_path / "absent.jsonl") == []
