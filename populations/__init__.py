"""Persistence of evolution runs: checkpoints, lineage, hall of fame, strategy specs (layer 2)."""

from __future__ import annotations

from populations.errors import CheckpointError, ResumeMismatchError

__all__ = ["CheckpointError", "ResumeMismatchError"]
