"""GP type tags of the strategy language and the legal ranges of its typed constants.

Type lattice (no subtyping: every tag is a distinct class, so DEAP's typed operators can never
plug a value of one dimension into a slot of another):

Series types (one value per bar, evaluated by kernels)

- ``Price``       quote-currency level: open/high/low/close, moving averages, bands, channels,
                  VWAP, rolling max/min, lags. Compared only with ``Price``.
- ``PriceDelta``  quote-currency difference: price − price, ATR, MACD, rolling std of a price.
                  Compared only with ``PriceDelta`` (or its sign).
- ``Ratio``       unitless fraction: returns, rate of change, price / price − 1, realised
                  volatility, ATR / close. Compared with ``Ratio`` or ``RatioLevel``.
- ``ZScore``      standard scores (price, volume, funding). Compared with ``ZLevel``.
- ``Funding``     funding rate per settlement (fraction) and its rolling mean. Compared with
                  ``FundingLevel`` (around ±1e-4), never with z levels.
- ``Oscillator``  bounded 0–100 (RSI, stochastic %K/%D; %B × 100 may leave the band).
                  Compared with ``OscLevel`` or another ``Oscillator``.
- ``Signal``      boolean series.
- ``Position``    the root: target position in [-1, 1] (NaN only during warm-up).

Constant types (leaves; their value is typed by the argument slot they fill)

- ``Window`` (bars), ``OscLevel``, ``ZLevel``, ``RatioLevel``, ``FundingLevel``,
  ``Multiplier`` (k of bands and stops), ``VolTarget`` (per-bar volatility), ``Hour`` (UTC
  hour of day), ``Weekday`` (0 = Monday … 6 = Sunday).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from primitives.errors import ExpressionError


class Price:
    """Price-like series in quote currency."""


class PriceDelta:
    """Difference of two prices, in quote currency."""


class Ratio:
    """Unitless fraction (returns, ratios, volatility)."""


class ZScore:
    """Standard score."""


class Funding:
    """Funding rate per settlement (fraction)."""


class Oscillator:
    """Oscillator nominally bounded to 0–100."""


class Signal:
    """Boolean series."""


class Position:
    """Target position in [-1, 1]; the root type of every strategy."""


class Window:
    """Window length in bars."""


class OscLevel:
    """Oscillator level, 0–100."""


class ZLevel:
    """Z-score level."""


class RatioLevel:
    """Level of a unitless ratio (0.01 = 1 %)."""


class FundingLevel:
    """Funding-rate level per settlement (0.0001 = 0.01 %)."""


class Multiplier:
    """Multiplier k of a band width or stop distance."""


class VolTarget:
    """Target volatility per bar (RMS of one-bar simple returns)."""


class Hour:
    """UTC hour of day, 0–23."""


class Weekday:
    """UTC day of week, 0 = Monday … 6 = Sunday."""


SERIES_TYPES: tuple[type, ...] = (
    Price,
    PriceDelta,
    Ratio,
    ZScore,
    Funding,
    Oscillator,
    Signal,
    Position,
)
ROOT_TYPE = Position


@dataclass(frozen=True, slots=True)
class ConstantSpec:
    """Legal range, canonical rounding and generation grid of one constant type.

    ``decimals`` is ``None`` for integer types. ``grid`` holds the values random generation
    draws from; parsed or jittered values may be anything in ``[minimum, maximum]``.
    ``jitter_unit`` is the additive step of the constant mutation; ``is_jitterable`` is False
    for categorical constants (hours, weekdays) that ``jitter_constants`` leaves unchanged.
    ``percent`` marks levels shown as percentages in the pretty form.
    """

    minimum: float
    maximum: float
    decimals: int | None
    grid: tuple[float, ...]
    jitter_unit: float
    is_jitterable: bool = True
    percent: bool = False

    @property
    def is_integer(self) -> bool:
        return self.decimals is None


CONSTANT_SPECS: dict[type, ConstantSpec] = {
    Window: ConstantSpec(
        1, 1000, None, (2, 3, 5, 8, 9, 10, 12, 14, 20, 26, 30, 50, 52, 100, 200), 2
    ),
    OscLevel: ConstantSpec(
        0.0, 100.0, 1, (10.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 75.0, 80.0, 90.0), 5.0
    ),
    ZLevel: ConstantSpec(
        -5.0,
        5.0,
        2,
        (-3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0),
        0.25,
    ),
    RatioLevel: ConstantSpec(
        -1.0,
        1.0,
        4,
        (-0.1, -0.05, -0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.02, 0.05, 0.1),
        0.005,
        percent=True,
    ),
    FundingLevel: ConstantSpec(
        -0.01,
        0.01,
        6,
        (-0.0005, -0.0003, -0.0001, -0.00005, 0.0, 0.00005, 0.0001, 0.0003, 0.0005),
        0.00005,
        percent=True,
    ),
    Multiplier: ConstantSpec(0.1, 10.0, 2, (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0), 0.25),
    VolTarget: ConstantSpec(0.0001, 0.2, 4, (0.002, 0.005, 0.01, 0.02), 0.001, percent=True),
    Hour: ConstantSpec(0, 23, None, tuple(range(24)), 1, is_jitterable=False),
    Weekday: ConstantSpec(0, 6, None, tuple(range(7)), 1, is_jitterable=False),
}
CONSTANT_TYPES: tuple[type, ...] = tuple(CONSTANT_SPECS)


def is_series_type(type_: type) -> bool:
    """Return True when values of ``type_`` are per-bar arrays (not constants)."""
    return type_ in SERIES_TYPES


def series_dtype(type_: type) -> type[np.generic]:
    """Return the numpy dtype of a series type: bool for ``Signal``, float64 otherwise."""
    return np.bool_ if type_ is Signal else np.float64


def canonical_constant(type_: type, value: float) -> int | float:
    """Return ``value`` rounded to the canonical precision of ``type_`` (range not checked)."""
    spec = CONSTANT_SPECS[type_]
    if spec.decimals is None:
        return round(float(value))
    # + 0.0 turns -0.0 into 0.0 so that equal strategies print equally
    return round(float(value), spec.decimals) + 0.0


def checked_constant(type_: type, value: float, where: str = "") -> int | float:
    """Return the canonical value of ``value`` for ``type_``, or raise when it is illegal.

    Raises
    ------
    ExpressionError
        If ``value`` is not finite or lies outside the type's legal range.
    """
    spec = CONSTANT_SPECS[type_]
    if not math.isfinite(value):
        raise ExpressionError(f"{where}{type_.__name__} constant must be finite, found {value!r}")
    canonical = canonical_constant(type_, value)
    if not spec.minimum <= canonical <= spec.maximum:
        raise ExpressionError(
            f"{where}{type_.__name__} constant {canonical!r} is out of range "
            f"(expected {spec.minimum}..{spec.maximum}); use a value inside the range"
        )
    return canonical


def clamped_constant(type_: type, value: float) -> int | float:
    """Return ``value`` rounded to ``type_``'s precision and clamped to its legal range."""
    spec = CONSTANT_SPECS[type_]
    clipped = min(max(float(value), spec.minimum), spec.maximum)
    return canonical_constant(type_, clipped)


def format_constant(type_: type, value: int | float) -> str:
    """Return the canonical text of a constant (integers as ``50``, levels as ``30.0``)."""
    spec = CONSTANT_SPECS[type_]
    if spec.decimals is None:
        return str(int(value))
    text = f"{value:.{spec.decimals}f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text == "-0.0" else text


def pretty_constant(type_: type, value: int | float) -> str:
    """Return a constant as a human reads it (percent levels as ``0.01%``)."""
    spec = CONSTANT_SPECS[type_]
    if spec.decimals is None:
        return str(int(value))
    if spec.percent:
        return f"{round(value * 100, spec.decimals):g}%"
    return f"{value:g}"
