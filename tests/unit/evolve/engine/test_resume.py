"""Resume rules that need no run: the patience may be raised, never lowered."""

from __future__ import annotations

import pytest

from evolve.engine.resume import patience_not_lowered


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        (15, 15, True),
        (15, 30, True),
        (15, 0, True),  # 0 = never stop early: later than any patience
        (0, 0, True),
        (15, 14, False),
        (0, 30, False),  # from never stopping to stopping
    ],
)
def test_patience_not_lowered_when_compared_then_only_raises_allowed(
    before: int, after: int, allowed: bool
) -> None:
    assert patience_not_lowered(before, after) is allowed
