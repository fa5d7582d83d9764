"""The ``events.jsonl`` writer and reader: one JSON object per line, appended and flushed.

Each line is ``{"event": name, "time": ISO-8601 UTC, <fields>...}``; the typed events are
defined by the engine. Non-finite floats are written as ``NaN``/``Infinity`` (Python's
``json`` reads them back). A line is written with a single ``write`` on an ``O_APPEND``
descriptor, so a crash can tear only the last line; :meth:`EventLog.repair` removes it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class EventLog:
    """Append-only structured log of a run.

    Parameters
    ----------
    path : Path
        The ``events.jsonl`` file (created on the first write).
    fsync : bool
        fsync after every write (durable, slower); otherwise only :meth:`sync` fsyncs.
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def write(self, event: str, **fields: object) -> None:
        """Append one event line and flush it to the OS.

        Parameters
        ----------
        event : str
            Event name, e.g. ``"generation"``, ``"checkpoint"``, ``"worker_failure"``.
        **fields
            JSON-serialisable values; the names ``event`` and ``time`` are reserved.

        Raises
        ------
        TypeError
            When a field value is not JSON-serialisable (nothing is written then).
        """
        if not event:
            raise ValueError("event: expected a non-empty event name")
        if "time" in fields:
            raise ValueError("fields: 'event' and 'time' are reserved, found a field named 'time'")
        record: dict[str, object] = {"event": event, "time": _utc_now(), **fields}
        line = json.dumps(record, allow_nan=True, ensure_ascii=True) + "\n"
        data = line.encode("ascii")
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(data):
                written += os.write(descriptor, data[written:])
            if self.fsync:
                os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def sync(self) -> None:
        """fsync the log file (e.g. after a checkpoint event)."""
        if not self.path.exists():
            return
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def repair(self) -> int:
        """Truncate a torn last line (one without its newline); return the bytes dropped.

        Call it on resume before writing: events after the torn line then start on a line of
        their own. A missing file needs no repair (0).
        """
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        with self.path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        return len(data) - keep


def read_events(path: Path) -> list[dict[str, object]]:
    """Return the events of ``events.jsonl`` in file order (``[]`` if the file is missing).

    A torn last line (no newline, not valid JSON: a crash mid-write, or a live run being
    written) is ignored.

    Raises
    ------
    ValueError
        Naming the file and line number of a complete line that is not a JSON object.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text("utf-8")
    lines = text.split("\n")
    events: list[dict[str, object]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        is_last = number == len(lines)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if is_last:  # the unterminated last line may still be being written
                break
            raise ValueError(
                f"{path} line {number}: expected one JSON object per line, found invalid JSON "
                f"({e.msg} at column {e.colno}); delete or fix the line"
            ) from e
        if not isinstance(record, dict):
            raise ValueError(
                f"{path} line {number}: expected a JSON object, found {type(record).__name__}"
            )
        events.append(record)
    return events
