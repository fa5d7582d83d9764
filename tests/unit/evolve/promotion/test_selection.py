"""The selection stage's samples (evolve.promotion.selection), checked by independent replays."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from evolve.promotion import replays, selection
from fitness import FoldConfig, Market
from fitness.backtest.costs import CostModel
from tests.synthetic_markets import planted_edge_series

FOLDS = FoldConfig(n_discovery_folds=2, holdout_fraction=0.25)
EXPRESSIONS = {
    "a": "pos_from(gt(ema(close, 12), ema(close, 26)), lt(ema(close, 12), ema(close, 26)))",
    "b": "pos_from(gt(close, sma(close, 100)), lt(close, sma(close, 100)))",
    "c": "pos_from(lt(close, sma(close, 50)), gt(close, sma(close, 50)))",
}


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.build([planted_edge_series(24 * 200, 4)], FOLDS)


def _lineage() -> pa.Table:
    ids = [*EXPRESSIONS, "a"]  # the last row repeats a trial: not new
    return pa.table(
        {
            "id": ids,
            "expression": [EXPRESSIONS[i] for i in ids],
            "is_new_trial": [True, True, True, False],
        }
    )


def test_selection_span_when_folds_then_first_discovery_bar_to_end_of_validation(
    market: Market,
) -> None:
    calendar = market.timeline.calendar
    start, stop = selection.selection_span(market)

    assert start == calendar[0].start_ms
    assert stop == next(c for c in calendar if c.kind == "validation").stop_ms
    assert stop <= next(c for c in calendar if c.kind == "holdout").start_ms


def test_selection_span_when_no_validation_then_value_error_naming_the_fold() -> None:
    folds = FoldConfig(n_discovery_folds=2, validation_fraction=0.0, holdout_fraction=0.25)
    market = Market.build([planted_edge_series(24 * 200, 4)], folds)

    assert not selection.has_validation(market)
    with pytest.raises(ValueError, match="validation_fraction"):
        selection.selection_span(market)


def test_stitched_trials_when_three_leaders_then_variance_of_their_replayed_sharpes(
    market: Market,
) -> None:
    costs = CostModel()

    trials = selection.stitched_trials(_lineage(), ["a", "b", "c"], market, costs)

    start, stop = selection.selection_span(market)
    sharpes = []
    for expression in EXPRESSIONS.values():  # independent: replay and Sharpe by hand
        targets = replays.strategy_targets(expression, market)
        daily = replays.replay(targets, market, costs, start, stop).daily_returns
        sharpes.append(daily.mean() / daily.std(ddof=1))
    mean = sum(sharpes) / 3
    by_hand = sum((s - mean) ** 2 for s in sharpes) / 2
    assert trials.n_leaders == 3 and trials.n_days == daily.size
    assert trials.sharpe_variance_trials == pytest.approx(by_hand, rel=1e-12)
    assert trials.variance("trials") == trials.sharpe_variance_trials
    assert 0.0 < trials.variance("estimation") < 2.0 / trials.n_days
    block = trials.block(3.0, "trials")
    assert block["sample"] == "discovery+validation" and block["expected_max_sharpe"] > 0.0
    assert block["max_sharpe"] == pytest.approx(max(sharpes), rel=1e-12)


def test_stitched_trials_when_one_leader_then_variance_nan_and_bad_method_raises(
    market: Market,
) -> None:
    trials = selection.stitched_trials(_lineage(), ["a"], market, CostModel())

    assert math.isnan(trials.sharpe_variance_trials)
    assert trials.block(1.0, "trials")["expected_max_sharpe"] is None
    assert (
        selection.stitched_trials(_lineage(), [], market, CostModel()).block(1.0, "estimation")[
            "max_sharpe"
        ]
        is None
    )
    with pytest.raises(ValueError, match="trials or estimation"):
        trials.variance("median")


def test_moments_or_none_when_constant_or_short_then_none() -> None:
    assert selection.moments_or_none(np.zeros(30)) is None
    assert selection.moments_or_none(np.array([0.01])) is None
    moments = selection.moments_or_none(np.array([0.01, -0.02, 0.03, 0.0]))
    assert moments is not None and moments.n_obs == 4
