"""Score penalties: parsimony (per tree node) and lineage stability (lucky needles among relatives).

Plain floats and arrays in, a non-negative float out (subtracted from the robust score). The
layer above supplies the relatives' scores (parents, grandparents, siblings from the lineage)
and their structural similarity to the individual; this module never sees a tree or a lineage.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from primitives.arrays import Float64Array


class PenaltyConfig(BaseModel):
    """Weights of the score penalties (a section of the run config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complexity_per_node: float = Field(
        default=0.002, ge=0.0, description="subtracted from the robust score per tree node"
    )
    lineage_gamma: float = Field(
        default=0.5, ge=0.0, description="γ: share of the unexplained excess that is removed"
    )
    lineage_min_relatives: int = Field(
        default=2, ge=1, description="fewer evaluated relatives -> no lineage penalty"
    )
    lineage_tolerance: float = Field(
        default=3.0,
        ge=0.0,
        description="excess allowed, in weighted MADs of the relatives' scores around their "
        "neighbourhood score (their natural spread)",
    )


def complexity_penalty(n_nodes: int, config: PenaltyConfig) -> float:
    """Return the parsimony penalty ``complexity_per_node · n_nodes``.

    Parameters
    ----------
    n_nodes : int
        Number of nodes of the strategy's tree (>= 1).
    config : PenaltyConfig
        Penalty weights.
    """
    if isinstance(n_nodes, bool) or int(n_nodes) != n_nodes or n_nodes < 1:
        raise ValueError(f"n_nodes: expected a node count >= 1, found {n_nodes!r}")
    return config.complexity_per_node * int(n_nodes)


def weighted_median(values: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """Return the weighted median of ``values``.

    Sort the values; the median is the first value at which the cumulative weight reaches half
    the total. Tie convention: when the cumulative weight equals exactly half the total there
    (within 1e-12 relative), return the mean of that value and the next one, so equal weights
    give the ordinary median (mean of the middle two for an even count). Zero weights are
    ignored.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        Finite values.
    weights : array_like of float, shape (n,)
        Finite non-negative weights with a positive total.
    """
    array, weight = _checked_pairs(values, weights)
    keep = weight > 0.0
    if not np.any(keep):
        raise ValueError("weights: expected a positive total weight, found all zero")
    array, weight = array[keep], weight[keep]
    order = np.argsort(array, kind="stable")
    array, weight = array[order], weight[order]
    cumulative = np.cumsum(weight)
    half = cumulative[-1] / 2.0
    index = int(np.searchsorted(cumulative, half * (1.0 - 1e-12), side="left"))
    if abs(cumulative[index] - half) <= 1e-12 * cumulative[-1] and index + 1 < array.size:
        return float((array[index] + array[index + 1]) / 2.0)
    return float(array[index])


def _checked_pairs(values: npt.ArrayLike, weights: npt.ArrayLike) -> tuple[Float64Array, ...]:
    array = np.asarray(values, dtype=np.float64).ravel()
    weight = np.asarray(weights, dtype=np.float64).ravel()
    if array.size != weight.size:
        raise ValueError(
            f"values and weights: expected equal lengths, found {array.size} and {weight.size}"
        )
    if not np.all(np.isfinite(weight)) or np.any(weight < 0.0):
        raise ValueError(f"weights: expected finite values >= 0, found {weight.tolist()}")
    return array, weight


def _valid_relatives(
    relative_scores: npt.ArrayLike, similarities: npt.ArrayLike
) -> tuple[Float64Array, Float64Array]:
    # infeasible relatives (NaN, ±inf scores) and zero-similarity ones carry no information
    scores, weights = _checked_pairs(relative_scores, similarities)
    keep = np.isfinite(scores) & (weights > 0.0)
    return scores[keep], weights[keep]


def neighbourhood_score(relative_scores: npt.ArrayLike, similarities: npt.ArrayLike) -> float:
    """Return the similarity-weighted median of the relatives' scores (NaN if none is usable).

    Relatives with a non-finite score (infeasible) or zero similarity are ignored.

    Parameters
    ----------
    relative_scores : array_like of float, shape (n_relatives,)
        Scores of the evaluated relatives (same objective/scale as the individual's score).
    similarities : array_like of float, shape (n_relatives,)
        Structural similarity of each relative to the individual, >= 0 (typically in [0, 1]).
    """
    scores, weights = _valid_relatives(relative_scores, similarities)
    return weighted_median(scores, weights) if scores.size else math.nan


def lineage_stability_penalty(
    score: float,
    relative_scores: npt.ArrayLike,
    similarities: npt.ArrayLike,
    config: PenaltyConfig,
) -> float:
    """Return the lineage-stability penalty of an individual that towers over its relatives.

    With ``m`` = :func:`neighbourhood_score` and the relatives' spread
    ``s = weighted_median(|relative_scores - m|, similarities)`` (weighted MAD), the penalty is
    ``γ · max(0, score - m - tolerance · s)``: only the excess beyond what the relatives' own
    differences explain counts, so a plateau with natural noise is not penalised while a lucky
    needle loses ``γ`` of its unexplained height. Zero when fewer than
    ``lineage_min_relatives`` relatives are usable or when ``score`` itself is not finite.

    Parameters
    ----------
    score : float
        The individual's score (higher is better).
    relative_scores : array_like of float, shape (n_relatives,)
        Scores of its evaluated relatives; NaN/±inf (infeasible) are ignored.
    similarities : array_like of float, shape (n_relatives,)
        Structural similarity of each relative to the individual, >= 0; 0 means ignored.
    config : PenaltyConfig
        ``lineage_gamma``, ``lineage_min_relatives`` and ``lineage_tolerance``.

    Examples
    --------
    Relatives [0.1, 0.2, 0.15] (equal weights): m = 0.15, s = 0.05; a needle at 3.15 with the
    defaults (γ 0.5, tolerance 3) loses ``0.5 · (3.0 - 0.15) = 1.425``.
    """
    scores, weights = _valid_relatives(relative_scores, similarities)
    if not math.isfinite(score) or scores.size < config.lineage_min_relatives:
        return 0.0
    centre = weighted_median(scores, weights)
    spread = weighted_median(np.abs(scores - centre), weights)
    excess = score - centre - config.lineage_tolerance * spread
    return config.lineage_gamma * max(0.0, excess)
