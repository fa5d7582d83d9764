"""Objectives: the registry of scores an individual's discovery matrix reduces to, and the config.

An individual's discovery results form a fold × symbol matrix of net metrics
(:class:`DiscoveryMatrix`); each objective reduces it to one float with a direction (+1
maximise, −1 minimise). ``ObjectiveConfig.names`` picks the objective vector, in order.
Infeasible individuals get :func:`infeasible_objectives`: values every feasible individual
dominates, so NSGA-II's non-dominated sort ranks them last.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fitness.backtest.costs import CostModel
from fitness.evaluation.folds import FoldConfig
from fitness.evaluation.penalties import PenaltyConfig
from primitives.arrays import Float64Array

# Sentinels of infeasible individuals: worse than any feasible value in either direction
INFEASIBLE_MAXIMISED = -1e9
INFEASIBLE_MINIMISED = 1e9


@dataclass(frozen=True, slots=True)
class DiscoveryMatrix:
    """Net metrics of every discovery fold × symbol cell, and the tree's size.

    Attributes
    ----------
    sharpe, max_drawdown, total_return, n_trades : ndarray of float64, shape (n_folds, n_symbols)
        Annualised Sharpe ratio, maximum drawdown (positive fraction), total return (fraction)
        and number of trades of each cell (metrics of ``fitness.segment_metrics``).
    n_nodes : int
        Node count of the strategy's tree.
    complexity_penalty : float
        ``fitness.complexity_penalty(n_nodes, penalties)``, subtracted from the robust score.
    robust_lambda : float
        λ of the robust score ``mean − λ·std``.
    """

    sharpe: Float64Array
    max_drawdown: Float64Array
    total_return: Float64Array
    n_trades: Float64Array
    n_nodes: int
    complexity_penalty: float
    robust_lambda: float


class Objective(NamedTuple):
    """A registered objective: direction (+1 maximise, −1 minimise), function, description."""

    direction: int
    function: Callable[[DiscoveryMatrix], float]
    doc: str


# Reductions over a handful of cells: plain Python floats beat numpy's per-call overhead


def _cells(values: Float64Array) -> list[float]:
    cells: list[float] = values.ravel().tolist()
    return cells


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def robust_score(matrix: DiscoveryMatrix) -> float:
    """Return ``mean − λ·std`` of the cells' Sharpe ratios minus the complexity penalty.

    ``std`` is the population standard deviation (ddof = 0) over all fold × symbol cells, so a
    single cell has no spread term.
    """
    sharpe = _cells(matrix.sharpe)
    centre = _mean(sharpe)
    spread = math.sqrt(sum((value - centre) ** 2 for value in sharpe) / len(sharpe))
    return centre - matrix.robust_lambda * spread - matrix.complexity_penalty


def worst_drawdown(matrix: DiscoveryMatrix) -> float:
    """Return the largest maximum drawdown over the cells (a positive fraction)."""
    return float(max(_cells(matrix.max_drawdown)))


def complexity(matrix: DiscoveryMatrix) -> float:
    """Return the tree's node count."""
    return float(matrix.n_nodes)


def mean_sharpe(matrix: DiscoveryMatrix) -> float:
    """Return the mean annualised Sharpe ratio over the cells."""
    return _mean(_cells(matrix.sharpe))


def worst_sharpe(matrix: DiscoveryMatrix) -> float:
    """Return the lowest annualised Sharpe ratio over the cells."""
    return float(min(_cells(matrix.sharpe)))


def mean_return(matrix: DiscoveryMatrix) -> float:
    """Return the mean total return over the cells (a fraction)."""
    return _mean(_cells(matrix.total_return))


OBJECTIVES: dict[str, Objective] = {
    "robust_score": Objective(
        +1, robust_score, "mean − λ·std of fold × symbol Sharpe, minus the complexity penalty"
    ),
    "worst_drawdown": Objective(
        -1, worst_drawdown, "largest max drawdown over discovery fold × symbol cells"
    ),
    "complexity": Objective(-1, complexity, "node count of the tree"),
    "mean_sharpe": Objective(+1, mean_sharpe, "mean fold × symbol annualised Sharpe"),
    "worst_sharpe": Objective(+1, worst_sharpe, "lowest fold × symbol annualised Sharpe"),
    "mean_return": Objective(+1, mean_return, "mean fold × symbol total return"),
}
"""The objective registry: name -> (direction, function, description)."""


def _known() -> str:
    return ", ".join(OBJECTIVES)


class ObjectiveConfig(BaseModel):
    """Which objectives form the vector, the robust score's λ and the minimum-trades rule."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    names: tuple[str, ...] = Field(
        default=("robust_score", "worst_drawdown", "complexity"),
        description="objective vector, in order (names of fitness.OBJECTIVES)",
    )
    robust_lambda: float = Field(
        default=1.0, ge=0.0, description="λ of the robust score mean − λ·std of fold Sharpe"
    )
    min_trades_per_fold: int = Field(
        default=5,
        ge=0,
        description="fewer trades in any discovery fold × symbol makes an individual infeasible",
    )

    @field_validator("names")
    @classmethod
    def _known_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names:
            raise ValueError(f"expected at least one objective name (known: {_known()})")
        unknown = [name for name in names if name not in OBJECTIVES]
        if unknown:
            raise ValueError(f"unknown objective(s) {unknown}; expected names from: {_known()}")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"objective(s) {repeated} listed more than once; list each once")
        return names


class FitnessConfig(BaseModel):
    """The fitness section of a run: costs, folds, objectives, penalties, starting equity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    costs: CostModel = CostModel()
    folds: FoldConfig = FoldConfig()
    objectives: ObjectiveConfig = ObjectiveConfig()
    penalties: PenaltyConfig = PenaltyConfig()
    initial_equity: float = Field(
        default=1.0, gt=0.0, description="equity each segment's account starts with"
    )


def objective_directions(config: FitnessConfig | ObjectiveConfig) -> tuple[int, ...]:
    """Return the direction (+1 maximise, −1 minimise) of each configured objective, in order.

    These are the weights of DEAP's ``base.Fitness`` for the objective vector.
    """
    objectives = config.objectives if isinstance(config, FitnessConfig) else config
    return tuple(objective(name).direction for name in objectives.names)


def objective(name: str) -> Objective:
    """Return the registered objective ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the known names).
    """
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; expected one of: {_known()}") from None


def compute_objectives(matrix: DiscoveryMatrix, config: ObjectiveConfig) -> tuple[float, ...]:
    """Return the configured objective vector of ``matrix`` (config order)."""
    return tuple(objective(name).function(matrix) for name in config.names)


def infeasible_objectives(config: FitnessConfig | ObjectiveConfig) -> tuple[float, ...]:
    """Return the sentinel vector of an infeasible individual (dominated by every feasible one).

    Maximised objectives get −1e9 and minimised ones +1e9 (complexity and drawdown included),
    so under NSGA-II an infeasible individual is never in a better front than a feasible one.
    """
    return tuple(
        INFEASIBLE_MAXIMISED if direction > 0 else INFEASIBLE_MINIMISED
        for direction in objective_directions(config)
    )


def first_non_finite(values: tuple[float, ...], names: tuple[str, ...]) -> str:
    """Return the name of the first non-finite value, or ``""`` when all are finite."""
    for name, value in zip(names, values, strict=True):
        if not math.isfinite(value):
            return name
    return ""
