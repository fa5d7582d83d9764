"""Application errors and the tuple of input errors the CLI maps to exit code 2 (DESIGN §5)."""

from __future__ import annotations

import pydantic

from fitness.errors import CostModelError, DataError, ParallelConfigError, SegmentError
from populations.errors import (
    LineageLookupError,
    ResumeMismatchError,
    RunDirError,
    SpecError,
)
from primitives.errors import ExpressionError, MarketInputError


class ConfigError(ValueError):
    """A configuration file or value is invalid."""


class UsageError(ValueError):
    """The command line asks for something impossible."""


INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    UsageError,
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
