"""CostModel: venue defaults, fee selection, validation naming the field, immutability."""

from __future__ import annotations

import math

import pydantic
import pytest

from fitness import CostModel
from fitness.backtest.costs import BINANCE_FUTURES_FEE_URL


def test_cost_model_when_defaults_then_binance_usdm_vip0_retail_tier():
    costs = CostModel()

    assert costs.taker_fee == 0.0005
    assert costs.maker_fee == 0.0002
    assert costs.use_maker is False
    assert costs.slippage == 0.0002
    assert costs.slippage_volatility_multiplier == 0.0
    assert costs.latency_bars == 0
    assert costs.leverage == 1.0
    assert costs.funding is True


def test_cost_model_when_described_then_fee_fields_cite_their_source():
    fields = CostModel.model_fields

    assert BINANCE_FUTURES_FEE_URL in (fields["taker_fee"].description or "")
    assert BINANCE_FUTURES_FEE_URL in (fields["maker_fee"].description or "")
    assert all(field.description for field in fields.values())


def test_cost_model_fee_rate_when_use_maker_then_maker_else_taker():
    assert CostModel(taker_fee=0.001, maker_fee=0.0001).fee_rate == 0.001
    assert CostModel(taker_fee=0.001, maker_fee=0.0001, use_maker=True).fee_rate == 0.0001


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("taker_fee", -0.0001),
        ("taker_fee", 0.1),
        ("maker_fee", -1e-9),
        ("maker_fee", 0.5),
        ("slippage", -0.0001),
        ("slippage", 0.1),
        ("slippage", math.nan),
        ("slippage_volatility_multiplier", -1.0),
        ("latency_bars", -1),
        ("latency_bars", 1001),
        ("latency_bars", 1.5),
        ("leverage", 0.0),
        ("leverage", 125.5),
        ("leverage", math.inf),
    ],
)
def test_cost_model_when_value_out_of_range_then_validation_error_names_field(field, value):
    with pytest.raises(pydantic.ValidationError, match=field) as info:
        CostModel(**{field: value})

    assert isinstance(info.value, ValueError)


def test_cost_model_when_unknown_key_then_validation_error():
    with pytest.raises(pydantic.ValidationError, match="fee_bps"):
        CostModel(fee_bps=5)  # type: ignore[call-arg]


def test_cost_model_when_assigned_then_frozen():
    costs = CostModel()

    with pytest.raises(pydantic.ValidationError):
        costs.taker_fee = 0.0  # type: ignore[misc]


def test_cost_model_when_boundaries_then_accepted():
    costs = CostModel(taker_fee=0.0, maker_fee=0.0999, leverage=125.0, latency_bars=1000)

    assert costs.leverage == 125.0


def test_cost_model_when_dumped_and_loaded_then_equal():
    costs = CostModel(taker_fee=0.0004, use_maker=True, latency_bars=2, funding=False)

    assert CostModel.model_validate(costs.model_dump()) == costs
    assert CostModel.model_validate_json(costs.model_dump_json()) == costs


def test_cost_model_zero_when_called_then_frictionless_with_overrides():
    costs = CostModel.zero(leverage=3.0)

    assert (costs.fee_rate, costs.slippage, costs.funding, costs.leverage) == (0.0, 0.0, False, 3.0)


def test_cost_model_when_slippage_cap_then_kernel_uses_the_same_cap():
    from fitness.backtest import costs, nb

    assert nb.MAX_EFFECTIVE_SLIPPAGE == costs.MAX_EFFECTIVE_SLIPPAGE
