"""PBO by CSCV (against a naive loop and the published null/edge anchors) and CPCV splits/paths."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fitness.errors import DataError
from fitness.stats.sharpe import cpcv_paths, pbo_cscv, stitch_cpcv_paths


def _naive_sharpe(column: list[float]) -> float:
    n = len(column)
    mean = sum(column) / n
    variance = sum((value - mean) ** 2 for value in column) / (n - 1)
    return mean / math.sqrt(variance) if variance > 0 else 0.0


def _naive_pbo(matrix: np.ndarray, n_blocks: int) -> tuple[float, list[float], list[float]]:
    # plain loops over combinations, written from STATISTICS.md §2, no shared code
    n_rows, n_trials = matrix.shape
    size = n_rows // n_blocks
    blocks = [matrix[b * size : (b + 1) * size] for b in range(n_blocks)]
    logits, oos_selected = [], []
    for combo in itertools.combinations(range(n_blocks), n_blocks // 2):
        in_rows = [row for b in range(n_blocks) if b in combo for row in blocks[b].tolist()]
        out_rows = [row for b in range(n_blocks) if b not in combo for row in blocks[b].tolist()]
        in_metric = [_naive_sharpe([row[j] for row in in_rows]) for j in range(n_trials)]
        out_metric = [_naive_sharpe([row[j] for row in out_rows]) for j in range(n_trials)]
        best = max(range(n_trials), key=lambda j: (in_metric[j], -j))
        below = sum(1 for value in out_metric if value < out_metric[best])
        ties = sum(1 for value in out_metric if value == out_metric[best])
        omega = (below + (ties + 1) / 2) / (n_trials + 1)
        logits.append(math.log(omega / (1 - omega)))
        oos_selected.append(out_metric[best])
    pbo = sum(1 for value in logits if value <= 0) / len(logits)
    return pbo, logits, oos_selected


def test_pbo_cscv_when_small_matrix_then_equals_naive_loops() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.normal(0.0, 0.01, (63, 7))  # 63 mod 6 = 3 trailing rows are dropped
    matrix[:, 2] += 0.002

    result = pbo_cscv(matrix, n_blocks=6)
    pbo, logits, oos_selected = _naive_pbo(matrix, 6)

    assert result.n_combinations == math.comb(6, 3) == 20
    assert result.pbo == pbo
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.oos_metric, oos_selected, rtol=1e-9, atol=1e-15)


def test_pbo_cscv_when_callable_metric_then_equals_vectorised_sharpe() -> None:
    rng = np.random.default_rng(9)
    matrix = rng.normal(0.0003, 0.01, (240, 12))

    def sharpe(rows: np.ndarray) -> np.ndarray:
        return rows.mean(axis=0) / rows.std(axis=0, ddof=1)

    vectorised = pbo_cscv(matrix, n_blocks=8)
    looped = pbo_cscv(matrix, n_blocks=8, metric=sharpe)

    assert vectorised.pbo == looped.pbo
    np.testing.assert_array_equal(vectorised.selected, looped.selected)
    np.testing.assert_allclose(vectorised.is_metric, looped.is_metric, rtol=1e-9)


def test_pbo_cscv_when_sixteen_blocks_then_12870_combinations() -> None:
    matrix = np.random.default_rng(1).normal(0.0, 0.01, (320, 4))

    assert pbo_cscv(matrix).n_combinations == 12_870


def test_pbo_cscv_when_null_matrices_then_mean_pbo_one_half() -> None:
    rng = np.random.default_rng(2024)

    values = [pbo_cscv(rng.normal(0.0, 0.01, (320, 10)), n_blocks=8).pbo for _ in range(60)]

    assert np.mean(values) == pytest.approx(0.5, abs=0.06)


def test_pbo_cscv_when_planted_edge_then_pbo_at_most_0_05() -> None:
    rng = np.random.default_rng(42)
    matrix = rng.normal(0.0, 0.01, (1600, 50))
    matrix[:, :5] += 0.15 * 0.01  # per-period SR 0.15 in 5 of 50 trials

    result = pbo_cscv(matrix, n_blocks=16)

    assert result.pbo <= 0.05
    assert result.prob_oos_loss <= 0.05
    assert set(np.unique(result.selected)) <= set(range(5))


def test_pbo_cscv_when_overfit_selection_then_degradation_slope_negative() -> None:
    # pure noise: a high IS Sharpe predicts a lower OOS Sharpe (halves share the total)
    matrix = np.random.default_rng(8).normal(0.0, 0.01, (400, 40))

    result = pbo_cscv(matrix, n_blocks=10)

    assert result.degradation_slope < 0.0


def test_pbo_cscv_when_mean_metric_then_same_as_callable_mean() -> None:
    matrix = np.random.default_rng(4).normal(0.0, 0.01, (120, 6))

    fast = pbo_cscv(matrix, n_blocks=6, metric="mean")
    slow = pbo_cscv(matrix, n_blocks=6, metric=lambda rows: rows.mean(axis=0))

    np.testing.assert_allclose(fast.logits, slow.logits, rtol=1e-12)


def test_pbo_cscv_when_constant_columns_then_sharpe_zero_not_nan() -> None:
    matrix = np.random.default_rng(6).normal(0.0, 0.01, (60, 4))
    matrix[:, 1] = 0.0
    matrix[:, 3] = 0.001

    result = pbo_cscv(matrix, n_blocks=6)

    assert np.all(np.isfinite(result.logits))


def test_pbo_cscv_when_odd_blocks_or_nan_then_clear_errors() -> None:
    matrix = np.zeros((64, 4))
    with pytest.raises(ValueError, match="n_blocks"):
        pbo_cscv(matrix, n_blocks=7)
    matrix[10, 2] = np.nan
    with pytest.raises(DataError, match="row 10, column 2"):
        pbo_cscv(matrix, n_blocks=8)


def test_cpcv_paths_when_six_groups_two_test_then_15_splits_5_paths() -> None:
    splits = cpcv_paths(600, n_groups=6, n_test_groups=2)

    assert splits.n_splits == 15
    assert splits.n_paths == 5
    # every group is tested once per path, by distinct splits that really test it
    for group in range(6):
        chosen = splits.path_splits[:, group]
        assert len(set(chosen.tolist())) == 5
        assert all(group in splits.test_groups[split] for split in chosen)


def test_cpcv_paths_when_embargo_and_purge_then_train_excludes_neighbours() -> None:
    splits = cpcv_paths(60, n_groups=6, n_test_groups=2, embargo_bars=3, purge_bars=2)
    split = next(i for i, g in enumerate(splits.test_groups.tolist()) if g == [1, 4])

    test = np.flatnonzero(splits.test_mask[split])
    train = np.flatnonzero(splits.train_mask[split])

    assert test.tolist() == list(range(10, 20)) + list(range(40, 50))
    excluded = set(range(8, 23)) | set(range(38, 53))
    assert set(train.tolist()) == set(range(60)) - excluded


def test_stitch_cpcv_paths_when_split_returns_tagged_then_each_path_has_its_splits() -> None:
    splits = cpcv_paths(30, n_groups=5, n_test_groups=2)
    # split s returns the value s on every bar: a path shows which split covers each group
    oos = [np.full(30, float(split)) for split in range(splits.n_splits)]

    paths = stitch_cpcv_paths(splits, oos)

    assert paths.shape == (splits.n_paths, 30) == (4, 30)
    for path in range(splits.n_paths):
        for group, (start, stop) in enumerate(splits.group_bounds.tolist()):
            assert np.all(paths[path, start:stop] == splits.path_splits[path, group])


def test_stitch_cpcv_paths_when_test_only_arrays_then_same_as_full_length() -> None:
    splits = cpcv_paths(24, n_groups=4, n_test_groups=2)
    rng = np.random.default_rng(0)
    full = [rng.normal(size=24) for _ in range(splits.n_splits)]
    compact = [values[mask] for values, mask in zip(full, splits.test_mask, strict=True)]

    np.testing.assert_array_equal(
        stitch_cpcv_paths(splits, full), stitch_cpcv_paths(splits, compact)
    )
