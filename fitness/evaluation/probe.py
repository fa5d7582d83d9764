"""Perturbation probe: does a strategy keep its score when its constants move by 10–20 %?

Run for hall-of-fame candidates only. A lucky parameter needle loses its score under small
perturbations; a robust strategy keeps most of it. ``stability`` = median copy score / own score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import primitives
from fitness.evaluation.market import Market
from fitness.evaluation.objectives import INFEASIBLE_MAXIMISED, FitnessConfig
from fitness.evaluation.semantic import SemanticCache
from fitness.evaluation.strategy import Evaluation, evaluate

EvaluateMany = Callable[[Sequence[str]], Sequence[Evaluation]]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Outcome of a perturbation probe.

    Attributes
    ----------
    stability : float
        ``median(scores) / own_score`` when ``own_score > 0``, else 0.0, where an infeasible
        copy scores 0 (it has no edge to keep; its −1e9 sentinel would swamp the median), and
        floored at −1. Near 1: the neighbourhood scores like the strategy; near 0 or
        negative: a needle.
    own_score : float
        The strategy's robust score (−1e9 when infeasible).
    scores : tuple of float
        Robust score of each perturbed copy (−1e9 for an infeasible copy).
    texts : tuple of str
        Canonical text of each copy (copies may repeat or equal the original when constants
        round back or the tree has no jitterable constant).
    """

    stability: float
    own_score: float
    scores: tuple[float, ...]
    texts: tuple[str, ...]


def perturbed_texts(
    text: str,
    rng: np.random.Generator,
    n_copies: int = 8,
    min_scale: float = 0.10,
    max_scale: float = 0.20,
) -> tuple[str, ...]:
    """Return ``n_copies`` texts of ``text`` with every window and level jittered.

    Each copy multiplies every jitterable constant by ``1 ± U(min_scale, max_scale)`` (a
    random sign per constant), rounded to the constant's precision and clamped to its legal
    range (``primitives.jitter_constants`` with ``min_scale``); hours and weekdays stay.
    """
    tree = primitives.parse(text)
    return tuple(
        primitives.to_text(primitives.jitter_constants(tree, rng, max_scale, min_scale=min_scale))
        for _ in range(n_copies)
    )


def perturbation_probe(
    text: str,
    market: Market,
    config: FitnessConfig,
    rng: np.random.Generator,
    *,
    n_copies: int = 8,
    min_scale: float = 0.10,
    max_scale: float = 0.20,
    evaluate_many: EvaluateMany | None = None,
) -> ProbeResult:
    """Score ``n_copies`` constant-jittered copies of a strategy against the strategy itself.

    Parameters
    ----------
    text : str
        The strategy's expression.
    market, config
        As for ``fitness.evaluate``.
    rng : numpy.random.Generator
        Source of every jitter draw (the same state gives the same copies).
    n_copies : int
        Number of perturbed copies (>= 1).
    min_scale, max_scale : float
        Each constant moves by a factor ``1 ± U(min_scale, max_scale)``.
    evaluate_many : callable, optional
        ``texts -> evaluations`` in the same order (e.g. an ``Evaluator``'s ``evaluate``), so
        the engine can run the copies through its parallel evaluator; by default they are
        evaluated here, serially, sharing one memo and semantic cache.

    Returns
    -------
    ProbeResult
        Scores are robust scores (``Evaluation.robust_score``); ``stability`` is
        ``median(scores) / own_score`` when ``own_score > 0``, else 0.0 (a strategy that does
        not score positively has no stability to speak of); infeasible copies count as 0 in
        the median and the ratio is floored at −1 (see ``ProbeResult``).

    Raises
    ------
    ValueError
        If ``n_copies < 1`` or the scales are not ``0 <= min_scale <= max_scale < 1``.
    ExpressionError
        If ``text`` does not parse.
    """
    if n_copies < 1:
        raise ValueError(f"perturbation_probe: n_copies must be >= 1, found {n_copies}")
    if not 0.0 <= min_scale <= max_scale < 1.0:
        raise ValueError(
            "perturbation_probe: expected 0 <= min_scale <= max_scale < 1, found "
            f"min_scale={min_scale}, max_scale={max_scale}"
        )
    canonical = primitives.to_text(primitives.parse(text))
    copies = perturbed_texts(canonical, rng, n_copies, min_scale, max_scale)
    if evaluate_many is None:
        evaluate_many = _serial(market, config)
    evaluations = list(evaluate_many([canonical, *copies]))
    own_score = evaluations[0].robust_score
    scores = tuple(evaluation.robust_score for evaluation in evaluations[1:])
    return ProbeResult(
        stability=stability_of(own_score, scores), own_score=own_score, scores=scores, texts=copies
    )


def stability_of(own_score: float, scores: Sequence[float]) -> float:
    """Return ``median(scores) / own_score`` with infeasible copies as 0, floored at −1.

    0.0 when ``own_score <= 0`` (infeasible or losing: nothing to be stable about).
    """
    if not own_score > 0.0 or not scores:
        return 0.0
    kept = [score if score > INFEASIBLE_MAXIMISED else 0.0 for score in scores]
    return max(float(np.median(kept)) / own_score, -1.0)


def _serial(market: Market, config: FitnessConfig) -> EvaluateMany:
    memo, cache = primitives.Memo(), SemanticCache()

    def evaluate_many(texts: Sequence[str]) -> list[Evaluation]:
        return [evaluate(text, market, config, memo=memo, cache=cache) for text in texts]

    return evaluate_many
