"""Hand-computed values of kernels and the state machines of the position roots."""

from __future__ import annotations

import numpy as np
import pytest

import primitives

NAN = np.nan
ENTRIES = {entry.key: entry for entry in primitives.registry()}
MONDAY_2024_01_01_MS = 1_704_067_200_000
HOUR_MS = 3_600_000


class Bars:
    """Minimal market built from a close path (high/low = close ± half_range)."""

    def __init__(self, close: list[float], half_range: float = 0.5, start_ms: int = 0) -> None:
        n = len(close)
        self.close = np.asarray(close, dtype=np.float64)
        self.open = self.close.copy()
        self.high = self.close + half_range
        self.low = self.close - half_range
        self.volume = np.ones(n)
        self.funding_rate = np.zeros(n)
        self.timestamp = start_ms + np.arange(n, dtype=np.int64) * HOUR_MS


def call(name: str, *args: object, market: object = None) -> np.ndarray:
    return ENTRIES[name](*args, market=market)


def test_sma_when_window_3_then_hand_values() -> None:
    out = call("sma", np.array([1.0, 2, 3, 4, 5]), 3)
    np.testing.assert_allclose(out, [NAN, NAN, 2, 3, 4])


def test_ema_when_window_3_then_seeded_with_sma_and_alpha_half() -> None:
    out = call("ema", np.array([1.0, 2, 3, 4, 6]), 3)
    np.testing.assert_allclose(out, [NAN, NAN, 2, 3, 4.5])


def test_ema_when_nan_inside_then_restarts_with_new_seed() -> None:
    out = call("ema", np.array([1.0, 2, NAN, 4, 6, 8]), 2)
    np.testing.assert_allclose(out, [NAN, 1.5, NAN, NAN, 5, 7])


def test_wma_when_window_3_then_weights_one_two_three() -> None:
    out = call("wma", np.array([1.0, 2, 3, 4]), 3)
    np.testing.assert_allclose(out, [NAN, NAN, 14 / 6, 20 / 6])


def test_rsi_when_two_bar_window_then_wilder_hand_values() -> None:
    # changes +1, -1, +1, +1: averages (0.5, 0.5), (0.75, 0.25), (0.875, 0.125)
    out = call("rsi", np.array([1.0, 2, 1, 2, 3]), 2)
    np.testing.assert_allclose(out, [NAN, NAN, 50, 75, 87.5])


def test_rsi_when_price_flat_then_50_and_when_only_gains_then_100() -> None:
    assert call("rsi", np.full(6, 3.0), 3)[-1] == 50.0
    assert call("rsi", np.arange(6.0), 3)[-1] == 100.0


def test_atr_when_window_2_then_true_range_uses_previous_close() -> None:
    bars = Bars([1.5, 2.5, 3.0])
    bars.high = np.array([2.0, 3.0, 4.0])
    bars.low = np.array([1.0, 1.0, 2.0])
    # true ranges 1, 2, 2 -> ATR seed (1 + 2) / 2, then (1.5 * 1 + 2) / 2
    np.testing.assert_allclose(call("atr", 2, market=bars), [NAN, 1.5, 1.75])


def test_rolling_max_when_nan_in_window_then_nan_until_it_leaves() -> None:
    out = call("rolling_max", np.array([1.0, NAN, 3, 2, 1]), 2)
    np.testing.assert_allclose(out, [NAN, NAN, NAN, 3, 2])


def test_donchian_high_when_window_2_then_excludes_current_bar() -> None:
    bars = Bars([1.0, 2, 3, 2, 1], half_range=0.0)
    np.testing.assert_allclose(call("donchian_high", 2, market=bars), [NAN, NAN, 2, 3, 3])
    np.testing.assert_allclose(call("donchian_low", 2, market=bars), [NAN, NAN, 1, 2, 2])


def test_zscore_when_window_flat_then_zero_else_hand_value() -> None:
    out = call("zscore", np.array([5.0, 5, 5, 1, 2, 3]), 3)
    assert out[2] == 0.0
    assert out[-1] == pytest.approx(1 / np.sqrt(2 / 3), rel=1e-12)


def test_percent_b_when_window_1_2_3_then_position_inside_bands_times_100() -> None:
    std = np.sqrt(2 / 3)
    upper, lower = 2 + std, 2 - std  # k = 1
    expected = 100 * (3 - lower) / (upper - lower)
    assert call("percent_b", np.array([1.0, 2.0, 3.0]), 3, 1.0)[-1] == pytest.approx(expected)


def test_stochastic_when_range_flat_then_50() -> None:
    bars = Bars([10.0] * 5, half_range=0.0)
    assert call("stoch_k", 3, market=bars)[-1] == 50.0


def test_vwap_when_volume_zero_then_plain_mean_of_typical_price() -> None:
    bars = Bars([1.0, 2.0, 3.0], half_range=0.0)
    bars.volume = np.array([5.0, 0.0, 0.0])
    np.testing.assert_allclose(call("vwap", 2, market=bars), [NAN, 1.0, 2.5])


def test_crosses_above_when_series_swap_then_true_only_on_the_swap_bar() -> None:
    a = np.array([1.0, 2, 3, 4])
    b = np.array([2.0, 2, 2, 2])
    np.testing.assert_array_equal(call("crosses_above", a, b), [False, False, True, False])


