"""The exact splits of per-strategy attribution (execution.state.attribution)."""

from __future__ import annotations

import math

import pytest

from execution.state.attribution import UNATTRIBUTED, order_shares, split_exact


def test_split_exact_when_weights_signed_then_parts_sum_exactly_and_zero_weight_gets_zero() -> None:
    parts = split_exact(0.003, [0.0021, -0.0007, 0.0, 0.0016])
    assert parts[2] == 0.0
    assert math.fsum(parts) == 0.003
    assert parts[0] == pytest.approx(0.003 * 0.0021 / 0.003)


def test_split_exact_when_weights_sum_to_zero_then_value_error() -> None:
    with pytest.raises(ValueError, match="sum to 0"):
        split_exact(1.0, [1.0, -1.0])


def test_order_shares_when_order_is_rounded_down_then_legs_scaled() -> None:
    shares = order_shares({"a": 0.0024, "b": 0.0012}, 0.003)
    assert math.fsum(shares.values()) == pytest.approx(0.003, abs=1e-18)
    assert shares["a"] == pytest.approx(2 * shares["b"])


def test_order_shares_when_legs_net_to_almost_nothing_then_residual_to_largest_leg() -> None:
    shares = order_shares({"a": 0.0304, "b": -0.03}, 0.001)
    assert shares["b"] == -0.03
    assert shares["a"] == pytest.approx(0.031)
    assert math.fsum(shares.values()) == pytest.approx(0.001, abs=1e-15)


def test_order_shares_when_every_leg_is_zero_then_unattributed() -> None:
    assert order_shares({"a": 0.0, "b": 0.0}, 0.002) == {UNATTRIBUTED: 0.002}
