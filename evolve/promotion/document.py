"""The schema of ``promotion.json`` at its I/O edge: pydantic models that validate it on load.

The promoter writes the document from frozen records (:mod:`evolve.promotion.evidence`); a
reader (``evolve report``, external code) loads it through :func:`load_document`, which names
the file and the first bad field. The DESIGN §4 ``decisions`` contract is checked exactly (no
extra keys); the evidence blocks the report renders are checked where the report relies on
them and may carry further keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evolve.errors import EvidenceError
from evolve.promotion.evidence import EVIDENCE_FILE, SCHEMA_VERSION

_EXACT = ConfigDict(extra="forbid", frozen=True, strict=True)
_OPEN = ConfigDict(extra="allow", frozen=True, strict=True)


class GateDecision(BaseModel):
    """One gate of a DESIGN §4 decision: exactly name, value, threshold, passed."""

    model_config = _EXACT

    name: str
    value: float | None
    threshold: float | None
    passed: bool


class Decision(BaseModel):
    """One DESIGN §4 decision: exactly id, promoted, gates."""

    model_config = _EXACT

    id: str
    promoted: bool
    gates: list[GateDecision]


class GateEvidence(BaseModel):
    """A candidate's gate as the report renders it (``reason`` since schema 2)."""

    model_config = _OPEN

    name: str
    value: float | None
    threshold: float | None
    passed: bool
    comparison: str | None = None
    detail: str = ""
    reason: str | None = None


class SelectionStageDocument(BaseModel):
    """The selection stage (schema 3): DSR on the sample the hall of fame was selected on."""

    model_config = _EXACT

    sample: Literal["validation", "discovery+validation"]
    dsr: float | None
    sharpe_daily: float | None
    n_days: int = Field(ge=0)
    sr0_daily: float | None


class ConfirmationStageDocument(BaseModel):
    """The confirmation stage (schema 3): holdout PSR(0) at the corrected family-wise level."""

    model_config = _EXACT

    sample: Literal["holdout"]
    psr: float | None
    alpha: float = Field(ge=0.0, le=1.0)
    corrected_alpha: float = Field(ge=0.0, le=1.0)
    n_clusters: int = Field(ge=0)  # 0: no cluster passed the selection stage
    method: Literal["holm", "sidak"]


class StageDocument(BaseModel):
    """Both stages of a candidate (schema 3)."""

    model_config = _EXACT

    selection: SelectionStageDocument
    confirmation: ConfirmationStageDocument


class ClusterDocument(BaseModel):
    """One candidate cluster (schema 3): near-duplicates by validation-return correlation."""

    model_config = _EXACT

    id: int = Field(ge=0)
    representative: str
    members: list[str] = Field(min_length=1)


class CandidateDocument(BaseModel):
    """A candidate's evidence entry (its further blocks are kept as read)."""

    model_config = _OPEN

    id: str
    rank: int = Field(ge=1)
    promoted: bool
    gates: list[GateEvidence]
    failed: list[str]
    cluster: int | None = Field(default=None, ge=0)
    stage: StageDocument | None = None


class SummaryDocument(BaseModel):
    """How many candidates were promoted, which, and why the others failed."""

    model_config = _OPEN

    n_candidates: int = Field(ge=0)
    n_promoted: int = Field(ge=0)
    promoted: list[str]
    reasons: dict[str, int]


class BaselineDocument(BaseModel):
    """A baseline over the holdout (``baselines.buy_and_hold``, ``baselines.funding_carry``)."""

    model_config = _OPEN

    holdout_return: float | None
    holdout_sharpe: float | None
    max_drawdown: float | None
    n_days: int = Field(ge=0)
    detail: str = ""


class PromotionDocument(BaseModel):
    """The whole ``promotion.json`` (schema versions 1 to 3).

    Schema 3 adds the top-level ``clusters`` and each candidate's ``cluster`` and ``stage``
    (required from 3 on; every candidate in exactly one cluster, the one it names).
    """

    model_config = _OPEN

    schema_version: int = Field(ge=1, le=SCHEMA_VERSION)
    run_id: str
    thresholds: dict[str, Any]
    search: dict[str, Any]
    candidates: list[CandidateDocument]
    summary: SummaryDocument
    decisions: list[Decision]
    clusters: list[ClusterDocument] | None = None
    baselines: dict[str, BaselineDocument] | None = None

    @model_validator(mode="after")
    def _clusters_cover_candidates(self) -> PromotionDocument:
        if self.schema_version < 3:
            return self
        if self.clusters is None:
            raise ValueError("clusters: required from schema_version 3 on")
        where = {m: c.id for c in self.clusters for m in c.members}
        for index, candidate in enumerate(self.candidates):
            if candidate.cluster is None or candidate.stage is None:
                raise ValueError(
                    f"candidates[{index}]: cluster and stage are required from schema_version 3"
                )
            if where.get(candidate.id) != candidate.cluster:
                raise ValueError(
                    f"candidates[{index}].cluster: expected the cluster listing {candidate.id} "
                    f"({where.get(candidate.id)}), found {candidate.cluster}"
                )
        return self

    def evidence(self) -> dict[str, Any]:
        """Return the validated document as plain JSON data (what the renderers format)."""
        return self.model_dump(mode="json")


def _field(location: tuple[int | str, ...]) -> str:
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "(document)"


def validate_document(data: object, path: Path) -> PromotionDocument:
    """Return ``data`` validated as a promotion document read from ``path``.

    Raises
    ------
    EvidenceError
        Naming ``path``, the first bad field, what was expected and what was found.
    """
    if isinstance(data, dict):
        version = data.get("schema_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            raise EvidenceError(
                f"{path}: field schema_version is {version}, newer than this evolve reads "
                f"({SCHEMA_VERSION}); upgrade evolve to render it"
            )
    else:
        raise EvidenceError(
            f"{path}: expected a JSON object, found {type(data).__name__}; re-run "
            f"`evolve promote --run-dir {path.parent}` to rewrite it"
        )
    try:
        return PromotionDocument.model_validate(data)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        found = "nothing" if first["type"] == "missing" else repr(first.get("input"))
        if len(found) > 60:
            found = found[:57] + "..."
        raise EvidenceError(
            f"{path}: field {_field(first['loc'])}: {first['msg'].lower()}, found {found} "
            f"({e.error_count()} problem(s) in all); re-run `evolve promote --run-dir "
            f"{path.parent}` to rewrite it"
        ) from None


def load_document(run_dir: Path) -> PromotionDocument:
    """Return the validated ``run_dir/promotion.json``.

    Raises
    ------
    EvidenceError
        If the file is missing, not JSON, malformed, or of a newer ``schema_version``.
    """
    path = Path(run_dir) / EVIDENCE_FILE
    if not path.is_file():
        raise EvidenceError(
            f"{path}: not found; this run has no promotion evidence yet "
            f"(run `evolve promote --run-dir {run_dir}` first)"
        )
    try:
        data = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EvidenceError(
            f"{path}: not valid JSON ({e}); re-run `evolve promote --run-dir {run_dir}` to "
            "rewrite it"
        ) from e
    return validate_document(data, path)
