"""Errors raised by the persistence layer."""

from __future__ import annotations


class CheckpointError(RuntimeError):
    """A checkpoint or run directory cannot be read or written."""


class ResumeMismatchError(CheckpointError, ValueError):
    """Resume refused: data content hash or a result-affecting config value changed."""
