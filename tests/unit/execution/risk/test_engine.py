"""The risk engine's checks at hand-computed boundaries (DESIGN §7, EXECUTION §6).

Limits and context are chosen so every boundary is exact in binary floating point:
last close 100, equity 2 000, order notional limit 1 000, position notional limit 2 000, gross
leverage 2 (4 000 of exposure), 5 orders a minute, price band 25 %, stale after 2 bars, daily
loss 12.5 %, drawdown levels 12.5 % / 25 % / 50 %.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from execution.risk import (
    ALERT,
    CAUTION,
    EMERGENCY,
    NORMAL,
    Allowed,
    Denied,
    OrderRequest,
    RiskContext,
    RiskLimits,
    check_order,
    drawdown_level,
    load_limits,
)

LIMITS = RiskLimits(
    max_order_notional=1_000.0,
    max_position_notional=2_000.0,
    max_gross_leverage=2.0,
    max_orders_per_minute=5,
    price_band=0.25,
    stale_bars=2,
    daily_loss_limit=0.125,
    drawdown_alert=0.125,
    drawdown_caution=0.25,
    drawdown_emergency=0.5,
)
CONTEXT = RiskContext(
    last_close=100.0,
    position_qty=0.0,
    other_gross_notional=0.0,
    equity=2_000.0,
    orders_last_minute=0,
    bars_old=0.0,
    day_start_equity=2_000.0,
)


def _check(qty: float, price: float = 100.0, reduce_only: bool = False, **context: float) -> object:
    order = OrderRequest("BTC/USDT:USDT", qty, price, reduce_only)
    return check_order(order, dataclasses.replace(CONTEXT, **context), LIMITS)


def _denied_by(verdict: object) -> str:
    assert isinstance(verdict, Denied), verdict
    assert verdict.reason  # every denial says why
    return verdict.check


# ---------------------------------------------------------------- allowed
def test_check_order_when_every_limit_has_room_then_allowed() -> None:
    assert _check(5.0) == Allowed()  # 500 notional, 500 position, leverage 0.25
    assert _check(-5.0) == Allowed()  # a short is sized the same way


# ---------------------------------------------------------------- max order notional
def test_check_order_when_notional_equals_limit_then_allowed() -> None:
    assert _check(10.0) == Allowed()  # 10 * 100 = 1 000, the limit itself


def test_check_order_when_notional_above_limit_then_denied_with_amounts() -> None:
    verdict = _check(10.5)  # 1 050 > 1 000
    assert _denied_by(verdict) == "max_order_notional"
    assert isinstance(verdict, Denied) and "1050.00 > 1000.00" in verdict.reason


# ---------------------------------------------------------------- max position notional
def test_check_order_when_position_after_equals_limit_then_allowed() -> None:
    assert _check(5.0, position_qty=15.0) == Allowed()  # (15 + 5) * 100 = 2 000


def test_check_order_when_position_after_above_limit_then_denied() -> None:
    verdict = _check(6.0, position_qty=15.0)  # order 600 passes; (15 + 6) * 100 = 2 100
    assert _denied_by(verdict) == "max_position_notional"
    assert isinstance(verdict, Denied) and "2100.00 > 2000.00" in verdict.reason


def test_check_order_when_short_position_grows_past_limit_then_denied() -> None:
    assert _denied_by(_check(-6.0, position_qty=-15.0)) == "max_position_notional"


# ---------------------------------------------------------------- max gross leverage
def test_check_order_when_gross_equals_leverage_limit_then_allowed() -> None:
    # 3 000 elsewhere + 10 * 100 here = 4 000 = 2 * 2 000
    assert _check(10.0, other_gross_notional=3_000.0) == Allowed()


def test_check_order_when_gross_above_leverage_limit_then_denied() -> None:
    verdict = _check(10.0, other_gross_notional=3_100.0)  # 4 100 / 2 000 = 2.05
    assert _denied_by(verdict) == "max_gross_leverage"
    assert isinstance(verdict, Denied) and "4100.00" in verdict.reason


def test_check_order_when_equity_not_positive_then_gross_leverage_denies() -> None:
    assert _denied_by(_check(1.0, equity=0.0, day_start_equity=0.0)) == "max_gross_leverage"


# ---------------------------------------------------------------- max orders per minute
def test_check_order_when_one_below_rate_limit_then_allowed() -> None:
    assert _check(1.0, orders_last_minute=4) == Allowed()


def test_check_order_when_rate_limit_reached_then_denied() -> None:
    verdict = _check(1.0, orders_last_minute=5)  # the 6th order in a minute
    assert _denied_by(verdict) == "max_orders_per_minute"
    assert isinstance(verdict, Denied) and "5 orders" in verdict.reason


# ---------------------------------------------------------------- price band
def test_check_order_when_price_on_band_edge_then_allowed() -> None:
    assert _check(1.0, price=125.0) == Allowed()  # 125 / 100 - 1 = 0.25 exactly
    assert _check(1.0, price=75.0) == Allowed()  # |75 / 100 - 1| = 0.25


def test_check_order_when_price_outside_band_then_denied() -> None:
    verdict = _check(1.0, price=126.0)  # 26 % from the last close
    assert _denied_by(verdict) == "price_band"
    assert isinstance(verdict, Denied) and "26.00%" in verdict.reason


def test_check_order_when_reducing_outside_band_then_still_denied() -> None:
    # the one limit a reducing order must pass: a wrong price means wrong data
    assert _denied_by(_check(-1.0, price=130.0, reduce_only=True, position_qty=5.0)) == (
        "price_band"
    )


def test_check_order_when_no_last_close_then_price_band_denies() -> None:
    assert _denied_by(_check(1.0, last_close=0.0)) == "price_band"


# ---------------------------------------------------------------- stale data
def test_check_order_when_bar_age_equals_stale_limit_then_allowed() -> None:
    assert _check(1.0, bars_old=2.0) == Allowed()


def test_check_order_when_bar_older_than_stale_limit_then_increase_denied() -> None:
    verdict = _check(1.0, bars_old=2.5)
    assert _denied_by(verdict) == "stale_data"
    assert isinstance(verdict, Denied) and "2.5 intervals" in verdict.reason


def test_check_order_when_several_limits_breached_then_first_in_fixed_order_named() -> None:
    # stale data is checked before the notional limits
    assert _denied_by(_check(50.0, bars_old=3.0)) == "stale_data"


# ---------------------------------------------------------------- daily loss limit
def test_check_order_when_daily_loss_just_below_limit_then_allowed() -> None:
    assert _check(1.0, equity=1_760.0) == Allowed()  # 1 - 1760 / 2000 = 0.12


def test_check_order_when_daily_loss_reaches_limit_then_denied() -> None:
    verdict = _check(1.0, equity=1_750.0)  # 1 - 1750 / 2000 = 0.125 exactly
    assert _denied_by(verdict) == "daily_loss_limit"
    assert isinstance(verdict, Denied) and "12.50%" in verdict.reason


def test_check_order_when_no_day_start_mark_then_daily_loss_not_applied() -> None:
    assert _check(1.0, day_start_equity=0.0) == Allowed()


# ---------------------------------------------------------------- reducing orders
BREACHED = {
    "orders_last_minute": 99,
    "bars_old": 50.0,
    "equity": 100.0,  # 95 % daily loss, leverage far above 2
    "other_gross_notional": 1e9,
}


def test_check_order_when_reduce_only_then_allowed_past_every_limit_but_band() -> None:
    # 100 * 100 = 10 000 of order notional, everything else breached too
    assert _check(-100.0, reduce_only=True, position_qty=150.0, **BREACHED) == Allowed()


def test_check_order_when_unflagged_order_reduces_then_allowed_past_every_limit() -> None:
    assert _check(-5.0, position_qty=50.0, **BREACHED) == Allowed()  # 50 → 45
    assert _check(5.0, position_qty=-50.0, **BREACHED) == Allowed()  # -50 → -45
    assert _check(-50.0, position_qty=50.0, **BREACHED) == Allowed()  # 50 → 0


def test_check_order_when_unflagged_order_flips_then_limits_apply() -> None:
    # 5 → -5 opens a new short: not reducing
    assert _denied_by(_check(-10.0, position_qty=5.0, bars_old=3.0)) == "stale_data"


# ---------------------------------------------------------------- drawdown levels
@pytest.mark.parametrize(
    ("equity", "level", "drawdown"),
    [
        (1_200.0, NORMAL, 0.0),  # above the peak: no drawdown
        (1_000.0, NORMAL, 0.0),
        (876.0, NORMAL, 0.124),
        (875.0, ALERT, 0.125),  # each level starts at its threshold
        (751.0, ALERT, 0.249),
        (750.0, CAUTION, 0.25),
        (501.0, CAUTION, 0.499),
        (500.0, EMERGENCY, 0.5),
        (0.0, EMERGENCY, 1.0),
    ],
)
def test_drawdown_level_when_equity_below_peak_then_level_at_hand_computed_threshold(
    equity: float, level: str, drawdown: float
) -> None:
    found, amount = drawdown_level(1_000.0, equity, LIMITS)
    assert found == level
    assert amount == pytest.approx(drawdown, abs=1e-12)


def test_drawdown_level_when_no_peak_then_normal() -> None:
    assert drawdown_level(0.0, 50.0, LIMITS) == (NORMAL, 0.0)


# ---------------------------------------------------------------- limits as config
def test_risk_limits_when_defaults_then_conservative_documented_values() -> None:
    limits = RiskLimits()
    assert (
        limits.max_order_notional,
        limits.max_position_notional,
        limits.max_gross_leverage,
        limits.max_orders_per_minute,
        limits.price_band,
        limits.stale_bars,
        limits.daily_loss_limit,
        (limits.drawdown_alert, limits.drawdown_caution, limits.drawdown_emergency),
    ) == (5_000.0, 10_000.0, 1.0, 10, 0.02, 2, 0.03, (0.10, 0.15, 0.25))


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf")])
def test_risk_limits_when_not_finite_positive_then_value_error_names_limit(value: float) -> None:
    with pytest.raises(ValueError, match="max_order_notional"):
        RiskLimits(max_order_notional=value)


def test_risk_limits_when_drawdown_levels_out_of_order_then_value_error() -> None:
    with pytest.raises(ValueError, match="drawdown_alert <= drawdown_caution"):
        RiskLimits(drawdown_alert=0.2, drawdown_caution=0.1)


def test_load_limits_when_toml_and_overrides_then_merged(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("[risk]\nmax_order_notional = 250.0\nprice_band = 0.01\n")
    limits = load_limits(path, {"price_band": 0.05})
    assert (limits.max_order_notional, limits.price_band) == (250.0, 0.05)


def test_load_limits_when_unknown_key_then_value_error_names_it(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("[risk]\nmax_notional = 1.0\n")
    with pytest.raises(ValueError, match="max_notional"):
        load_limits(path)


@pytest.mark.parametrize(
    "field",
    [
        "qty",
        "reference_price",
        "last_close",
        "equity",
        "bars_old",
        "day_start_equity",
        "other_gross_notional",
        "position_qty",
    ],
)
def test_check_order_when_any_number_is_nan_then_denied_as_invalid_input(field: str) -> None:
    order = OrderRequest("BTCUSDT", 0.01, 100.0, False)
    context = RiskContext(100.0, 0.0, 0.0, 10_000.0, 0, 0.0, 10_000.0)
    if field in ("qty", "reference_price"):
        order = dataclasses.replace(order, **{field: math.nan})
    else:
        context = dataclasses.replace(context, **{field: math.nan})

    verdict = check_order(order, context, RiskLimits())

    assert isinstance(verdict, Denied) and verdict.check == "invalid_input"
    assert field in verdict.reason
