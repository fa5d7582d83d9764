"""Strategy lifecycle: states and evidenced moves, track records, the decay monitor."""

from __future__ import annotations

from execution.lifecycle.evidence import (
    baseline_from_returns,
    decide_deploy,
    decide_retire,
    record_checks,
    required_days,
)
from execution.lifecycle.monitor import DecayMonitor, decay_checks, replayed_equity
from execution.lifecycle.records import (
    DEMOTION,
    DEPLOY_TARGETS,
    LADDER,
    RUNNING,
    Baseline,
    Decision,
    EvidenceCheck,
    LifecycleConfig,
    TrackRecord,
)
from execution.lifecycle.store import (
    copy_history,
    current_state,
    ensure_tables,
    get_baseline,
    on_venue,
    put_baseline,
    record_transition,
    track_record,
    transitions,
)

__all__ = [
    "DEMOTION",
    "DEPLOY_TARGETS",
    "LADDER",
    "RUNNING",
    "Baseline",
    "DecayMonitor",
    "Decision",
    "EvidenceCheck",
    "LifecycleConfig",
    "TrackRecord",
    "baseline_from_returns",
    "copy_history",
    "current_state",
    "decay_checks",
    "decide_deploy",
    "decide_retire",
    "ensure_tables",
    "get_baseline",
    "on_venue",
    "put_baseline",
    "record_checks",
    "record_transition",
    "replayed_equity",
    "required_days",
    "track_record",
    "transitions",
]
