"""The lifecycle's configuration: evidence thresholds of ``evolve deploy`` and the decay monitor.

``LifecycleSettings`` is a frozen pydantic model (unknown keys are errors) read from a
``[lifecycle]`` table of a TOML file (``--config FILE`` of ``evolve deploy``, ``paper`` and
``live``), then command-line flags laid over it. The fields mirror
``execution.lifecycle.LifecycleConfig`` one to one (this module may not import ``execution``;
``evolve.cli`` builds that record from :meth:`LifecycleSettings.model_dump`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evolve.config.toml_files import read_toml, section_table, validate_section

SECTION = "lifecycle"


class LifecycleSettings(BaseModel):
    """Thresholds of a move up the ladder and of the decay monitor (DESIGN §8).

    Daily quantities are per UTC day; probabilities and fractions are in [0, 1].
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    confidence: float = Field(
        default=0.95, gt=0.0, lt=1.0, description="MinTRL confidence of the record length"
    )
    min_record_days: int = Field(
        default=7, ge=1, description="floor of the record a move up needs, days"
    )
    max_record_days: int = Field(
        default=90, ge=1, description="cap of the MinTRL record length, days"
    )
    min_consistency: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="least probability of the realised daily Sharpe under the holdout's",
    )
    max_slippage_ratio: float = Field(
        default=1.5, gt=0.0, description="largest realised / modelled slippage cost"
    )
    funding_tolerance: float = Field(
        default=0.5, ge=0.0, description="allowed |realised - modelled| funding / |modelled|"
    )
    funding_tolerance_equity: float = Field(
        default=1e-4, ge=0.0, description="plus this fraction of the record's start equity"
    )
    cusum_k: float = Field(
        default=0.25, ge=0.0, description="lower-CUSUM reference value (standard deviations)"
    )
    cusum_h: float = Field(default=12.0, gt=0.0, description="lower-CUSUM threshold")
    drawdown_quantile: float = Field(
        default=0.99,
        gt=0.0,
        lt=1.0,
        description="bootstrap quantile of the holdout's max drawdown (the drawdown limit)",
    )
    max_tracking_error: float = Field(
        default=0.02, ge=0.0, description="largest |realised / replayed equity - 1|"
    )
    decay_action: Literal["demote", "halt"] = Field(
        default="demote", description="a breach demotes one step, or halts the account"
    )
    n_bootstrap: int = Field(
        default=1000, ge=100, le=100_000, description="resamples of the drawdown bootstrap"
    )
    seed: int = Field(default=0, ge=0, description="seed of the drawdown bootstrap")

    @model_validator(mode="after")
    def _record_days_ordered(self) -> LifecycleSettings:
        if self.max_record_days < self.min_record_days:
            raise ValueError(
                f"max_record_days ({self.max_record_days}) must be >= min_record_days "
                f"({self.min_record_days})"
            )
        return self


def load_lifecycle_config(
    path: Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> LifecycleSettings:
    """Return the lifecycle configuration: defaults < ``path``'s ``[lifecycle]`` < overrides.

    Parameters
    ----------
    path : Path, optional
        A TOML file (``--config``); only its ``[lifecycle]`` table is read (other tables are
        ignored, so a run configuration file may carry it).
    overrides : mapping, optional
        Keys of :class:`LifecycleSettings` from command-line flags (None values are skipped).

    Raises
    ------
    ConfigError
        One line naming the file, ``lifecycle.<key>``, what was expected and what was found.
    """
    values: dict[str, Any] = {}
    where = "lifecycle configuration"
    if path is not None:
        values.update(section_table(read_toml(path), SECTION, str(path)))
        where = str(path)
        validate_section(LifecycleSettings, values, SECTION, where)
    if overrides and any(value is not None for value in overrides.values()):
        values.update({key: value for key, value in overrides.items() if value is not None})
        where = "command line"
    return validate_section(LifecycleSettings, values, SECTION, where)
