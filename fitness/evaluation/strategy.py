"""Evaluate one strategy on a market: targets → costed backtest of every segment → objectives.

``evaluate`` computes each symbol's targets once (on the bars evolution may see, or on the whole
series when the holdout is asked for), backtests every walk-forward segment from flat through
``fitness.simulate_segment`` (sharing identical segments through a ``SemanticCache``), reduces
the discovery fold × symbol matrix to the configured objective vector and aggregates the
validation (and optionally holdout) results with their daily return records.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

import primitives
from fitness.backtest.metrics import segment_metrics
from fitness.backtest.simulate import SegmentResult, simulate_segment
from fitness.data.series import BarSeries
from fitness.evaluation.aggregate import (
    daily_returns,
    mean,
    merge_pieces,
    population_std,
    split_summary,
)
from fitness.evaluation.funding import check_funding_bars
from fitness.evaluation.market import Market, NamedSegment, SeriesPrefix
from fitness.evaluation.objectives import (
    INFEASIBLE_MAXIMISED,
    DiscoveryMatrix,
    FitnessConfig,
    first_non_finite,
    infeasible_objectives,
    objective,
)
from fitness.evaluation.penalties import complexity_penalty
from fitness.evaluation.semantic import SemanticCache, TargetFingerprint
from primitives.arrays import Float64Array

if TYPE_CHECKING:
    from deap import gp

_EMPTY_RETURNS = np.empty(0, dtype=np.float32)
_EMPTY_RETURNS.flags.writeable = False


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """Metrics of one named segment on one symbol (a row of the fold × symbol table).

    ``metrics`` holds ``fitness.backtest.metrics.SEGMENT_METRIC_NAMES`` plus ``n_bars``.
    """

    segment: str
    kind: str
    symbol: str
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """Everything the engine and the promoter need to know about one evaluated strategy.

    Attributes
    ----------
    id, text : str
        Strategy id and canonical text (DESIGN §3).
    pretty : str
        Human-readable form of the expression (rendered once, from the evaluated tree).
    n_nodes, depth, lookback_bars : int
        Tree size, height and indicator warm-up in bars.
    objectives : tuple of float
        The configured objective vector (``ObjectiveConfig.names`` order) before the lineage
        penalty; the complexity penalty is already inside ``robust_score``. Infeasible
        individuals hold the sentinels of ``fitness.evaluation.objectives.infeasible_objectives``.
    feasible : bool
        False when a discovery fold × symbol has fewer than ``min_trades_per_fold`` trades or
        a statistic is not finite; ``infeasible_reason`` then says which (else ``""``).
    table : tuple of SegmentRow
        Discovery-1..K × symbol rows, then validation × symbol, then holdout × symbol (only
        when evaluated with ``include_holdout=True``).
    train : dict of str to float
        Aggregates over the discovery cells: ``robust_score``, ``sharpe`` (mean),
        ``sharpe_std``, ``worst_sharpe``, ``max_drawdown`` (worst), ``total_return`` (mean),
        ``n_trades`` (sum), ``min_trades``, ``exposure`` (mean), ``turnover`` (mean),
        ``complexity_penalty``.
    validation : dict of str to float
        Aggregates over symbols of the validation segment: ``sharpe``, ``sortino``,
        ``total_return``, ``exposure``, ``turnover`` (means), ``max_drawdown`` (worst),
        ``n_trades`` (sum), ``daily_sharpe`` (mean / std(ddof=1) of ``validation_returns``,
        per day, not annualised; 0 when undefined) and ``n_days``. Empty without validation.
    validation_returns : ndarray of float32, shape (n_days,)
        Equal-weight mean across symbols of each symbol's compounded return per day bucket
        (``bars_per_day`` bars from the segment's start) over validation: the trial record of
        the promoter's effective number of trials. Read-only.
    holdout, holdout_returns
        The same for the holdout; None unless evaluated with ``include_holdout=True``.
    semantic_hash : str
        128-bit hex digest (32 characters, truncated SHA-256) over every symbol's normalised
        target (NaN → 0) on the bars up to the end of validation: equal hashes mean identical
        discovery and validation results.
    """

    id: str
    text: str
    pretty: str
    n_nodes: int
    depth: int
    lookback_bars: int
    objectives: tuple[float, ...]
    feasible: bool
    infeasible_reason: str
    table: tuple[SegmentRow, ...]
    train: dict[str, float]
    validation: dict[str, float]
    validation_returns: np.ndarray
    holdout: dict[str, float] | None
    holdout_returns: np.ndarray | None
    semantic_hash: str

    # ignore[assignment] below: unhashable on purpose (holds arrays); typeshed: a method
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Evaluation):
            return NotImplemented
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
                if not _same_array(mine, theirs):
                    return False
            elif mine != theirs:
                return False
        return True

    @property
    def robust_score(self) -> float:
        """Return the robust score (penalised for complexity), −1e9 when infeasible."""
        return self.train["robust_score"] if self.feasible else INFEASIBLE_MAXIMISED


# Python-object overhead of an Evaluation (measured with a recursive getsizeof over 200 random
# strategies at 100,000 bars: 8.8 KB for 5 table rows and 2.5 KB of returns): per table row
# (a SegmentRow and its ~15-metric dict), per aggregate entry, and fixed (strings, tuples)
EVALUATION_BASE_BYTES = 1_500
EVALUATION_ROW_BYTES = 1_200
EVALUATION_AGGREGATE_BYTES = 100


def evaluation_bytes(evaluation: Evaluation) -> int:
    """Return an estimate of the memory an ``Evaluation`` holds (its arrays and objects).

    Used as the size of the engine's result cache entries, so its byte budget holds.
    """
    arrays = evaluation.validation_returns.nbytes
    if evaluation.holdout_returns is not None:
        arrays += evaluation.holdout_returns.nbytes
    aggregates = len(evaluation.train) + len(evaluation.validation)
    aggregates += len(evaluation.holdout) if evaluation.holdout is not None else 0
    return (
        EVALUATION_BASE_BYTES
        + EVALUATION_ROW_BYTES * len(evaluation.table)
        + EVALUATION_AGGREGATE_BYTES * aggregates
        + 2 * (len(evaluation.text) + len(evaluation.pretty))
        + int(arrays)
    )


def _same_array(a: object, b: object) -> bool:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@dataclass(frozen=True, slots=True)
class _Cell:
    named: NamedSegment
    symbol: str
    result: SegmentResult
    metrics: dict[str, float]
    daily: Float64Array | None


def evaluate(
    tree_or_text: str | gp.PrimitiveTree | primitives.CompiledStrategy,
    market: Market,
    config: FitnessConfig,
    *,
    memo: primitives.Memo | None = None,
    cache: SemanticCache | None = None,
    include_holdout: bool = False,
) -> Evaluation:
    """Backtest a strategy over every walk-forward segment of ``market`` and score it.

    Each symbol's targets are computed once over the bars up to the end of validation (the
    whole series with ``include_holdout``): strategies are causal, so every segment's targets
    equal those of a run on its own past, and indicators warm up on earlier bars only. Every
    segment is backtested from flat (``simulate_segment``); under the "split" gap policy the
    pieces of one named segment are chained into one account
    (``fitness.evaluation.aggregate.merge_pieces``).

    Parameters
    ----------
    tree_or_text : str, deap.gp.PrimitiveTree or primitives.CompiledStrategy
        The strategy (canonical or parseable text, or a tree).
    market : Market
        Symbols and their walk-forward timeline.
    config : FitnessConfig
        Costs, objectives, penalties, starting equity.
    memo : primitives.Memo, optional
        Subtree memo shared across strategies (one per worker).
    cache : SemanticCache, optional
        Segment backtests shared across strategies with identical targets (one per worker).
    include_holdout : bool
        Also backtest the holdout (the promoter's final test; evolution never sets it).

    Returns
    -------
    Evaluation

    Raises
    ------
    ExpressionError
        If the text does not parse or the tree is not a strategy.
    FundingTimeframeError
        If funding is enabled on a timeframe whose bar opens miss settlements
        (``fitness.evaluation.funding``).
    """
    check_funding_bars(market.series, config.costs)
    strategy = (
        tree_or_text
        if isinstance(tree_or_text, primitives.CompiledStrategy)
        else primitives.compile(tree_or_text)
    )
    if cache is not None:
        cache.bind((config.costs, config.initial_equity))
    cells: list[list[_Cell]] = []
    digests: list[bytes] = []
    for index, series in enumerate(market.series):
        bars = series if include_holdout else market.evolution_bars(index)
        target = strategy.positions(bars, memo)
        fingerprint = TargetFingerprint(target, f"strategy {strategy.id} on {series.symbol}")
        # each evolution bar is hashed once: the ranges' digests serve the cache keys too
        evolution_ranges = market.evolution_ranges(index)
        ranges = dict(zip(evolution_ranges, fingerprint.digests(evolution_ranges), strict=True))
        digests.append(hashlib.sha256(b"".join(ranges.values())).digest()[:16])
        cells.append(
            [
                _evaluate_cell(market, index, named, bars, fingerprint, ranges, config, cache)
                for named in market.named_segments(index)
                if include_holdout or named.kind != "holdout"
            ]
        )
    return _assemble(strategy, market, config, cells, digests, include_holdout)


def _evaluate_cell(
    market: Market,
    index: int,
    named: NamedSegment,
    bars: SeriesPrefix | BarSeries,
    fingerprint: TargetFingerprint,
    digests: dict[tuple[int, int], bytes],
    config: FitnessConfig,
    cache: SemanticCache | None,
) -> _Cell:
    series = market.series[index]
    bucket_bars = 0 if named.kind == "discovery" else market.bars_per_day
    results = []
    for piece in named.pieces:
        key = None
        if cache is not None:
            digest = digests.get((piece.start, piece.stop))
            if digest is None:  # a holdout piece
                digest = fingerprint.digest(piece.start, piece.stop)
            key = (series.content_hash, piece.start, piece.stop, bucket_bars, digest)
            hit = cache.get(key)
            if hit is not None:
                results.append(hit)
                continue
        result = simulate_segment(
            bars.open,
            bars.close,
            bars.funding_rate,
            fingerprint.target,
            config.costs,
            piece.start,
            piece.stop,
            initial_equity=config.initial_equity,
            bucket_bars=bucket_bars,
            validate=False,
        )
        if cache is not None:
            cache.put(key, result)
        results.append(result)
    merged = results[0] if len(results) == 1 else merge_pieces(results)
    metrics = segment_metrics(merged, market.timeframe)
    metrics["n_bars"] = float(merged.summary.n_bars)
    daily = None if bucket_bars == 0 else daily_returns(market, index, named, results)
    return _Cell(named, series.symbol, merged, metrics, daily)


def _assemble(
    strategy: primitives.CompiledStrategy,
    market: Market,
    config: FitnessConfig,
    cells: list[list[_Cell]],
    digests: list[bytes],
    include_holdout: bool,
) -> Evaluation:
    by_kind: dict[str, list[list[_Cell]]] = {}
    for per_symbol in zip(*cells, strict=True):  # one named segment, every symbol
        by_kind.setdefault(per_symbol[0].named.kind, []).append(list(per_symbol))
    discovery = by_kind["discovery"]
    matrix = _discovery_matrix(discovery, strategy.size, config)
    names = config.objectives.names
    scores = {name: objective(name).function(matrix) for name in {*names, *_TRAIN_OBJECTIVES}}
    objectives = tuple(scores[name] for name in names)
    reason = _infeasible_reason(discovery, matrix, objectives, config)
    if reason:
        objectives = infeasible_objectives(config)
    validation, validation_returns = _split_summary(by_kind.get("validation"))
    holdout, holdout_returns = (None, None)
    if include_holdout:
        holdout, holdout_returns = _split_summary(by_kind.get("holdout"))
    hasher = hashlib.sha256()
    for digest in digests:
        hasher.update(digest)
    return Evaluation(
        id=strategy.id,
        text=strategy.text,
        pretty=strategy.pretty,
        n_nodes=strategy.size,
        depth=strategy.depth,
        lookback_bars=strategy.lookback,
        objectives=objectives,
        feasible=not reason,
        infeasible_reason=reason,
        table=tuple(
            SegmentRow(cell.named.name, cell.named.kind, cell.symbol, cell.metrics)
            for group in (by_kind.get(kind, []) for kind in ("discovery", "validation", "holdout"))
            for row in group
            for cell in row
        ),
        train=_train_summary(discovery, matrix, scores),
        validation=validation,
        validation_returns=validation_returns,
        holdout=holdout,
        holdout_returns=holdout_returns,
        semantic_hash=hasher.hexdigest()[:32],
    )


def _discovery_matrix(
    discovery: list[list[_Cell]], n_nodes: int, config: FitnessConfig
) -> DiscoveryMatrix:
    def column(name: str) -> Float64Array:
        return np.array([[cell.metrics[name] for cell in row] for row in discovery])

    return DiscoveryMatrix(
        sharpe=column("sharpe"),
        max_drawdown=column("max_drawdown"),
        total_return=column("total_return"),
        n_trades=column("n_trades"),
        n_nodes=n_nodes,
        complexity_penalty=complexity_penalty(n_nodes, config.penalties),
        robust_lambda=config.objectives.robust_lambda,
    )


def _infeasible_reason(
    discovery: list[list[_Cell]],
    matrix: DiscoveryMatrix,
    objectives: tuple[float, ...],
    config: FitnessConfig,
) -> str:
    minimum = config.objectives.min_trades_per_fold
    short = [cell for row in discovery for cell in row if cell.metrics["n_trades"] < minimum]
    if short:
        cell = short[0]
        return (
            f"{cell.named.name} × {cell.symbol}: {int(cell.metrics['n_trades'])} trades, below "
            f"min_trades_per_fold = {minimum} ({len(short)} of {matrix.sharpe.size} discovery "
            "cells below)"
        )
    for name in ("sharpe", "max_drawdown", "total_return"):
        values = getattr(matrix, name).ravel().tolist()
        if not all(math.isfinite(value) for value in values):
            return f"discovery {name} is not finite ({values})"
    bad = first_non_finite(objectives, config.objectives.names)
    return f"objective {bad} is not finite" if bad else ""


_TRAIN_OBJECTIVES = ("robust_score", "mean_sharpe", "worst_sharpe", "worst_drawdown", "mean_return")


def _train_summary(
    discovery: list[list[_Cell]], matrix: DiscoveryMatrix, scores: dict[str, float]
) -> dict[str, float]:
    cells = [cell.metrics for row in discovery for cell in row]
    n_trades = matrix.n_trades.ravel().tolist()
    return {
        "robust_score": scores["robust_score"],
        "sharpe": scores["mean_sharpe"],
        "sharpe_std": population_std(matrix.sharpe.ravel().tolist()),
        "worst_sharpe": scores["worst_sharpe"],
        "max_drawdown": scores["worst_drawdown"],
        "total_return": scores["mean_return"],
        "n_trades": float(sum(n_trades)),
        "min_trades": float(min(n_trades)),
        "exposure": mean([m["exposure"] for m in cells]),
        "turnover": mean([m["turnover"] for m in cells]),
        "complexity_penalty": matrix.complexity_penalty,
    }


def _split_summary(groups: list[list[_Cell]] | None) -> tuple[dict[str, float], np.ndarray]:
    if not groups:
        return {}, _EMPTY_RETURNS
    cells = [cell for row in groups for cell in row]
    return split_summary([cell.metrics for cell in cells], [cell.daily for cell in cells])
