"""Effective number of trials of a search: leader clustering of the trials' return streams.

DSR needs N (independent trials) and V[SR_n] (STATISTICS.md §1.3). GP populations are full of
near-clones, so the raw count M overstates N. Following López de Prado (2020, ch. 8) in a form
that scales to tens of thousands of trials without an M × M matrix, the streams are clustered on
correlation and N = the number of clusters; the average-correlation shortcut
``N̂ = ρ̄ + (1 - ρ̄)·M`` (ρ̄ from sampled pairs) is reported next to it as a cross-check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fitness.errors import DataError
from fitness.stats.ratio import sharpe_from_moments_array
from primitives.arrays import Float64Array, Int64Array

_CHUNK_COLUMNS = 256
_EXACT_PAIRS_LIMIT = 200  # up to this many usable trials, ρ̄ uses every pair


@dataclass(frozen=True, slots=True)
class EffectiveTrials:
    """Outcome of :func:`effective_trials`.

    Attributes
    ----------
    n_trials : int
        Raw number of trials M (columns).
    n_effective : int
        Number of clusters (the N for DSR).
    labels : ndarray of int64, shape (n_trials,)
        Cluster of each trial, numbered in order of first appearance.
    leaders : ndarray of int64, shape (n_effective,)
        Column index of each cluster's leader (its first member).
    representative_sharpe : ndarray of float64, shape (n_effective,)
        Per-period Sharpe of each cluster's inverse-variance-weighted mean return stream.
    sharpe_variance : float
        Variance (ddof=1) of ``representative_sharpe``, the per-period V[SR_n] for DSR
        (0 with a single cluster).
    average_correlation : float
        ρ̄, mean pairwise correlation of the non-constant streams (exact up to 200 streams,
        else estimated on sampled pairs).
    n_effective_average_correlation : float
        The shortcut ``max(ρ̄, 0) + (1 - max(ρ̄, 0))·M``.
    """

    n_trials: int
    n_effective: int
    labels: Int64Array
    leaders: Int64Array
    representative_sharpe: Float64Array
    sharpe_variance: float
    average_correlation: float
    n_effective_average_correlation: float


def _standardise(block: Float64Array) -> tuple[Float64Array, Float64Array]:
    # columns scaled to zero mean and unit norm (so a dot product is a correlation); the
    # second output is each column's variance (ddof=1), 0 for a constant column
    centred = block - block.mean(axis=0)
    norms = np.sqrt(np.sum(centred**2, axis=0))
    scale = np.abs(block).max(axis=0) + 1e-300
    constant = norms <= 1e-12 * scale * np.sqrt(block.shape[0])
    unit = np.divide(centred, norms, out=np.zeros_like(centred), where=~constant)
    variance = np.where(constant, 0.0, norms**2 / (block.shape[0] - 1))
    return unit, variance


class _Clusters:
    """Greedy leader clustering state: leaders' unit vectors and IVP-weighted member sums."""

    def __init__(self, n_bars: int) -> None:
        self.leader_vectors = np.empty((n_bars, 16))
        self.weighted_sums = np.empty((n_bars, 16))
        self.weights: list[float] = []
        self.leaders: list[int] = []
        self.flat_label = -1

    def add(self, column: int, unit: Float64Array) -> int:
        label = len(self.leaders)
        if label == self.leader_vectors.shape[1]:
            self.leader_vectors = np.concatenate([self.leader_vectors, self.leader_vectors], 1)
            self.weighted_sums = np.concatenate([self.weighted_sums, self.weighted_sums], 1)
        self.leader_vectors[:, label] = unit
        self.weighted_sums[:, label] = 0.0
        self.weights.append(0.0)
        self.leaders.append(column)
        return label


def _assign_chunk(
    clusters: _Clusters,
    begin: int,
    unit: Float64Array,
    variance: Float64Array,
    threshold: float,
) -> Int64Array:
    labels = np.empty(unit.shape[1], dtype=np.int64)
    n_existing = len(clusters.leaders)
    existing = unit.T @ clusters.leader_vectors[:, :n_existing]  # (chunk, K)
    for offset in range(unit.shape[1]):
        if variance[offset] == 0.0:
            # constant streams (never trade) are one trial: they cannot correlate with anything
            if clusters.flat_label < 0:
                clusters.flat_label = clusters.add(begin + offset, unit[:, offset])
            labels[offset] = clusters.flat_label
            continue
        hits = np.flatnonzero(existing[offset] >= threshold)
        if hits.size == 0 and len(clusters.leaders) > n_existing:
            new = unit[:, offset] @ clusters.leader_vectors[:, n_existing : len(clusters.leaders)]
            hits = n_existing + np.flatnonzero(new >= threshold)
        hits = hits[hits != clusters.flat_label]
        labels[offset] = hits[0] if hits.size else clusters.add(begin + offset, unit[:, offset])
    return labels


