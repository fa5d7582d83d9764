"""Typed run events and their sinks: the only channel from the engine to any user interface.

The engine (``evolve/run.py``) builds event dataclasses and hands them to sinks; it never
prints. Sinks: :class:`JsonlSink` (``events.jsonl`` through ``populations.EventLog``), the Rich
or plain-text view (``evolve/progress.py``) and :class:`Recorder` (tests). Each event's JSONL
name is its ``name`` class attribute; its fields are written as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from populations import EventLog

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A new run began (after its directory, config and data were set up)."""

    name: ClassVar[str] = "run_started"
    run_id: str
    run_dir: str
    datasets: list[str]
    symbols: list[str]
    timeframe: str
    n_bars: int
    seed: int
    population: int
    n_generations: int
    workers: int
    objective_names: list[str]
    directions: list[int]
    config_hash: str


@dataclass(frozen=True, slots=True)
class Resumed:
    """A run continues from its last complete generation."""

    name: ClassVar[str] = "resumed"
    run_id: str
    run_dir: str
    from_generation: int
    n_generations: int
    workers: int
    torn_event_bytes: int
    datasets: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    timeframe: str = ""
    seed: int = 0
    population: int = 0
    objective_names: list[str] = field(default_factory=list)
    directions: list[int] = field(default_factory=list)
    from_status: str = ""
    patience: int = 0
    extended: bool = False  # the generation total or the patience changed (run.json extensions)


@dataclass(frozen=True, slots=True)
class TopMember:
    """One row of the live top-5 table (hall of fame, best first)."""

    id: str
    pretty: str
    robust_score: float
    validation_sharpe_annual: float
    validation_trades: float
    stability: float | None


@dataclass(frozen=True, slots=True)
class ParetoRow:
    """One row of the live Pareto front by complexity: the best hall-of-fame member of one
    node count, listed only when it scores better than every simpler member."""

    n_nodes: int
    robust_score: float
    max_drawdown: float
    validation_sharpe_annual: float
    pretty: str


@dataclass(frozen=True, slots=True)
class WorkersStarting:
    """The evaluator is about to start (a local Ray instance takes seconds when ``ray``)."""

    name: ClassVar[str] = "workers_starting"
    workers: int
    ray: bool


@dataclass(frozen=True, slots=True)
class GenerationCompleted:
    """A generation was evaluated, selected and checkpointed; the live view's statistics."""

    name: ClassVar[str] = "generation"
    generation: int
    n_generations: int
    elapsed_seconds: float
    generation_seconds: float
    eta_seconds: float
    n_evaluated: int
    n_new_trials: int
    n_trials: int
    evaluations_per_second: float
    objective_names: list[str]
    objective_best: list[float]
    objective_median: list[float]
    n_feasible: int
    population_size: int
    pareto_size: int
    hall_of_fame_size: int
    top: list[TopMember]
    memo_hit_rate: float
    semantic_hit_rate: float
    workers: int
    unique_structures: float
    mean_size: float
    n_immigrants: int
    validation_score: float
    best_validation_score: float
    stale_generations: int
    patience: int = 0
    busy_share: float = math.nan
    pareto: list[ParetoRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckpointWritten:
    """The checkpoint of a generation (the commit point) is on disk."""

    name: ClassVar[str] = "checkpoint"
    generation: int
    path: str
    seconds: float


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """An evaluation worker died; its chunk was resubmitted."""

    name: ClassVar[str] = "worker_failure"
    message: str


@dataclass(frozen=True, slots=True)
class EarlyStopped:
    """The hall of fame's validation score has not improved for ``patience`` generations."""

    name: ClassVar[str] = "early_stopped"
    generation: int
    patience: int
    best_validation_score: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended normally (``completed`` or ``stopped_early``)."""

    name: ClassVar[str] = "run_finished"
    run_id: str
    run_dir: str
    status: str
    generation: int
    n_trials: int
    elapsed_seconds: float
    summary_path: str


@dataclass(frozen=True, slots=True)
class RunInterrupted:
    """Ctrl-C or SIGTERM: the generation in flight was abandoned."""

    name: ClassVar[str] = "run_interrupted"
    run_id: str
    run_dir: str
    last_complete_generation: int
    message: str


@dataclass(frozen=True, slots=True)
class RunFailed:
    """An unexpected error ended the run (a bug, or the evaluator gave up)."""

    name: ClassVar[str] = "run_failed"
    run_id: str
    last_complete_generation: int
    error: str


Event = (
    RunStarted
    | Resumed
    | WorkersStarting
    | GenerationCompleted
    | CheckpointWritten
    | WorkerFailed
    | EarlyStopped
    | RunFinished
    | RunInterrupted
    | RunFailed
)


def event_fields(event: Event) -> dict[str, Any]:
    """Return the fields of ``event`` as plain JSON data (nested dataclasses as dicts)."""
    return dataclasses.asdict(event)


class EventSink(Protocol):
    """Anything that consumes engine events."""

    def emit(self, event: Event) -> None:
        """Handle one event."""

    def close(self) -> None:
        """Release resources (end of run)."""


class JsonlSink:
    """Append every event to ``events.jsonl``; fsync after checkpoint and end events."""

    _SYNC = (CheckpointWritten, RunFinished, RunInterrupted, RunFailed, Resumed)

    def __init__(self, log: EventLog) -> None:
        self.log = log

    def emit(self, event: Event) -> None:
        """Write ``event`` as one JSON line."""
        self.log.write(event.name, **event_fields(event))
        if isinstance(event, self._SYNC):
            self.log.sync()

    def close(self) -> None:
        """Flush the log to disk."""
        self.log.sync()


class Recorder:
    """Keep every event in memory (tests, and the end-of-run report)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        """Store ``event``."""
        self.events.append(event)

    def close(self) -> None:
        """Nothing to release."""

    def of_type(self, kind: type[Any]) -> list[Any]:
        """Return the recorded events of one class, in order."""
        return [event for event in self.events if isinstance(event, kind)]


def emit(sinks: Sequence[EventSink], event: Event) -> None:
    """Hand ``event`` to every sink, in order.

    A failing view must not kill a run that is writing checkpoints, so an exception from any
    sink but the ``events.jsonl`` log (:class:`JsonlSink`) is logged and swallowed.
    """
    for sink in sinks:
        try:
            sink.emit(event)
        except Exception:
            if isinstance(sink, JsonlSink):
                raise
            logger.exception("event sink %r failed on %s", sink, event.name)
