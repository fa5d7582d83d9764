"""The one finite-or-None conversion (evolve.numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evolve.numbers import finite_or_none


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (-2.5, -2.5), (0, 0.0), (np.float32(1.5), 1.5), (np.int64(3), 3.0)],
)
def test_finite_or_none_when_finite_real_then_float(value: object, expected: float) -> None:
    result = finite_or_none(value)

    assert result == expected and type(result) is float


@pytest.mark.parametrize(
    "value",
    [None, math.nan, math.inf, -math.inf, np.float64("nan"), True, np.bool_(False), "0.5", [1], {}],
)
def test_finite_or_none_when_not_a_finite_real_number_then_none(value: object) -> None:
    assert finite_or_none(value) is None
