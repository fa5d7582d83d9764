"""Market data, cost-aware simulation and scoring of strategies (layer 1).

Public API is listed in ``__all__``; anything else is private.
"""

from __future__ import annotations

from fitness.errors import CostModelError, DataError, GapError

__all__ = [
    "CostModelError",
    "DataError",
    "GapError",
]
