"""The run configuration: one frozen pydantic model composed of each package's section, loaded
from TOML, overridden by ``EVOLVE_*`` variables and flags, written back resolved.

Precedence: defaults < TOML file (``--config``) < environment (:data:`ENVIRONMENT_VARIABLES`)
< command-line flags. Unknown keys and bad values raise :class:`~evolve.errors.ConfigError`
with one line naming the source (file, variable or flag), ``section.key``, what was expected
and what was found. Result-affecting means every value except :data:`NON_RESULT_KEYS`; its
digest is the run's ``config_hash`` and a resume refuses when it changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evolve.config.promotion_config import PromotionConfig
from evolve.config.toml_files import read_toml
from evolve.errors import ConfigError
from fitness import (
    GAP_POLICIES,
    TIMEFRAMES,
    CostModel,
    FitnessConfig,
    FoldConfig,
    ObjectiveConfig,
    PenaltyConfig,
)
from populations import config_digest
from primitives import MUTATIONS, SizeLimits

DEFAULT_DATASETS = ("bundled/BTCUSDT-1h", "bundled/ETHUSDT-1h")

ENVIRONMENT_VARIABLES: dict[str, str] = {
    "EVOLVE_WORKERS": "run.workers",
    "EVOLVE_SEED": "run.seed",
    "EVOLVE_RUNS_ROOT": "run.runs_root",
    "EVOLVE_RAY_ADDRESS": "run.ray_address",
}
"""The documented environment overrides: variable -> ``section.key``."""

NON_RESULT_KEYS = (
    "gp.generations",
    "run.workers",
    "run.ray_address",
    "run.runs_root",
    "run.memo_megabytes",
    "run.semantic_cache_megabytes",
    "run.result_cache_megabytes",
)
"""Keys that may change on resume: they never change what a generation computes."""

_FROZEN = ConfigDict(extra="forbid", frozen=True)


def _utc_ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class DataConfig(BaseModel):
    """``[data]``: which bar series a run evolves on."""

    model_config = _FROZEN

    datasets: tuple[str, ...] = Field(
        default=DEFAULT_DATASETS,
        min_length=1,
        description="dataset names (evolve data ls) or Parquet/CSV files; one per symbol",
    )
    timeframe: str = Field(default="", description="required timeframe ('' = whatever they share)")
    start: str = Field(default="", description="first bar open, ISO-8601 UTC ('' = first bar)")
    end: str = Field(default="", description="stop before this time, ISO-8601 UTC ('' = last bar)")
    gaps: str = Field(default="error", description="gap policy for plain files")

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        if value and value not in TIMEFRAMES:
            raise ValueError(f"expected one of {', '.join(TIMEFRAMES)} or ''")
        return value

    @field_validator("gaps")
    @classmethod
    def _known_gaps(cls, value: str) -> str:
        if value not in GAP_POLICIES:
            raise ValueError(f"expected one of {', '.join(GAP_POLICIES)}")
        return value

    @field_validator("start", "end")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        if value:
            try:
                _utc_ms(value)
            except ValueError as e:
                raise ValueError("expected an ISO-8601 date or date-time, e.g. 2024-01-01") from e
        return value

    @model_validator(mode="after")
    def _ordered_span(self) -> DataConfig:
        if self.start and self.end and _utc_ms(self.start) >= _utc_ms(self.end):
            raise ValueError(f"start {self.start!r} must be before end {self.end!r}")
        if len(set(self.datasets)) != len(self.datasets):
            raise ValueError(f"datasets: each dataset once, found {list(self.datasets)}")
        return self

    @property
    def start_ms(self) -> int | None:
        """Return ``start`` in ms UTC, or None when unset."""
        return _utc_ms(self.start) if self.start else None

    @property
    def end_ms(self) -> int | None:
        """Return ``end`` in ms UTC, or None when unset."""
        return _utc_ms(self.end) if self.end else None


class GPConfig(BaseModel):
    """``[gp]``: population, variation, bloat limits, diversity, hall of fame, stopping."""

    model_config = _FROZEN

    population: int = Field(default=400, ge=4, description="individuals kept per generation")
    generations: int = Field(default=50, ge=1, description="generations after generation 0")
    crossover_probability: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="share of offspring made by crossover (rest: mutation)",
    )
    mutation_weights: dict[str, float] = Field(
        default_factory=lambda: {"subtree": 0.4, "point": 0.25, "shrink": 0.15, "constants": 0.2},
        description="relative weights of the mutation kinds",
    )
    init_min_depth: int = Field(default=2, ge=1, description="smallest initial tree height")
    init_max_depth: int = Field(default=5, ge=1, description="largest initial tree height")
    max_depth: int = Field(default=10, ge=2, description="bloat limit: tree height")
    max_nodes: int = Field(default=60, ge=3, description="bloat limit: node count")
    tournament_size: int = Field(default=2, ge=2, description="crowded tournament size")
    immigrant_fraction: float = Field(
        default=0.1, ge=0.0, le=0.5, description="share of offspring that are random immigrants"
    )
    diversity_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="unique structures / population below this -> immigrants next generation",
    )
    patience: int = Field(
        default=15,
        ge=0,
        description="stop after this many generations without a better "
        "hall-of-fame validation Sharpe (0 = never stop early)",
    )
    hall_of_fame_top_k: int = Field(default=10, ge=0, description="best by robust score kept")
    hall_of_fame_max_front: int = Field(default=30, ge=1, description="Pareto members listed")
    probe_copies: int = Field(
        default=8, ge=0, description="perturbation-probe copies per new member (0 = off)"
    )
    seed_templates: str = Field(
        default="", description="file of seed expressions for generation 0 ('' = none)"
    )

    @field_validator("mutation_weights")
    @classmethod
    def _known_mutations(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(MUTATIONS))
        if unknown:
            raise ValueError(f"unknown mutation kind(s) {unknown}; expected {list(MUTATIONS)}")
        if any(weight < 0 for weight in value.values()) or sum(value.values()) <= 0:
            raise ValueError("expected weights >= 0 with a positive total")
        return {kind: float(value[kind]) for kind in MUTATIONS if kind in value}

    @model_validator(mode="after")
    def _consistent_sizes(self) -> GPConfig:
        if self.init_min_depth > self.init_max_depth:
            raise ValueError(
                f"init_min_depth ({self.init_min_depth}) must be <= init_max_depth "
                f"({self.init_max_depth})"
            )
        SizeLimits(self.max_depth, self.max_nodes)  # raises naming the smallest legal tree
        return self

    @property
    def limits(self) -> SizeLimits:
        """Return the bloat limits as ``primitives.SizeLimits``."""
        return SizeLimits(self.max_depth, self.max_nodes)


class RunSection(BaseModel):
    """``[run]``: seed and where and how the run executes."""

    model_config = _FROZEN

    seed: int = Field(default=0, ge=0, description="the one seed of every random draw")
    workers: int = Field(default=0, ge=0, description="evaluation workers (0 = all cores)")
    ray_address: str = Field(default="", description="join this Ray cluster ('' = local)")
    runs_root: str = Field(default="runs", description="where run directories are created")
    memo_megabytes: int = Field(default=256, ge=0, description="subtree memo per worker")
    semantic_cache_megabytes: int = Field(
        default=256, ge=0, description="semantic cache (segment backtests) per worker"
    )
    result_cache_megabytes: int = Field(
        default=128, ge=0, description="the driver's cache of evaluations by strategy id"
    )


class RunConfig(BaseModel):
    """The whole configuration of a run (every section has defaults)."""

    model_config = _FROZEN

    data: DataConfig = DataConfig()
    costs: CostModel = CostModel()
    folds: FoldConfig = FoldConfig()
    objectives: ObjectiveConfig = ObjectiveConfig()
    penalties: PenaltyConfig = PenaltyConfig()
    gp: GPConfig = GPConfig()
    run: RunSection = RunSection()
    promotion: PromotionConfig = PromotionConfig()

    def fitness(self) -> FitnessConfig:
        """Return the fitness layer's configuration (costs, folds, objectives, penalties)."""
        return FitnessConfig(
            costs=self.costs,
            folds=self.folds,
            objectives=self.objectives,
            penalties=self.penalties,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return every value as plain JSON data (unset optional values as None)."""
        return self.model_dump(mode="json")

    def result_affecting(self) -> dict[str, Any]:
        """Return the values that determine results (all but :data:`NON_RESULT_KEYS`)."""
        values = self.to_dict()
        for key in NON_RESULT_KEYS:
            section, name = key.split(".")
            values[section].pop(name, None)
        # the gauntlet's thresholds judge a finished run; they never change what it evolves
        values.pop("promotion", None)
        return values

    def digest(self) -> str:
        """Return the sha256 of the result-affecting values (the run's ``config_hash``)."""
        return config_digest(self.result_affecting())

    def to_toml(self) -> str:
        """Return the resolved configuration as TOML, every default written out.

        Optional values left unset (None, e.g. ``folds.embargo_bars``) are omitted: TOML has
        no null, and reading the file back gives the same configuration.
        """
        header = "# resolved evolve run configuration: every value, defaults included\n"
        return header + tomli_w.dumps(_drop_none(self.to_dict()))

    def workers(self) -> int:
        """Return the number of evaluation workers (``run.workers``, 0 = all cores)."""
        return self.run.workers or (os.cpu_count() or 1)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(item) for item in value]
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """Return the raw tables of a TOML configuration file.

    Raises
    ------
    ConfigError
        Naming the file when it is missing, unreadable or not valid TOML.
    """
    path = Path(path)
    values = read_toml(path)
    # a relative path in a file is relative to that file, not to the working directory
    gp = values.get("gp")
    if isinstance(gp, dict) and isinstance(gp.get("seed_templates"), str):
        templates = gp["seed_templates"]
        if templates and not Path(templates).is_absolute():
            gp["seed_templates"] = str((path.parent / templates).resolve())
    data = values.get("data")
    if isinstance(data, dict) and isinstance(data.get("datasets"), list):
        data["datasets"] = absolute_datasets(data["datasets"], path.parent)
    return values


def absolute_datasets(datasets: list[Any], base: Path) -> list[Any]:
    """Return ``datasets`` with plain-file references made absolute (relative to ``base``).

    A reference is a file when it ends in ``.parquet`` or ``.csv`` or names an existing
    directory under ``base``; store names (``bundled/BTCUSDT-1h``) are left alone. Absolute
    paths keep a run resumable from any working directory.
    """
    resolved = []
    for item in datasets:
        if isinstance(item, str) and not Path(item).is_absolute():
            candidate = base / item
            if item.lower().endswith((".parquet", ".csv")) or candidate.is_dir():
                item = str(candidate.resolve())
        resolved.append(item)
    return resolved


def _merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _nested(dotted: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        section, name = key.split(".", 1)
        nested.setdefault(section, {})[name] = value
    return nested


def _describe(error: ValidationError, where: str) -> str:
    item = error.errors()[0]
    location = ".".join(str(part) for part in item["loc"]) or "(top level)"
    if item["type"] == "extra_forbidden":
        return (
            f"{where}: unknown key {location!r}; check the spelling against the resolved "
            "config.toml of any run (every key is written there)"
        )
    message = str(item["msg"]).removeprefix("Value error, ")
    found = item.get("input")
    more = f" (and {len(error.errors()) - 1} more problem(s))" if len(error.errors()) > 1 else ""
    if isinstance(found, dict):
        return f"{where}: {location}: {message}{more}"
    return f"{where}: {location}: {message}, found {found!r}{more}"


def _validated(values: Mapping[str, Any], where: str) -> RunConfig:
    unknown = sorted(set(values) - set(RunConfig.model_fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}]; expected sections "
            f"{', '.join(RunConfig.model_fields)}"
        )
    try:
        return RunConfig.model_validate(values)
    except ValidationError as e:
        raise ConfigError(_describe(e, where)) from e


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the dotted overrides given by :data:`ENVIRONMENT_VARIABLES` in ``environ``.

    Raises
    ------
    ConfigError
        Naming the variable when an integer one holds something else.
    """
    overrides: dict[str, Any] = {}
    for variable, key in ENVIRONMENT_VARIABLES.items():
        text = environ.get(variable)
        if text is None or text == "":
            continue
        if key in ("run.workers", "run.seed"):
            try:
                overrides[key] = int(text)
            except ValueError as e:
                raise ConfigError(
                    f"environment variable {variable}: expected an integer >= 0 for {key}, "
                    f"found {text!r}; fix or unset it"
                ) from e
        else:
            overrides[key] = text
    return overrides


def load_config(
    path: Path | None = None,
    *,
    base: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Return the run configuration: defaults < ``base`` or file < environment < overrides.

    Parameters
    ----------
    path : Path, optional
        TOML file (``--config``); its tables are the sections of :class:`RunConfig`.
    base : mapping, optional
        Nested values used instead of the defaults (a resumed run's stored configuration);
        ``path`` is then laid over it.
    environ : mapping, optional
        Environment to read ``EVOLVE_*`` from (default ``os.environ``).
    overrides : mapping, optional
        Dotted keys from command-line flags, e.g. ``{"gp.population": 50}``.

    Raises
    ------
    ConfigError
        One line naming the source (file, environment variable or command line), the
        ``section.key``, what was expected and what was found.
    """
    values: dict[str, Any] = dict(base or {})
    where = "configuration"
    if path is not None:
        values = _merge(values, read_config_file(path))
        where = str(path)
    _validated(values, where)
    environment = environment_overrides(os.environ if environ is None else environ)
    if environment:
        values = _merge(values, _nested(environment))
        names = ", ".join(v for v, k in ENVIRONMENT_VARIABLES.items() if k in environment)
        _validated(values, f"environment ({names})")
    if overrides:
        values = _merge(values, _nested(dict(overrides)))
    return _validated(values, "command line")


def read_resolved_config(path: Path) -> RunConfig:
    """Return the configuration a run stored in its ``config.toml``.

    Raises
    ------
    ConfigError
        Naming the file when it is unreadable or no longer valid.
    """
    return _validated(read_config_file(path), str(path))
