"""Errors raised by the primitives layer."""

from __future__ import annotations


class ExpressionError(ValueError):
    """A strategy expression cannot be parsed, typed or compiled."""


class PrimitiveTypeError(ExpressionError):
    """An expression combines primitives whose types do not fit."""
