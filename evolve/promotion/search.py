"""Search-level promotion statistics: the run's trials (N_eff, V[SR_n]), PBO and SPA.

Everything is per day on the run's daily grid (STATISTICS.md §0). The trial record is the
lineage's validation return streams of every distinct individual (``populations.trial_matrix``);
PBO is CSCV over the candidates' (and, up to ``pbo_min_strategies``, further lineage trials')
daily returns over the whole timeline; SPA tests the candidates' holdout daily returns against
staying flat and against buy-and-hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evolve.config.promotion_config import PromotionConfig
from evolve.numbers import finite_or_none
from evolve.promotion.gauntlet import correlation, estimation_variance, pbo_block_count
from evolve.promotion.seeds import SeedPurpose, search_seed
from fitness.errors import DataError
from fitness.stats.sharpe import (
    EffectiveTrials,
    effective_trials,
    expected_max_sharpe,
    pbo_cscv,
    spa_test,
)
from populations import trial_matrix

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class TrialStatistics:
    """The run's multiple-testing inputs for the DSR (per day).

    Attributes
    ----------
    n_trials : int
        Distinct individuals evaluated (lineage rows with ``is_new_trial``).
    n_effective : float
        Clusters of the trial streams (the DSR's N); NaN without a trial record.
    sharpe_variance : float
        The V[SR_n] the DSR uses (see ``PromotionConfig.sharpe_variance``).
    leader_ids : tuple of str
        The trial id leading each cluster (what the stitched selection sample replays).
    """

    n_trials: int
    n_effective: float
    sharpe_variance: float
    block: dict[str, Any]
    sharpe_variance_trials: float = math.nan
    leader_ids: tuple[str, ...] = ()


def trial_statistics(table: pa.Table, config: PromotionConfig) -> TrialStatistics:
    """Return N_eff and V[SR_n] of the run from its lineage table (both estimates reported).

    Parameters
    ----------
    table : pyarrow.Table
        The run's lineage (``LineageStore.read()``).
    config : PromotionConfig
        ``trials_correlation_threshold`` clusters the streams; ``sharpe_variance`` picks V.
    """
    n_trials = int(np.count_nonzero(table.column("is_new_trial").to_numpy(zero_copy_only=False)))
    ids, matrix = trial_matrix(table)
    block: dict[str, Any] = {"n_trials": n_trials, "n_trials_with_returns": len(ids)}
    if matrix.shape[0] < 3 or matrix.shape[1] < 1:
        block.update(n_effective=None, sharpe_variance=None, expected_max_sharpe=None)
        return TrialStatistics(n_trials, math.nan, math.nan, block)
    effective = effective_trials(matrix, config.trials_correlation_threshold, seed=config.seed)
    leaders = np.asarray(matrix[:, effective.leaders], dtype=np.float64)
    variances = {
        "trials": effective.sharpe_variance,
        "estimation": estimation_variance(leaders),
    }
    variance = variances[config.sharpe_variance]
    block.update(_effective_block(effective, variances, config, matrix.shape[0]))
    block["expected_max_sharpe"] = finite_or_none(
        expected_max_sharpe(effective.n_effective, variance)
    )
    return TrialStatistics(
        n_trials,
        float(effective.n_effective),
        variance,
        block,
        variances["trials"],
        tuple(ids[index] for index in effective.leaders),
    )


def _effective_block(
    effective: EffectiveTrials,
    variances: dict[str, float],
    config: PromotionConfig,
    n_days: int,
) -> dict[str, Any]:
    return {
        "n_effective": effective.n_effective,
        "n_effective_average_correlation": effective.n_effective_average_correlation,
        "average_correlation": effective.average_correlation,
        "correlation_threshold": config.trials_correlation_threshold,
        "sharpe_variance": finite_or_none(variances[config.sharpe_variance]),
        "sharpe_variance_method": config.sharpe_variance,
        "sharpe_variance_trials": finite_or_none(variances["trials"]),
        "sharpe_variance_estimation": finite_or_none(variances["estimation"]),
        "trial_days": n_days,
        "periods": "day",
    }


def extra_pbo_trials(
    table: pa.Table, exclude_ids: set[str], exclude_hashes: set[str], count: int, score_index: int
) -> list[tuple[str, str]]:
    """Return up to ``count`` ``(id, expression)`` of the best further feasible lineage trials.

    Ranked by raw robust score (``objectives[score_index]``, before the lineage penalty),
    best first, ties by id; one per semantic hash, none already excluded.
    """
    if count <= 0:
        return []
    new = table.filter(table.column("is_new_trial"))
    rows = zip(
        new.column("id").to_pylist(),
        new.column("expression").to_pylist(),
        new.column("objectives").to_pylist(),
        new.column("feasible").to_pylist(),
        new.column("semantic_hash").to_pylist(),
        strict=True,
    )
    scored = []
    for id_, expression, objectives, feasible, semantic in rows:
        score = finite_or_none(objectives[score_index]) if len(objectives) > score_index else None
        if feasible and score is not None and id_ not in exclude_ids:
            scored.append((-score, id_, expression, semantic))
    chosen: list[tuple[str, str]] = []
    seen = set(exclude_hashes)
    for _, id_, expression, semantic in sorted(scored):
        if semantic and semantic in seen:
            continue
        seen.add(semantic)
        chosen.append((id_, expression))
        if len(chosen) == count:
            break
    return chosen


def distinct_columns(
    columns: list[npt.NDArray[np.float64]], n_days: int, threshold: float
) -> list[int]:
    """Return the indices of the columns that are not near-duplicates of an earlier one.

    Greedy in the order given (candidates in rank order first): a column is kept when its
    correlation with every kept column over the first ``n_days`` days (the days before the
    holdout: the check reads no holdout data) is below ``threshold``. CSCV asks whether picking
    the in-sample best of *different* strategies overfits; among copies of one rule the pick is
    a coin flip and PBO tends to 1/2 whatever the edge, so a copy counts once.
    """
    kept: list[int] = []
    for index, column in enumerate(columns):
        head = np.asarray(column[:n_days], dtype=np.float64)
        if all(correlation(head, columns[k][:n_days]) < threshold for k in kept):
            kept.append(index)
    return kept


def pbo_block(matrix: npt.ArrayLike, config: PromotionConfig, n_candidates: int) -> dict:
    """Return the evidence's PBO block of a (n_days, n_strategies) daily-return matrix.

    S is ``pbo_blocks`` reduced to the largest even number leaving at least 10 days per block;
    ``value`` is None (with a ``reason``) when fewer than 2 strategies or 20 days exist.
    """
    values = np.asarray(matrix, dtype=np.float64)
    n_days, n_strategies = values.shape
    blocks = pbo_block_count(n_days, config.pbo_blocks)
    block: dict[str, Any] = {
        "value": None,
        "n_strategies": n_strategies,
        "n_candidates": n_candidates,
        "n_blocks": blocks,
        "n_days": n_days,
        "n_combinations": math.comb(blocks, blocks // 2) if blocks else 0,
        "metric": "daily Sharpe",
    }
    if n_strategies < 2 or blocks < 2:
        block["reason"] = (
            f"needs at least 2 strategies and 20 days, found {n_strategies} and {n_days}"
        )
        return block
    result = pbo_cscv(values, blocks, "sharpe")
    block.update(
        value=result.pbo,
        prob_oos_loss=result.prob_oos_loss,
        degradation_slope=finite_or_none(result.degradation_slope),
        logits=[round(float(x), 6) for x in result.logits],
    )
    return block


def spa_block(
    holdout_matrix: npt.ArrayLike,
    buy_and_hold: npt.ArrayLike,
    config: PromotionConfig,
) -> tuple[dict[str, Any], dict[str, list[float | None]]]:
    """Return the search-level SPA block and each candidate's own consistent p-values.

    Parameters
    ----------
    holdout_matrix : array_like of float, shape (n_days, n_candidates)
        Candidates' holdout daily returns.
    buy_and_hold : array_like of float, shape (n_days,)
        Equal-weight buy-and-hold daily returns on the same days.

    Returns
    -------
    (block, per_candidate)
        ``per_candidate[benchmark][k]`` is candidate k's single-model consistent p-value.
    """
    models = np.asarray(holdout_matrix, dtype=np.float64)
    benchmarks = {"flat": np.zeros(models.shape[0]), "buy_and_hold": np.asarray(buy_and_hold)}
    block: dict[str, Any] = {"benchmark": {}, "n_bootstrap": config.bootstrap_samples}
    per_candidate: dict[str, list[float | None]] = {}
    mean_blocks = []
    for index, (name, benchmark) in enumerate(benchmarks.items()):
        rng = search_seed(config.seed, SeedPurpose.SPA_SEARCH, index)
        try:
            result = spa_test(benchmark, models, config.bootstrap_samples, rng=rng)
        except DataError as e:
            block["benchmark"][name] = {"p_consistent": None, "reason": str(e)}
            per_candidate[name] = [None] * models.shape[1]
            continue
        mean_blocks.append(result.mean_block)
        block["benchmark"][name] = {
            "p_consistent": result.p_consistent,
            "p_lower": result.p_lower,
            "p_upper": result.p_upper,
            "statistic": result.statistic,
        }
        singles: list[float | None] = []
        for column in range(models.shape[1]):
            single = spa_test(
                benchmark,
                models[:, column],
                config.bootstrap_samples,
                result.mean_block,
                rng=search_seed(config.seed, SeedPurpose.SPA_CANDIDATE, index, column),
            )
            singles.append(single.p_consistent)
        per_candidate[name] = singles
    block["mean_block"] = float(np.mean(mean_blocks)) if mean_blocks else None
    return block, per_candidate
