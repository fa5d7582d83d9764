"""Errors raised by the fitness layer."""

from __future__ import annotations


class DataError(ValueError):
    """Market data is malformed, missing or inconsistent (names file, row and field)."""


class GapError(DataError):
    """A bar series has gaps and the gap policy is ``"error"``."""


class CostModelError(ValueError):
    """A cost model or fitness configuration value is out of range."""


class ParallelConfigError(ValueError):
    """Parallel evaluation cannot run as configured (more workers than the cluster's CPUs)."""
