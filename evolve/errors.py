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


class NoHoldoutError(ConfigError):
    """A run without a holdout (``holdout_fraction = 0``) is asked to be promoted."""


class EvidenceError(RunDirError):
    """A promotion evidence document (``promotion.json``) is missing, malformed or too new."""


INPUT_ERRORS: tuple[type[BaseException], ...] = (
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
