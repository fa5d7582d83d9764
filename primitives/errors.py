"""Errors raised by the primitives layer."""

from __future__ import annotations


class ExpressionError(ValueError):
    """A strategy expression cannot be parsed, typed or compiled."""


class PrimitiveTypeError(ExpressionError):
    """An expression combines primitives whose types do not fit."""


class MarketInputError(ValueError):
    """A market given to a strategy lacks a column, has a non-1-D one, or its columns differ."""
