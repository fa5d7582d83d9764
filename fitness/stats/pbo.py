"""Backtest-overfitting diagnostics: PBO by CSCV and combinatorial purged CV (CPCV) splits/paths.

PBO follows Bailey, Borwein, López de Prado & Zhu (2017) as in STATISTICS.md §2; CPCV follows
AFML ch. 12 (STATISTICS.md §3.3). Both are pure numpy; PBO is vectorised over the C(S, S/2)
combinations with per-block sufficient statistics (count, sum, centred sum of squares).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from fitness.errors import DataError
from fitness.stats.ratio import sharpe_from_moments_array
from primitives.arrays import BoolArray, Float64Array, Int64Array

MetricName = Literal["sharpe", "mean"]
MetricFunction = Callable[[Float64Array], Float64Array]
_MAX_CHUNK_CELLS = 4_000_000  # combinations × trials per vectorised chunk (memory bound)


@dataclass(frozen=True, slots=True)
class PBOResult:
    """Outcome of :func:`pbo_cscv`; arrays have one entry per combination (in-sample split).

    Attributes
    ----------
    pbo : float
        Fraction of combinations whose logit is <= 0 (the in-sample winner lands at or below
        the out-of-sample median).
    logits : ndarray of float64, shape (n_combinations,)
        ``λ_c = ln(ω_c / (1 - ω_c))`` with ``ω_c = rank / (N + 1)`` (rank 1 = worst OOS).
    prob_oos_loss : float
        Fraction of combinations whose selected trial has an OOS metric < 0.
    degradation_slope, degradation_intercept : float
        OLS fit ``oos_metric = intercept + slope · is_metric`` across combinations (slope < 0
        is the overfitting signature; slope 0 when the IS metric does not vary).
    is_metric, oos_metric : ndarray of float64, shape (n_combinations,)
        In-sample and out-of-sample metric of the selected trial.
    selected : ndarray of int64, shape (n_combinations,)
        Column index of the in-sample winner (first index on ties).
    n_blocks : int
        Number of blocks S actually used.
    """

    pbo: float
    logits: Float64Array
    prob_oos_loss: float
    degradation_slope: float
    degradation_intercept: float
    is_metric: Float64Array
    oos_metric: Float64Array
    selected: Int64Array
    n_blocks: int

    @property
    def n_combinations(self) -> int:
        """Return the number of in-sample/out-of-sample splits, C(S, S/2)."""
        return int(self.logits.size)


def _performance_matrix(performance_matrix: npt.ArrayLike, n_blocks: int) -> Float64Array:
    matrix = np.asarray(performance_matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise DataError(
            f"performance_matrix: expected a 2-D array (n_bars × n_trials), found {matrix.shape}"
        )
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks: expected an even number >= 2, found {n_blocks}")
    n_bars, n_trials = matrix.shape
    if n_trials < 2:
        raise DataError(f"performance_matrix: need at least 2 trials (columns), found {n_trials}")
    if n_bars // n_blocks < 2:
        raise DataError(
            f"performance_matrix: {n_bars} rows give blocks of {n_bars // n_blocks} rows for "
            f"n_blocks = {n_blocks}; need at least 2 rows per block (lower n_blocks)"
        )
    bad = np.argwhere(~np.isfinite(matrix))
    if bad.size:
        row, column = bad[0]
        raise DataError(
            f"performance_matrix: row {row}, column {column} is {matrix[row, column]} "
            "(not finite); drop or fill non-finite returns first"
        )
    return matrix


def _combination_membership(n_blocks: int) -> npt.NDArray[np.float64]:
    # one row per combination (lexicographic order), 1.0 where the block is in-sample
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    membership = np.zeros((combos.shape[0], n_blocks))
    np.put_along_axis(membership, combos, 1.0, axis=1)
    return membership


def _sharpe_from_sums(
    count: float, total: Float64Array, centred_total: Float64Array, centred_squares: Float64Array
) -> Float64Array:
    # variance from sums of values centred on the column's full-sample mean (shift-invariant,
    # avoids the cancellation of sum(x²) - sum(x)²/n)
    variance = (centred_squares - centred_total**2 / count) / (count - 1.0)
    std = np.sqrt(np.maximum(variance, 0.0))
    return sharpe_from_moments_array(total / count, std)


def _vectorised_metrics(
    matrix: Float64Array, n_blocks: int, metric: str, membership: npt.NDArray[np.float64]
) -> tuple[Int64Array, Float64Array, Float64Array, Float64Array]:
    block_rows = matrix.shape[0] // n_blocks
    blocks = matrix[: block_rows * n_blocks].reshape(n_blocks, block_rows, -1)
    column_mean = blocks.mean(axis=(0, 1))
    centred = blocks - column_mean
    block_sum = blocks.sum(axis=1)  # (S, N)
    block_centred = centred.sum(axis=1)
    block_squares = (centred**2).sum(axis=1)
    half_rows = float(block_rows * n_blocks // 2)
    total_sum, total_centred, total_squares = (
        block_sum.sum(0),
        block_centred.sum(0),
        block_squares.sum(0),
    )
    n_trials = matrix.shape[1]
    chunk = max(1, _MAX_CHUNK_CELLS // n_trials)
    selected, is_best, oos_best, oos_rank = [], [], [], []
    for begin in range(0, membership.shape[0], chunk):
        rows = membership[begin : begin + chunk]
        is_sum, is_centred, is_squares = (
            rows @ block_sum,
            rows @ block_centred,
            rows @ block_squares,
        )
        if metric == "sharpe":
            is_metric = _sharpe_from_sums(half_rows, is_sum, is_centred, is_squares)
            oos_metric = _sharpe_from_sums(
                half_rows,
                total_sum - is_sum,
                total_centred - is_centred,
                total_squares - is_squares,
            )
        else:
            is_metric, oos_metric = is_sum / half_rows, (total_sum - is_sum) / half_rows
        chosen = np.argmax(is_metric, axis=1)
        take = np.arange(rows.shape[0])
        chosen_oos = oos_metric[take, chosen]
        selected.append(chosen)
        is_best.append(is_metric[take, chosen])
        oos_best.append(chosen_oos)
        oos_rank.append(_average_rank(oos_metric, chosen_oos))
    return (
        np.concatenate(selected).astype(np.int64),
        np.concatenate(is_best),
        np.concatenate(oos_best),
        np.concatenate(oos_rank),
    )


def _average_rank(values: Float64Array, target: Float64Array) -> Float64Array:
    # rank of target within each row (1 = lowest), ties share their average rank
    below = (values < target[:, None]).sum(axis=1)
    equal = (values == target[:, None]).sum(axis=1)
    rank: Float64Array = below + (equal + 1.0) / 2.0
    return rank


def _callable_metrics(
    matrix: Float64Array, n_blocks: int, metric: MetricFunction, membership: npt.NDArray[np.float64]
) -> tuple[Int64Array, Float64Array, Float64Array, Float64Array]:
    block_rows = matrix.shape[0] // n_blocks
    blocks = matrix[: block_rows * n_blocks].reshape(n_blocks, block_rows, -1)
    n_combinations = membership.shape[0]
    selected = np.zeros(n_combinations, dtype=np.int64)
    is_best, oos_best, oos_rank = (np.zeros(n_combinations) for _ in range(3))
    for index, row in enumerate(membership):
        in_sample = blocks[row == 1.0].reshape(-1, matrix.shape[1])
        out_of_sample = blocks[row == 0.0].reshape(-1, matrix.shape[1])
        is_metric = np.asarray(metric(in_sample), dtype=np.float64)
        oos_metric = np.asarray(metric(out_of_sample), dtype=np.float64)
        if is_metric.shape != (matrix.shape[1],) or oos_metric.shape != is_metric.shape:
            raise ValueError(
                f"metric: expected one value per trial, shape ({matrix.shape[1]},), "
                f"found {is_metric.shape}"
            )
        chosen = int(np.argmax(is_metric))
        selected[index], is_best[index], oos_best[index] = (
            chosen,
            is_metric[chosen],
            oos_metric[chosen],
        )
        oos_rank[index] = _average_rank(oos_metric[None, :], oos_metric[chosen : chosen + 1])[0]
    return selected, is_best, oos_best, oos_rank


def pbo_cscv(
    performance_matrix: npt.ArrayLike,
    n_blocks: int = 16,
    metric: MetricName | MetricFunction = "sharpe",
) -> PBOResult:
    """Return the probability of backtest overfitting by combinatorially symmetric CV.

    The T rows are cut into ``n_blocks`` contiguous blocks of ``T // n_blocks`` rows (the last
    ``T mod n_blocks`` rows are dropped, as in pypbo); every combination of half the blocks is
    the in-sample set, its complement the out-of-sample set (C(16, 8) = 12,870 splits). For each
    split the in-sample best trial is located in the OOS ranking (STATISTICS.md §2).

    Parameters
    ----------
    performance_matrix : array_like of float, shape (n_bars, n_trials)
        Per-period returns (or P&L) of every trial on the same bars; at least 2 trials.
    n_blocks : int
        Even number of blocks S (default 16).
    metric : {"sharpe", "mean"} or callable
        Per-trial performance of a row subset: per-period Sharpe (mean/std ddof=1, 0 when the
        std is 0) or mean, both vectorised; or ``f(rows (n, N)) -> (N,)`` applied per split
        (slow, one call per combination and half).
    """
    matrix = _performance_matrix(performance_matrix, n_blocks)
    membership = _combination_membership(n_blocks)
    if callable(metric):
        selected, is_best, oos_best, rank = _callable_metrics(matrix, n_blocks, metric, membership)
    elif metric in ("sharpe", "mean"):
        selected, is_best, oos_best, rank = _vectorised_metrics(
            matrix, n_blocks, metric, membership
        )
    else:
        raise ValueError(f"metric: expected 'sharpe', 'mean' or a callable, found {metric!r}")
    relative_rank = rank / (matrix.shape[1] + 1.0)
    logits = np.log(relative_rank / (1.0 - relative_rank))
    slope, intercept = _ols(is_best, oos_best)
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        prob_oos_loss=float(np.mean(oos_best < 0.0)),
        degradation_slope=slope,
        degradation_intercept=intercept,
        is_metric=is_best,
        oos_metric=oos_best,
        selected=selected,
        n_blocks=n_blocks,
    )


def _ols(x: Float64Array, y: Float64Array) -> tuple[float, float]:
    x_centred = x - x.mean()
    spread = float(x_centred @ x_centred)
    if spread <= 1e-300:
        return 0.0, float(y.mean())
    slope = float(x_centred @ (y - y.mean())) / spread
    return slope, float(y.mean() - slope * x.mean())


@dataclass(frozen=True, slots=True)
class CPCVSplits:
    """All C(N, k) combinatorial purged CV splits of ``n_bars`` bars and their backtest paths.

    Attributes
    ----------
    group_bounds : ndarray of int64, shape (n_groups, 2)
        ``[start, stop)`` bar indices of each contiguous group (``np.array_split`` sizes).
    test_groups : ndarray of int64, shape (n_splits, n_test_groups)
        Test groups of each split, lexicographic order of combinations.
    test_mask, train_mask : ndarray of bool, shape (n_splits, n_bars)
        Test bars; training bars after removing test bars, the ``purge_bars`` bars before each
        contiguous test block and the ``embargo_bars`` bars after it.
    path_splits : ndarray of int64, shape (n_paths, n_groups)
        ``path_splits[p, g]``: the split whose OOS result covers group g in path p; path p of
        group g uses the p-th split (in order) that tests g. n_paths = φ(N, k) = k/N·C(N, k).
    """

    n_bars: int
    n_groups: int
    n_test_groups: int
    embargo_bars: int
    purge_bars: int
    group_bounds: Int64Array
    test_groups: Int64Array
    test_mask: BoolArray
    train_mask: BoolArray
    path_splits: Int64Array

    @property
    def n_splits(self) -> int:
        """Return C(n_groups, n_test_groups)."""
        return int(self.test_groups.shape[0])

    @property
    def n_paths(self) -> int:
        """Return φ(N, k) = k/N · C(N, k), the number of stitched backtest paths."""
        return int(self.path_splits.shape[0])


def cpcv_paths(
    n_bars: int,
    n_groups: int = 6,
    n_test_groups: int = 2,
    embargo_bars: int = 0,
    *,
    purge_bars: int = 0,
) -> CPCVSplits:
    """Return the combinatorial purged CV splits of ``n_bars`` bars (AFML ch. 12).

    Bars are cut into ``n_groups`` contiguous groups; each of the C(N, k) splits tests ``k``
    groups and trains on the rest minus ``purge_bars`` bars before and ``embargo_bars`` bars
    after every contiguous test block (a bar's label may reach ``purge_bars`` bars ahead; the
    bars after a test block share its serial correlation). Every group is tested in
    C(N-1, k-1) = φ(N, k) splits, which assemble into φ backtest paths (φ(6, 2) = 5); use
    :func:`stitch_cpcv_paths` to build their return series.
    """
    if not 1 <= n_test_groups < n_groups:
        raise ValueError(
            f"n_test_groups: expected 1 <= n_test_groups < n_groups = {n_groups}, "
            f"found {n_test_groups}"
        )
    if n_bars < n_groups:
        raise DataError(f"n_bars: need at least n_groups = {n_groups} bars, found {n_bars}")
    if embargo_bars < 0 or purge_bars < 0:
        raise ValueError(
            f"embargo_bars and purge_bars: expected >= 0, found {embargo_bars}, {purge_bars}"
        )
    sizes = np.array([len(part) for part in np.array_split(np.arange(n_bars), n_groups)])
    stops = np.cumsum(sizes)
    bounds = np.column_stack([stops - sizes, stops]).astype(np.int64)
    test_groups = np.array(
        list(itertools.combinations(range(n_groups), n_test_groups)), dtype=np.int64
    )
    n_splits = test_groups.shape[0]
    test_mask = np.zeros((n_splits, n_bars), dtype=bool)
    train_mask = np.ones((n_splits, n_bars), dtype=bool)
    for split, groups in enumerate(test_groups):
        for group in groups:
            start, stop = bounds[group]
            test_mask[split, start:stop] = True
            train_mask[split, max(0, start - purge_bars) : stop + embargo_bars] = False
    n_paths = math.comb(n_groups - 1, n_test_groups - 1)
    path_splits = np.zeros((n_paths, n_groups), dtype=np.int64)
    for group in range(n_groups):
        path_splits[:, group] = np.flatnonzero((test_groups == group).any(axis=1))
    return CPCVSplits(
        n_bars=n_bars,
        n_groups=n_groups,
        n_test_groups=n_test_groups,
        embargo_bars=embargo_bars,
        purge_bars=purge_bars,
        group_bounds=bounds,
        test_groups=test_groups,
        test_mask=test_mask,
        train_mask=train_mask,
        path_splits=path_splits,
    )


def stitch_cpcv_paths(splits: CPCVSplits, oos_returns: Sequence[npt.ArrayLike]) -> Float64Array:
    """Return the φ stitched out-of-sample return series of a CPCV run.

    Parameters
    ----------
    splits : CPCVSplits
        The splits from :func:`cpcv_paths`.
    oos_returns : sequence of array_like of float, one per split
        Split s's per-bar OOS returns, either of length ``n_bars`` (only its test bars are
        read) or of length ``test_mask[s].sum()`` (its test bars in time order).

    Returns
    -------
    ndarray of float64, shape (n_paths, n_bars)
        Path p at group g is the OOS return of split ``path_splits[p, g]`` on g's bars.
    """
    if len(oos_returns) != splits.n_splits:
        raise DataError(
            f"oos_returns: expected one array per split ({splits.n_splits}), "
            f"found {len(oos_returns)}"
        )
    full = np.zeros((splits.n_splits, splits.n_bars))
    for split, values in enumerate(oos_returns):
        array = np.asarray(values, dtype=np.float64)
        n_test = int(splits.test_mask[split].sum())
        if array.shape == (splits.n_bars,):
            full[split] = np.where(splits.test_mask[split], array, 0.0)
        elif array.shape == (n_test,):
            full[split, splits.test_mask[split]] = array
        else:
            raise DataError(
                f"oos_returns[{split}]: expected length {splits.n_bars} (all bars) or {n_test} "
                f"(test bars), found shape {array.shape}"
            )
    paths = np.zeros((splits.n_paths, splits.n_bars))
    for path in range(splits.n_paths):
        for group, (start, stop) in enumerate(splits.group_bounds):
            paths[path, start:stop] = full[splits.path_splits[path, group], start:stop]
    return paths
