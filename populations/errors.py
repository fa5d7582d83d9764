"""Errors raised by the persistence layer."""

from __future__ import annotations


class CheckpointError(RuntimeError):
    """A checkpoint or run directory cannot be read or written."""


class ResumeMismatchError(CheckpointError, ValueError):
    """Resume refused: data content hash or a result-affecting config value changed."""


class RunDirError(CheckpointError, ValueError):
    """A path given as a run directory is not one, or a new run directory already exists."""


class SpecError(ValueError):
    """A strategy spec file or text is malformed or fails validation."""


class LineageLookupError(ValueError):
    """An id asked of the lineage is not in it (a ``KeyError`` in meaning, a usage error)."""
