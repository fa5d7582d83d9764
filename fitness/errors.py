"""Errors raised by the fitness layer."""

from __future__ import annotations


class DataError(ValueError):
    """Market data is malformed, missing or inconsistent (names file, row and field)."""


class GapError(DataError):
    """A bar series has gaps and the gap policy is ``"error"``."""


class CostModelError(ValueError):
    """A cost model or fitness configuration value is out of range."""


class SegmentError(ValueError):
    """Segment bounds or bucket size do not describe a part of the bar series."""


class FundingTimeframeError(DataError):
    """Funding is enabled on bars whose opens miss funding settlements (DESIGN §2 step 1)."""


class ParallelConfigError(ValueError):
    """Parallel evaluation cannot run as configured (more workers than the cluster's CPUs)."""


class RayConnectionError(ParallelConfigError):
    """The Ray cluster named by ``ray_address`` cannot be joined (none there, auth, versions)."""
