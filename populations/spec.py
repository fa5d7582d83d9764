"""The strategy spec (DESIGN §3): the JSON object that leaves a run, read by promoter and executor.

Text form: keys in field order (nested mappings keep their insertion order), two-space indent,
ASCII, floats written with ``repr`` so they round-trip bit for bit; NaN and ±inf are written as
the JavaScript literals ``NaN``/``Infinity``/``-Infinity`` that Python's ``json`` reads back.
No wall-clock fields: two identical runs write byte-identical specs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fitness.data.atomic import write_text_atomic
from populations.errors import SpecError

STATES = ("candidate", "promoted", "paper", "live", "retired")
SPEC_SCHEMA_VERSION = 1


def dumps_exact(value: object, *, indent: int | None = 2) -> str:
    """Return ``value`` as JSON text with exact floats (``repr``) and NaN/±inf allowed.

    Raises
    ------
    SpecError
        When ``value`` holds something JSON cannot represent (the message names its type).
    """
    try:
        return json.dumps(value, indent=indent, allow_nan=True, ensure_ascii=True)
    except TypeError as e:
        raise SpecError(f"value is not JSON-serialisable: {e}") from e


class StrategySpec(BaseModel):
    """One strategy as it leaves a run (DESIGN §3).

    Attributes
    ----------
    id : str
        Stable short hash of the canonical text and primitive-set version.
    expression : str
        Canonical expression text (``str(PrimitiveTree)``).
    pretty : str
        Human-readable rendering of the expression.
    objectives : list of float
        Penalised objective values in the run's objective order (``objective_names``).
    metrics : dict
        Per split (``"train"`` = discovery aggregate, ``"validation"``, later ``"holdout"``):
        metric name -> value.
    fold_table : list of dict
        Rows ``{"segment", "kind", "symbol", <metric>: value, ...}``.
    stability : float or None
        Perturbation-probe median score divided by the strategy's own score.
    costs : dict
        The ``fitness.CostModel`` it was judged under (``model_dump()``).
    data : dict
        ``{"timeframe", "symbols": [...], "datasets": [{"name", "symbol", "content_hash"}]}``.
    run_id, generation : str, int
        The run and the generation in which the strategy was first found.
    state : str
        One of ``STATES``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SPEC_SCHEMA_VERSION
    id: str = Field(min_length=1)
    expression: str = Field(min_length=1)
    pretty: str
    primitive_set_version: str
    lookback_bars: int = Field(ge=0)
    objective_names: list[str]
    objectives: list[float]
    metrics: dict[str, dict[str, float]]
    fold_table: list[dict[str, object]] = Field(default_factory=list)
    stability: float | None = None
    costs: dict[str, object]
    data: dict[str, object]
    run_id: str
    generation: int = Field(ge=0)
    state: str = "candidate"

    @field_validator("schema_version")
    @classmethod
    def _known_schema_version(cls, value: int) -> int:
        if value != SPEC_SCHEMA_VERSION:
            raise ValueError(
                f"expected schema_version {SPEC_SCHEMA_VERSION}, found {value}; "
                "this spec was written by a different evolve version"
            )
        return value

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in STATES:
            raise ValueError(f"expected one of {', '.join(STATES)}, found {value!r}")
        return value

    @model_validator(mode="after")
    def _objectives_match_names(self) -> StrategySpec:
        if len(self.objectives) != len(self.objective_names):
            raise ValueError(
                f"objectives: expected one value per objective name ({len(self.objective_names)}"
                f": {self.objective_names}), found {len(self.objectives)} values"
            )
        return self

    def with_state(self, state: str) -> StrategySpec:
        """Return a copy in ``state`` (validated, unlike ``model_copy(update=...)``).

        Raises
        ------
        pydantic.ValidationError
            When ``state`` is not one of ``STATES``.
        """
        return StrategySpec.model_validate({**self.to_dict(), "state": state})

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain JSON-ready Python values, keys in field order."""
        return self.model_dump(mode="python")

    def to_json(self) -> str:
        """Return the spec's canonical JSON text (stable key order, exact floats, newline-ended).

        Raises
        ------
        SpecError
            When ``costs``, ``data`` or ``fold_table`` hold a value JSON cannot represent.
        """
        return dumps_exact(self.to_dict()) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StrategySpec:
        """Parse a spec from its JSON text.

        Raises
        ------
        SpecError
            Naming the problem (invalid JSON with line/column, or the failing fields).
        """
        return _parse(text, where="strategy spec")


def _describe_validation(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)


def _parse(text: str, *, where: str) -> StrategySpec:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(
            f"{where}: invalid JSON at line {e.lineno} column {e.colno} ({e.msg}); "
            "expected a strategy spec object written by evolve"
        ) from e
    return spec_from_dict(payload, where=where)


def spec_from_dict(payload: object, *, where: str = "strategy spec") -> StrategySpec:
    """Validate parsed JSON data (``json.loads`` of a spec) into a :class:`StrategySpec`.

    Raises
    ------
    SpecError
        Prefixed with ``where`` and naming the failing fields.
    """
    if not isinstance(payload, dict):
        raise SpecError(
            f"{where}: expected a JSON object, found {type(payload).__name__}; "
            "a spec holds exactly one strategy"
        )
    try:
        return StrategySpec.model_validate(payload)
    except ValidationError as e:
        raise SpecError(
            f"{where}: {_describe_validation(e)}; fix these fields or re-export the spec"
        ) from e


def save_spec(spec: StrategySpec, path: Path) -> None:
    """Write ``spec`` to ``path`` atomically (temp file, fsync, rename, directory fsync)."""
    write_text_atomic(Path(path), spec.to_json())


def load_spec(path: Path) -> StrategySpec:
    """Read a spec file.

    Raises
    ------
    SpecError
        Naming the file and what is wrong with it (also when it cannot be read).
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read the strategy spec ({e})") from e
    return _parse(text, where=str(path))
