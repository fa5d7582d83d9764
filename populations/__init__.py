"""Persistence of evolution runs: checkpoints, lineage, hall of fame, strategy specs (layer 2).

Public API is listed in ``__all__``; anything else is private.
"""

from __future__ import annotations

from populations.checkpoint import (
    list_checkpoints,
    load_latest_checkpoint,
    read_checkpoint,
    restore_rng_states,
    rng_state_to_json,
    save_checkpoint,
)
from populations.errors import (
    CheckpointError,
    LineageLookupError,
    ResumeMismatchError,
    RunDirError,
    SpecError,
)
from populations.events import EventLog, read_events
from populations.hall_of_fame import HallOfFame, read_hall_of_fame, write_hall_of_fame
from populations.lineage import (
    LINEAGE_SCHEMA,
    OPERATORS,
    LineageIndex,
    LineageStore,
    ancestry,
    trial_matrix,
)
from populations.member import Member
from populations.run_dir import (
    FINISHED_STATUSES,
    RUN_STATUSES,
    RunDir,
    RunExtension,
    RunManifest,
    changed_config_keys,
    check_resume,
    config_digest,
    latest_run,
    list_runs,
    new_run_id,
    utc_timestamp,
)
from populations.spec import STATES, StrategySpec, load_spec, save_spec

__all__ = [
    "FINISHED_STATUSES",
    "LINEAGE_SCHEMA",
    "OPERATORS",
    "RUN_STATUSES",
    "STATES",
    "CheckpointError",
    "EventLog",
    "HallOfFame",
    "LineageIndex",
    "LineageLookupError",
    "LineageStore",
    "Member",
    "ResumeMismatchError",
    "RunDir",
    "RunDirError",
    "RunExtension",
    "RunManifest",
    "SpecError",
    "StrategySpec",
    "ancestry",
    "changed_config_keys",
    "check_resume",
    "config_digest",
    "latest_run",
    "list_checkpoints",
    "list_runs",
    "load_latest_checkpoint",
    "load_spec",
    "new_run_id",
    "read_checkpoint",
    "read_events",
    "read_hall_of_fame",
    "restore_rng_states",
    "rng_state_to_json",
    "save_checkpoint",
    "save_spec",
    "trial_matrix",
    "utc_timestamp",
    "write_hall_of_fame",
]
