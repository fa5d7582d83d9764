"""Errors raised by the execution layer: a small retry taxonomy over exchange failures."""

from __future__ import annotations


class ExchangeError(RuntimeError):
    """An exchange request failed for a reason retrying will not fix."""


class TemporaryExchangeError(ExchangeError):
    """A transient failure (rate limit, timeout, 5xx): retried with backoff."""


class ExchangeInputError(ExchangeError, ValueError):
    """The request itself is wrong (unknown symbol or timeframe): a usage error, exit 2."""


class PaperError(ValueError):
    """A paper account cannot start or continue as asked (bad spec, state file, dataset): exit 2."""


class LiveGateError(ValueError):
    """``evolve live`` refused: a gate (flag, confirmation, record, keys) is missing: exit 2."""


class LifecycleError(ValueError):
    """A lifecycle move is refused (missing evidence, wrong state, unknown strategy): exit 2."""