def test_rising_when_three_increases_then_true_from_the_third() -> None:
    x = np.array([1.0, 2, 3, 4, 3, 4])
    np.testing.assert_array_equal(call("rising", x, 2), [False, False, True, True, False, False])


def test_comparison_when_nan_then_false() -> None:
    assert not call("gt_price", np.array([NAN]), np.array([1.0]))[0]
    assert not call("lt_price", np.array([NAN]), np.array([1.0]))[0]


def test_hour_between_when_wrapping_midnight_then_22_to_1_and_equal_bounds_empty() -> None:
    bars = Bars([1.0] * 24, start_ms=MONDAY_2024_01_01_MS)
    wrapped = call("hour_between", 22, 2, market=bars)
    assert np.flatnonzero(wrapped).tolist() == [0, 1, 22, 23]
    assert not call("hour_between", 5, 5, market=bars).any()


def test_weekday_when_2024_01_01_then_monday_and_saturday_is_weekend() -> None:
    bars = Bars([1.0] * 7 * 24, start_ms=MONDAY_2024_01_01_MS)
    days = np.arange(7 * 24) // 24
    np.testing.assert_array_equal(call("weekday_is", 0, market=bars), days == 0)
    np.testing.assert_array_equal(call("weekend", market=bars), days >= 5)


def test_funding_when_settled_rate_is_zero_then_carried_as_zero() -> None:
    bars = Bars([1.0] * 20, start_ms=MONDAY_2024_01_01_MS + HOUR_MS)  # 01:00 .. 20:00 UTC
    bars.funding_rate[15] = 0.0002  # 16:00 settlement; the 08:00 one (index 7) settled at 0
    out = call("funding", market=bars)
    assert np.isnan(out[:7]).all()
    np.testing.assert_array_equal(out[7:15], 0.0)
    np.testing.assert_array_equal(out[15:], 0.0002)


def test_latch_when_entries_and_exits_then_holds_until_exit() -> None:
    enter_long = np.array([0, 1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    exit_long = np.array([0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    enter_short = np.array([0, 0, 0, 0, 1, 0, 0, 1, 0], dtype=bool)
    exit_short = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    out = call("latch", enter_long, exit_long, enter_short, exit_short)
    # long at 1, exit at 3, short at 4, exit at 6, conflicting entries at 7 are ignored
    np.testing.assert_array_equal(out, [0, 1, 1, 0, -1, -1, 0, 0, 0])


def test_latch_when_short_and_long_entry_then_flips_without_exit() -> None:
    enter_long = np.array([0, 0, 1], dtype=bool)
    enter_short = np.array([1, 0, 0], dtype=bool)
    never = np.zeros(3, dtype=bool)
    np.testing.assert_array_equal(call("latch", enter_long, never, enter_short, never), [-1, -1, 1])


def test_atr_stop_when_close_retreats_k_atr_then_flat_until_reentry() -> None:
    # ATR(1) = true range: 1, 1.5, 4.5, 1.5, 2.5, 1.5, 1.5, 1.5, 1.5
    bars = Bars([100.0, 101, 105, 104, 102, 103, 104, 105, 106])
    inner = np.array([1.0, 1, 1, 1, 1, 1, 1, 0, 1])
    out = call("atr_stop", inner, 1, 1.0, market=bars)
    # bar 3: 1 below best 105 < 1.5; bar 4: 3 below >= 2.5 -> stopped until flat and re-entry
    np.testing.assert_array_equal(out, [1, 1, 1, 1, 0, 0, 0, 0, 1])


def test_atr_stop_when_short_then_stops_on_rally_and_flip_resets() -> None:
    bars = Bars([100.0, 98, 97, 99, 100, 96])
    inner = np.array([-1.0, -1, -1, -1, -1, 1])
    out = call("atr_stop", inner, 1, 1.0, market=bars)
    # true ranges 1, 2.5, 1.5, 2.5, 1.5: bar 3 rallies 2 from 97 (< 2.5), bar 4 rallies 3 (>= 1.5)
    np.testing.assert_array_equal(out, [-1, -1, -1, -1, 0, 1])


def test_vol_target_when_volatility_is_1pct_then_half_size_for_half_pct_target() -> None:
    factors = np.tile([1.01, 0.99], 10)
    bars = Bars(list(100 * np.cumprod(np.concatenate([[1.0], factors]))))
    out = call("vol_target", np.ones(21), 4, 0.005, market=bars)
    assert np.isnan(out[:4]).all()
    np.testing.assert_allclose(out[4:], 0.5, rtol=1e-9)


def test_vol_target_when_price_flat_then_full_size_in_the_position_direction() -> None:
    out = call("vol_target", np.array([1.0, -0.5, 0.0, 0.3]), 1, 0.01, market=Bars([5.0] * 4))
    np.testing.assert_array_equal(out, [NAN, -1.0, 0.0, 1.0])


def test_long_short_when_both_signals_then_flat() -> None:
    long = np.array([1, 1, 0, 0], dtype=bool)
    short = np.array([1, 0, 1, 0], dtype=bool)
    np.testing.assert_array_equal(call("pos_from", long, short), [0, 1, -1, 0])
