"""Application errors and the tuple of input errors the CLI maps to exit code 2 (DESIGN §5).

``INPUT_ERRORS`` is built on first access (module ``__getattr__``): it names error classes of
fitness, populations, primitives and pydantic, and importing those at ``evolve --help`` time
would load numba, pyarrow and numpy before a single argument is parsed.
"""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration file or value is invalid."""


class UsageError(ValueError):
    """The command line asks for something impossible."""


class NoHoldoutError(ConfigError):
    """A run without a holdout (``holdout_fraction = 0``) is asked to be promoted."""


class EvidenceError(ValueError):
    """A promotion evidence document (``promotion.json``) is missing, malformed or too new."""


def input_errors() -> tuple[type[BaseException], ...]:
    """Return the exception classes the CLI reports as bad input (exit code 2)."""
    import pydantic

    from fitness.errors import CostModelError, DataError, ParallelConfigError, SegmentError
    from populations.errors import (
        LineageLookupError,
        ResumeMismatchError,
        RunDirError,
        SpecError,
    )
    from primitives.errors import ExpressionError, MarketInputError

    return (
        ConfigError,
        UsageError,
        EvidenceError,
        DataError,
        CostModelError,
        ParallelConfigError,
        SegmentError,
        ExpressionError,
        MarketInputError,
        ResumeMismatchError,
        RunDirError,
        SpecError,
        LineageLookupError,
        pydantic.ValidationError,
    )


def __getattr__(name: str) -> Any:
    if name == "INPUT_ERRORS":
        return input_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
