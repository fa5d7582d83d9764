"""The strategy record: one evaluated strategy as the population, hall of fame and lineage hold it.

A :class:`Member` wraps the ``fitness.Evaluation`` the evaluator returned (never copied field by
field, never recomputed) with where this occurrence came from (generation, parents, operator,
first occurrence or not), its penalised objectives and, once probed, its perturbation
stability. The population evolves members, the hall of fame keeps the very same objects, the
lineage writes one row per member of a generation's offspring and the strategy spec is built
from a member — like SymbolicRegression.jl's hall of fame holding the ``PopMember`` the
population evolves. Nothing downstream evaluates or compiles the strategy again.

Checkpoint form (:meth:`Member.to_state`): plain JSON data, floats exact (``repr``), the
validation return stream as base64 of little-endian float32 bytes; the tree is not stored
but parsed from the canonical text on first use.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from deap import gp

from fitness import Evaluation, SegmentRow
from primitives import parse

_RETURNS_DTYPE = np.dtype("<f4")


def _number(values: Mapping[str, float] | None, key: str) -> float:
    try:
        return float((values or {}).get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True, slots=True)
class Member:
    """One occurrence of an evaluated strategy (see the module docstring).

    Attributes
    ----------
    evaluation : fitness.Evaluation
        The evaluator's result, as returned (shared by every occurrence of the id).
    generation : int
        Generation in which this occurrence was made (for the hall of fame: first offered).
    parent_ids : tuple of str
        Parents of this occurrence (none for random trees and seeds).
    operator : str
        How it was made (``populations.OPERATORS``).
    is_new_trial : bool
        True for the first occurrence of the id in the run.
    penalized : tuple of float
        ``objectives`` with the lineage penalty subtracted from the score objective.
    lineage_penalty : float
        The penalty subtracted (0 when none).
    stability : float or None
        Perturbation-probe stability, None until probed (hall-of-fame members only).
    parsed : deap.gp.PrimitiveTree or None
        The tree when the caller already has it; otherwise parsed from the text on first use
        of :attr:`tree`. Not compared, not stored.
    """

    evaluation: Evaluation
    generation: int
    parent_ids: tuple[str, ...]
    operator: str
    is_new_trial: bool
    penalized: tuple[float, ...]
    lineage_penalty: float = 0.0
    stability: float | None = None
    parsed: gp.PrimitiveTree | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        evaluation: Evaluation,
        *,
        generation: int,
        parent_ids: tuple[str, ...] = (),
        operator: str = "init",
        is_new_trial: bool = True,
        tree: gp.PrimitiveTree | None = None,
    ) -> Member:
        """Return the unpenalised member of one occurrence of ``evaluation``."""
        return cls(
            evaluation=evaluation,
            generation=int(generation),
            parent_ids=tuple(parent_ids),
            operator=operator,
            is_new_trial=bool(is_new_trial),
            penalized=evaluation.objectives,
            parsed=tree,
        )

    # -- the evaluation's facts --------------------------------------------------------------
    @property
    def id(self) -> str:
        """Strategy id (DESIGN §3)."""
        return self.evaluation.id

    @property
    def text(self) -> str:
        """Canonical expression text."""
        return self.evaluation.text

    @property
    def pretty(self) -> str:
        """Human-readable form of the expression."""
        return self.evaluation.pretty

    @property
    def objectives(self) -> tuple[float, ...]:
        """Raw objectives (before the lineage penalty), run order."""
        return self.evaluation.objectives

    @property
    def feasible(self) -> bool:
        """Whether the strategy met every feasibility condition on the discovery folds."""
        return self.evaluation.feasible

    @property
    def n_nodes(self) -> int:
        """Tree size (constants included)."""
        return self.evaluation.n_nodes

    @property
    def semantic_hash(self) -> str:
        """Digest of the strategy's targets up to the end of validation."""
        return self.evaluation.semantic_hash

    @property
    def validation_returns(self) -> np.ndarray:
        """Daily combined validation returns (float32, read-only; the promoter's trial record)."""
        return self.evaluation.validation_returns

    @property
    def validation_sharpe_annual(self) -> float:
        """Annualised validation Sharpe (mean over symbols), NaN when absent."""
        return _number(self.evaluation.validation, "sharpe")

    @property
    def validation_sharpe_daily(self) -> float:
        """Per-day Sharpe of :attr:`validation_returns` (not annualised), NaN when absent."""
        return _number(self.evaluation.validation, "daily_sharpe")

    @property
    def validation_trades(self) -> float:
        """Validation trades (summed over symbols), NaN when absent."""
        return _number(self.evaluation.validation, "n_trades")

    @property
    def tree(self) -> gp.PrimitiveTree:
        """The parsed expression (parsed once, on first use, when not given)."""
        if self.parsed is None:
            object.__setattr__(self, "parsed", parse(self.text))
        assert self.parsed is not None
        return self.parsed

    # -- derived records ---------------------------------------------------------------------
    def with_penalty(self, score_index: int, penalty: float) -> Member:
        """Return the member with ``penalty`` subtracted from its (maximised) score objective."""
        penalized = list(self.objectives)
        penalized[score_index] = penalized[score_index] - penalty
        return replace(self, penalized=tuple(penalized), lineage_penalty=penalty)

    def with_stability(self, stability: float) -> Member:
        """Return the member with its perturbation-probe ``stability``."""
        return replace(self, stability=float(stability))

    # -- checkpoint form ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Return the record as plain JSON data (no tree)."""
        return {
            "evaluation": evaluation_to_state(self.evaluation),
            "generation": self.generation,
            "parent_ids": list(self.parent_ids),
            "operator": self.operator,
            "is_new_trial": self.is_new_trial,
            "penalized": list(self.penalized),
            "lineage_penalty": self.lineage_penalty,
            "stability": self.stability,
        }

    @classmethod
    def from_state(cls, values: Mapping[str, Any]) -> Member:
        """Rebuild a record from :meth:`to_state` output (``KeyError``/``TypeError`` if not)."""
        stability = values["stability"]
        return cls(
            evaluation=evaluation_from_state(values["evaluation"]),
            generation=int(values["generation"]),
            parent_ids=tuple(str(v) for v in values["parent_ids"]),
            operator=str(values["operator"]),
            is_new_trial=bool(values["is_new_trial"]),
            penalized=tuple(float(v) for v in values["penalized"]),
            lineage_penalty=float(values["lineage_penalty"]),
            stability=None if stability is None else float(stability),
        )


