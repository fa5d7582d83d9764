"""Promotion internals: a candidate that never trades, the evidence JSON, PBO and SPA blocks."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pyarrow as pa

from evolve.config.promotion_config import PromotionConfig
from evolve.promotion.analysis import SearchContext, analyse_candidate
from evolve.promotion.candidates import candidate_gates
from evolve.promotion.evidence import json_ready
from evolve.promotion.promoter import correlation_order
from evolve.promotion.search import distinct_columns, extra_pbo_trials, pbo_block, spa_block
from fitness import FitnessConfig, FoldConfig, Market
from populations import StrategySpec
from tests.synthetic_markets import random_walk_series

NEVER_TRADES = "pos_from(lt(rsi(close, 14), 0.0), gt(rsi(close, 14), 100.0))"
FOLDS = FoldConfig(n_discovery_folds=2, holdout_fraction=0.25)


def _spec(expression: str, id_: str = "0123456789abcdef") -> StrategySpec:
    return StrategySpec(
        id=id_,
        expression=expression,
        pretty=expression,
        primitive_set_version="test",
        lookback_bars=14,
        objective_names=["robust_score"],
        objectives=[0.0],
        metrics={"train": {}, "validation": {}},
        costs={},
        data={},
        run_id="run",
        generation=0,
    )


def _context(
    market: Market, fitness: FitnessConfig, pbo: float | None = None, **config: Any
) -> SearchContext:
    """A search context of 20 effective trials; ``config`` overrides the promotion defaults."""
    return SearchContext(
        market=market,
        fitness=fitness,
        config=PromotionConfig(probe_copies=2, bootstrap_samples=200, **config),
        n_effective=20.0,
        sharpe_variance=0.01,
        pbo=pbo,
        pbo_detail="not computable" if pbo is None else "CSCV",
        stitched_variance=0.002,
    )


def test_candidate_gates_when_candidate_never_trades_then_every_gate_fails_cleanly() -> None:
    market = Market.build([random_walk_series(24 * 200, 3)], FOLDS)
    fitness = FitnessConfig(folds=FOLDS)
    context = _context(market, fitness, pbo_max=0.2)

    analysis = analyse_candidate(_spec(NEVER_TRADES), 1, market, fitness)
    gates, evidence = candidate_gates(analysis, context)

    by_name = {gate.name: gate for gate in gates}
    assert all(not by_name[name].passed for name in ("dsr", "psr", "pbo", "min_trades"))
    assert all(by_name[name].reason for name in ("dsr", "psr", "pbo", "min_trades"))
    assert by_name["psr"].value == 0.5  # constant returns: PSR(0) is a coin flip
    assert by_name["concentration"].value is None and "<= 0" in by_name["concentration"].detail
    assert by_name["cost_stress"].passed is False and by_name["stability"].passed is False
    assert evidence.statistics.n_holdout_trades == 0
    assert evidence.statistics.dsr == by_name["dsr"].value
    assert evidence.legs["long"] == {"pnl": 0.0, "n_trades": 0, "win_rate": None}
    blocks = {"gates": [gate.evidence() for gate in gates], **evidence.evidence()}
    text = json.dumps(json_ready(blocks), allow_nan=False)
    assert "NaN" not in text


def test_json_ready_when_numpy_and_non_finite_values_then_plain_json_with_null() -> None:
    value = {
        "a": np.float32(1.5),
        "b": [np.int64(3), float("nan"), -math.inf],
        "c": (np.bool_(True), np.array([0.25, np.nan])),
        7: "text",
    }

    ready = json_ready(value)

    assert ready == {"a": 1.5, "b": [3, None, None], "c": [True, [0.25, None]], "7": "text"}
    assert json.loads(json.dumps(ready, allow_nan=False)) == ready


def _lineage(rows: list[tuple[str, float, bool, str, bool]]) -> pa.Table:
    return pa.table(
        {
            "id": [row[0] for row in rows],
            "expression": [f"expr-{row[0]}" for row in rows],
            "objectives": [[row[1], 0.1] for row in rows],
            "feasible": [row[2] for row in rows],
            "semantic_hash": [row[3] for row in rows],
            "is_new_trial": [row[4] for row in rows],
        }
    )


def test_extra_pbo_trials_when_lineage_given_then_best_new_feasible_distinct_first() -> None:
    table = _lineage(
        [
            ("a", 3.0, True, "h1", True),  # a candidate: excluded
            ("b", 2.5, True, "h2", True),
            ("c", 2.9, True, "h2", True),  # same semantics as b, better: kept instead
            ("d", 5.0, False, "h4", True),  # infeasible
            ("e", 9.0, True, "h5", False),  # a re-creation, not a new trial
            ("f", 1.0, True, "h6", True),
            ("g", 2.0, True, "h1", True),  # same semantics as the candidate
        ]
    )

    chosen = extra_pbo_trials(table, {"a"}, {"h1"}, 5, score_index=0)

    assert [id_ for id_, _ in chosen] == ["c", "f"]
    assert extra_pbo_trials(table, {"a"}, {"h1"}, 0, score_index=0) == []


def test_pbo_block_when_too_few_days_or_strategies_then_value_none_with_reason() -> None:
    config = PromotionConfig()

    few_days = pbo_block(np.zeros((15, 4)), config, 4)
    one_strategy = pbo_block(np.zeros((100, 1)), config, 1)

    assert (
        few_days["value"] is None and few_days["n_blocks"] == 0 and "20 days" in few_days["reason"]
    )
    assert one_strategy["value"] is None and "2 strategies" in one_strategy["reason"]


def test_pbo_block_when_one_strategy_has_an_edge_then_pbo_near_zero() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(0.0, 0.01, (400, 12))
    matrix[:, 3] += 0.004

    block = pbo_block(matrix, PromotionConfig(), 12)

    assert block["n_blocks"] == 16 and block["n_combinations"] == 12_870
    assert block["value"] <= 0.05 and len(block["logits"]) == 12_870


def test_spa_block_when_seeded_then_reproducible_and_edge_has_small_p() -> None:
    rng = np.random.default_rng(2)
    models = rng.normal(0.0, 0.01, (300, 3))
    models[:, 0] += 0.004
    config = PromotionConfig(bootstrap_samples=300)

    first, singles = spa_block(models, np.zeros(300), config)
    again, _ = spa_block(models, np.zeros(300), config)

    assert first == again
    assert first["benchmark"]["flat"]["p_consistent"] < 0.05
    assert singles["flat"][0] < 0.05 and singles["flat"][1] > 0.05
    assert len(singles["buy_and_hold"]) == 3


def test_candidate_gates_when_selection_sample_chosen_then_dsr_reads_that_sample() -> None:
    market = Market.build([random_walk_series(24 * 200, 3)], FOLDS)
    fitness = FitnessConfig(folds=FOLDS)
    trend = "pos_from(gt(ema(close, 12), ema(close, 26)), lt(ema(close, 12), ema(close, 26)))"
    analysis = analyse_candidate(_spec(trend), 1, market, fitness)
    dsr = {}
    for sample in ("validation", "stitched"):
        context = _context(market, fitness, selection_sample=sample)
        gates, evidence = candidate_gates(analysis, context)
        dsr[sample] = next(g for g in gates if g.name == "dsr")
        assert evidence.selection is not None
        assert evidence.selection.dsr == dsr[sample].value
        # both samples' DSR are reported whichever is gated
        assert evidence.statistics.validation_dsr is not None
        assert evidence.statistics.stitched_dsr is not None
        if sample == "validation":
            assert evidence.selection.sample == "validation"
            assert dsr[sample].value == evidence.statistics.validation_dsr
            assert evidence.selection.n_days == analysis.evaluation.validation_returns.size
        else:
            assert evidence.selection.sample == "discovery+validation"
            assert dsr[sample].value == evidence.statistics.stitched_dsr
            assert evidence.selection.n_days == analysis.stitched.size
            assert analysis.stitched.size > 2 * analysis.evaluation.validation_returns.size
    assert dsr["validation"].value != dsr["stitched"].value


def test_distinct_columns_when_near_copies_then_each_rule_counts_once_on_pre_holdout_days() -> None:
    rng = np.random.default_rng(5)
    rule, other = rng.normal(0, 0.01, 100), rng.normal(0, 0.01, 100)
    copy = rule + rng.normal(0, 0.001, 100)  # correlation ~0.995 with rule
    late = other.copy()
    late[80:] = rule[80:]  # equal to rule only on the last (holdout) days

    kept = distinct_columns([rule, copy, other, late], 80, 0.8)

    # copy is dropped; late matches other before day 80, so it is a copy of other, and what it
    # does after day 80 (the holdout) is never read
    assert kept == [0, 2]
    assert distinct_columns([rule, copy], 80, 1.0) == [0, 1]  # only exact copies at 1.0


def test_correlation_order_when_survivors_differ_in_size_then_simplest_first_ties_by_rank() -> None:
    # ranks 1..4 with 9, 3, 9 and 3 nodes: the two 3-node rules first (rank order), then the 9s
    analyses = [
        SimpleNamespace(rank=rank, evaluation=SimpleNamespace(n_nodes=nodes))
        for rank, nodes in ((1, 9), (2, 3), (3, 9), (4, 3))
    ]
    assert correlation_order(cast(Any, analyses)) == [1, 3, 0, 2]


def test_candidate_gates_when_pbo_max_unset_then_pbo_reported_not_gated() -> None:
    market = Market.build([random_walk_series(24 * 200, 3)], FOLDS)
    fitness = FitnessConfig(folds=FOLDS)
    analysis = analyse_candidate(_spec(NEVER_TRADES), 1, market, fitness)
    names = {}
    for pbo_max in (None, 0.2):
        context = _context(market, fitness, pbo=0.9, pbo_max=pbo_max)
        names[pbo_max] = [gate.name for gate in candidate_gates(analysis, context)[0]]

    assert "pbo" not in names[None] and "pbo" in names[0.2]
    assert [name for name in names[0.2] if name != "pbo"] == names[None]