def _accumulate(
    clusters: _Clusters, block: Float64Array, variance: Float64Array, labels: Int64Array
) -> None:
    # inverse-variance weighted member sums per cluster (constant members get weight 1)
    weights = np.where(variance > 0.0, 1.0 / np.where(variance > 0.0, variance, 1.0), 1.0)
    order = np.argsort(labels, kind="stable")
    unique, starts = np.unique(labels[order], return_index=True)
    sums = np.add.reduceat(block[:, order] * weights[order], starts, axis=1)
    clusters.weighted_sums[:, unique] += sums
    for label, total in zip(unique, np.add.reduceat(weights[order], starts), strict=True):
        clusters.weights[label] += float(total)


def _average_correlation(
    matrix: npt.NDArray[np.floating], usable: Int64Array, n_pairs: int, seed: int
) -> float:
    if usable.size < 2:
        return 0.0
    if usable.size <= _EXACT_PAIRS_LIMIT:
        unit, _ = _standardise(np.asarray(matrix[:, usable], dtype=np.float64))
        correlation = unit.T @ unit
        upper = np.triu_indices(usable.size, k=1)
        return float(np.mean(correlation[upper]))
    rng = np.random.default_rng(seed)
    first = rng.integers(0, usable.size, n_pairs)
    second = (first + rng.integers(1, usable.size, n_pairs)) % usable.size  # never equal
    unit_first, _ = _standardise(np.asarray(matrix[:, usable[first]], dtype=np.float64))
    unit_second, _ = _standardise(np.asarray(matrix[:, usable[second]], dtype=np.float64))
    return float(np.mean(np.sum(unit_first * unit_second, axis=0)))


def effective_trials(
    returns: npt.ArrayLike,
    threshold: float = 0.8,
    *,
    n_pairs: int = 5000,
    seed: int = 0,
) -> EffectiveTrials:
    """Return the effective number of trials and V[SR_n] of a search from its return streams.

    Clustering is deterministic greedy leader clustering in column order: a trial joins the
    first cluster whose leader it correlates with at ``ρ >= threshold``, else it starts a new
    cluster with itself as leader. Constant streams (e.g. never trading) form one cluster.
    Memory is O(T·K) for K clusters, time O(T·M·K). A member may correlate with its leader at
    ``threshold`` yet with another member less, so a higher threshold counts more clusters: the
    conservative direction for DSR (default 0.8). Each cluster's representative stream is the
    inverse-variance-weighted mean of its members (López de Prado 2020, ch. 8).

    Parameters
    ----------
    returns : array_like of float32/float64, shape (n_bars, n_trials)
        Per-period returns of every evaluated trial on the same bars (finite).
    threshold : float
        Correlation in (-1, 1] at or above which a trial joins a leader's cluster.
    n_pairs : int
        Number of random pairs for ρ̄ when there are more than 200 non-constant trials.
    seed : int
        Seed of the pair sampling (determinism).
    """
    matrix = np.asarray(returns)
    if matrix.ndim != 2 or matrix.shape[0] < 3 or matrix.shape[1] < 1:
        raise DataError(
            f"returns: expected a 2-D array (n_bars >= 3, n_trials >= 1), found {matrix.shape}"
        )
    if not -1.0 < threshold <= 1.0:
        raise ValueError(f"threshold: expected a correlation in (-1, 1], found {threshold}")
    n_bars, n_trials = matrix.shape
    clusters = _Clusters(n_bars)
    labels = np.empty(n_trials, dtype=np.int64)
    usable_parts = []
    for begin in range(0, n_trials, _CHUNK_COLUMNS):
        block = np.asarray(matrix[:, begin : begin + _CHUNK_COLUMNS], dtype=np.float64)
        bad = np.argwhere(~np.isfinite(block))
        if bad.size:
            row, column = bad[0]
            raise DataError(
                f"returns: row {row}, column {begin + column} is {block[row, column]} "
                "(not finite); record infeasible trials with finite (e.g. zero) returns"
            )
        unit, variance = _standardise(block)
        chunk_labels = _assign_chunk(clusters, begin, unit, variance, threshold)
        labels[begin : begin + block.shape[1]] = chunk_labels
        _accumulate(clusters, block, variance, chunk_labels)
        usable_parts.append(begin + np.flatnonzero(variance > 0.0))
    n_effective = len(clusters.leaders)
    representatives = clusters.weighted_sums[:, :n_effective] / np.asarray(clusters.weights)
    mean = representatives.mean(axis=0)
    std = representatives.std(axis=0, ddof=1)
    sharpe = sharpe_from_moments_array(mean, std)
    rho = _average_correlation(matrix, np.concatenate(usable_parts), n_pairs, seed)
    rho_clipped = min(max(rho, 0.0), 1.0)
    return EffectiveTrials(
        n_trials=n_trials,
        n_effective=n_effective,
        labels=labels,
        leaders=np.asarray(clusters.leaders, dtype=np.int64),
        representative_sharpe=sharpe,
        sharpe_variance=float(np.var(sharpe, ddof=1)) if n_effective > 1 else 0.0,
        average_correlation=rho,
        n_effective_average_correlation=rho_clipped + (1.0 - rho_clipped) * n_trials,
    )