def _returns_to_text(values: np.ndarray | None) -> str | None:
    if values is None:
        return None
    return base64.b64encode(np.asarray(values, dtype=_RETURNS_DTYPE).tobytes()).decode("ascii")


def _returns_from_text(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    values = np.frombuffer(base64.b64decode(text), dtype=_RETURNS_DTYPE).astype(np.float32)
    values.flags.writeable = False
    return values


def _metrics(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(key): float(value) for key, value in values.items()}


def evaluation_to_state(evaluation: Evaluation) -> dict[str, Any]:
    """Return a ``fitness.Evaluation`` as plain JSON data (exact; see the module docstring)."""
    return {
        "id": evaluation.id,
        "text": evaluation.text,
        "pretty": evaluation.pretty,
        "n_nodes": evaluation.n_nodes,
        "depth": evaluation.depth,
        "lookback_bars": evaluation.lookback_bars,
        "objectives": list(evaluation.objectives),
        "feasible": evaluation.feasible,
        "infeasible_reason": evaluation.infeasible_reason,
        "table": [
            {"segment": r.segment, "kind": r.kind, "symbol": r.symbol, "metrics": r.metrics}
            for r in evaluation.table
        ],
        "train": evaluation.train,
        "validation": evaluation.validation,
        "validation_returns": _returns_to_text(evaluation.validation_returns),
        "holdout": evaluation.holdout,
        "holdout_returns": _returns_to_text(evaluation.holdout_returns),
        "semantic_hash": evaluation.semantic_hash,
    }


def evaluation_from_state(values: Mapping[str, Any]) -> Evaluation:
    """Rebuild a ``fitness.Evaluation`` from :func:`evaluation_to_state` output."""
    validation_returns = _returns_from_text(values["validation_returns"])
    if validation_returns is None:
        raise ValueError("evaluation validation_returns: expected base64 text, found null")
    holdout = values["holdout"]
    return Evaluation(
        id=str(values["id"]),
        text=str(values["text"]),
        pretty=str(values["pretty"]),
        n_nodes=int(values["n_nodes"]),
        depth=int(values["depth"]),
        lookback_bars=int(values["lookback_bars"]),
        objectives=tuple(float(v) for v in values["objectives"]),
        feasible=bool(values["feasible"]),
        infeasible_reason=str(values["infeasible_reason"]),
        table=tuple(
            SegmentRow(str(r["segment"]), str(r["kind"]), str(r["symbol"]), _metrics(r["metrics"]))
            for r in values["table"]
        ),
        train=_metrics(values["train"]),
        validation=_metrics(values["validation"]),
        validation_returns=validation_returns,
        holdout=None if holdout is None else _metrics(holdout),
        holdout_returns=_returns_from_text(values["holdout_returns"]),
        semantic_hash=str(values["semantic_hash"]),
    )
