"""The selection stage's sample: the validation record or the stitched discovery+validation one.

The hall of fame is chosen by the robust score on the discovery folds (and validated on the
validation segment), so the deflated Sharpe ratio belongs to that data (STATISTICS.md §9). Two
samples are offered (``PromotionConfig.selection_sample``):

- ``"validation"``: the candidate's daily validation returns; N_eff and V[SR_n] from the
  lineage's validation streams (every trial);
- ``"stitched"`` (``"discovery+validation"`` in the evidence): the candidate replayed from flat
  over the whole span from the first discovery bar to the end of validation (the embargo bars
  included), about 4.5 times as many days as validation alone at the default fold sizes; N_eff
  is the validation clustering's (the lineage keeps only validation streams) and V[SR_n] comes
  from the cluster leaders replayed over the same span: by default their mean sampling
  variance of the Sharpe estimate (``sharpe_variance = "estimation"``), else the
  cross-sectional variance of their Sharpe ratios (STATISTICS.md §1.3 on that sample).

Both DSR values are computed for every candidate and reported; the configured one is gated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import primitives
from evolve.numbers import finite_or_none
from evolve.promotion import gauntlet, replays
from fitness import Market
from fitness.backtest.costs import CostModel
from fitness.stats.sharpe import SampleMoments, expected_max_sharpe

if TYPE_CHECKING:
    import pyarrow as pa

SAMPLE_NAMES = {"validation": "validation", "stitched": "discovery+validation"}


def selection_span(market: Market) -> tuple[int, int]:
    """Return ``(start_ms, stop_ms)`` from the first discovery bar to the end of validation.

    Raises
    ------
    ValueError
        If the timeline has no validation segment (``validation_fraction = 0``).
    """
    calendar = market.timeline.calendar
    validation = [segment for segment in calendar if segment.kind == "validation"]
    if not validation:
        raise ValueError(
            "selection_span: the timeline has no validation segment (folds.validation_fraction "
            "= 0); expected one to stitch discovery and validation, found none"
        )
    return calendar[0].start_ms, validation[-1].stop_ms


def has_validation(market: Market) -> bool:
    """Return whether the run's timeline has a validation segment."""
    return any(segment.kind == "validation" for segment in market.timeline.calendar)


def stitched_returns(targets: Sequence[np.ndarray], market: Market, costs: CostModel) -> np.ndarray:
    """Return the daily returns of ``targets`` replayed over :func:`selection_span`."""
    return replays.replay(targets, market, costs, *selection_span(market)).daily_returns


def moments_or_none(values: np.ndarray) -> SampleMoments | None:
    """Return the moments of a daily-return sample; None when shorter than 2 or constant."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2 or float(values.std()) == 0.0:
        return None
    return gauntlet.return_moments(values)


@dataclass(frozen=True, slots=True)
class StitchedTrials:
    """The trial dispersion on the stitched record (per day).

    Attributes
    ----------
    n_leaders : int
        Cluster leaders replayed (= N_eff of the validation clustering).
    sharpe_variance_trials : float
        Variance (ddof=1) of the leaders' stitched daily Sharpe ratios (STATISTICS.md §1.3);
        NaN with fewer than 2 leaders.
    sharpe_variance_estimation : float
        Their mean estimation variance (``gauntlet.estimation_variance``).
    n_days : int
        Days of the stitched record.
    max_sharpe : float
        The largest leader's stitched daily Sharpe ratio: what SR0 (the expected maximum under
        the null) is there to predict (NaN without leaders).
    """

    n_leaders: int
    sharpe_variance_trials: float
    sharpe_variance_estimation: float
    n_days: int
    max_sharpe: float = math.nan

    def variance(self, method: str) -> float:
        """Return V[SR_n] by ``method`` ("trials" or "estimation", as ``sharpe_variance``)."""
        if method == "trials":
            return self.sharpe_variance_trials
        if method == "estimation":
            return self.sharpe_variance_estimation
        raise ValueError(
            f"StitchedTrials.variance: method: expected trials or estimation, found {method!r}"
        )

    def block(self, n_effective: float, method: str) -> dict[str, Any]:
        """Return the evidence's ``search.stitched`` block."""
        variance, sr_zero = self.variance(method), None
        if n_effective >= 1.0 and math.isfinite(variance):
            sr_zero = expected_max_sharpe(n_effective, max(variance, 0.0))
        return {
            "sample": SAMPLE_NAMES["stitched"],
            "n_leaders": self.n_leaders,
            "sharpe_variance": finite_or_none(variance),
            "sharpe_variance_method": method,
            "sharpe_variance_trials": finite_or_none(self.sharpe_variance_trials),
            "sharpe_variance_estimation": finite_or_none(self.sharpe_variance_estimation),
            "expected_max_sharpe": finite_or_none(sr_zero),
            "max_sharpe": finite_or_none(self.max_sharpe),
            "n_days": self.n_days,
        }


def stitched_trials(
    table: pa.Table,
    leader_ids: Sequence[str],
    market: Market,
    costs: CostModel,
    memo: primitives.Memo | None = None,
) -> StitchedTrials:
    """Return V[SR_n] of the trial-cluster leaders replayed over the stitched record.

    Parameters
    ----------
    table : pyarrow.Table
        The run's lineage (ids and expressions of the trials).
    leader_ids : sequence of str
        The ids of the validation clustering's leaders (``TrialStatistics.leader_ids``).
    """
    if not has_validation(market) or len(leader_ids) == 0:
        return StitchedTrials(len(leader_ids), math.nan, math.nan, 0)
    new = table.filter(table.column("is_new_trial"))
    expressions = dict(
        zip(new.column("id").to_pylist(), new.column("expression").to_pylist(), strict=True)
    )
    columns = []
    for id_ in leader_ids:
        targets = replays.strategy_targets(expressions[id_], market, memo)
        columns.append(stitched_returns(targets, market, costs))
    matrix = np.column_stack(columns)
    sharpes = []
    for column in matrix.T:
        std = float(column.std(ddof=1)) if column.size > 1 else 0.0
        sharpes.append(float(column.mean()) / std if std > 0.0 else 0.0)
    trials = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else math.nan
    estimation = gauntlet.estimation_variance(matrix)
    return StitchedTrials(
        len(leader_ids), trials, estimation, int(matrix.shape[0]), float(np.max(sharpes))
    )
