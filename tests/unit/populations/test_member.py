"""The strategy record: exact checkpoint round trip, lazy tree, penalty and stability, units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from populations import Member
from populations.member import evaluation_from_state, evaluation_to_state
from primitives import parse, strategy_id
from tests.stubs import make_evaluation, make_member

TEXT = "long_only(and_(gt(close, sma(close, 20)), gt(close, sma(close, 20))))"


def record(**overrides: object) -> Member:
    tree = parse(TEXT)
    values: dict[str, object] = {
        "objectives": (0.1234567890123, 0.3, 9.0),
        "n_nodes": len(tree),
        "generation": 3,
        "parent_ids": ("a", "b"),
        "semantic_hash": "h1",
        "returns": (0.1, -1 / 3, 2.5e-7, math.pi),
    }
    values.update(overrides)
    return make_member(strategy_id(tree), str(tree), **values)  # type: ignore[arg-type]


def test_member_when_state_round_trip_then_equal_record_evaluation_and_tree() -> None:
    member = record().with_penalty(0, 0.0625).with_stability(0.875)

    restored = Member.from_state(member.to_state())

    assert restored == member
    assert restored.evaluation == member.evaluation  # returns compared bit for bit
    assert restored.validation_returns.dtype == np.float32
    assert not restored.validation_returns.flags.writeable
    assert str(restored.tree) == member.text


def test_evaluation_state_when_nan_metrics_and_holdout_then_exact_round_trip() -> None:
    evaluation = make_evaluation("x", validation={"sharpe": math.nan, "daily_sharpe": 0.0})

    restored = evaluation_from_state(evaluation_to_state(evaluation))

    assert math.isnan(restored.validation["sharpe"])
    assert list(restored.validation) == ["sharpe", "daily_sharpe"]  # key order kept
    assert restored.table == evaluation.table and restored.holdout is None


def test_member_when_tree_given_then_no_parse_and_same_object() -> None:
    tree = parse(TEXT)
    member = Member.of(make_evaluation(strategy_id(tree), str(tree)), generation=0, tree=tree)

    assert member.tree is tree
    assert Member.of(member.evaluation, generation=0) == member  # the tree is not compared


def test_member_with_penalty_when_applied_then_only_score_objective_lowered() -> None:
    member = make_member("a", objectives=(0.5, 0.2, 5.0))

    penalised = member.with_penalty(0, 0.125)

    assert penalised.penalized == (0.375, 0.2, 5.0)
    assert penalised.objectives == (0.5, 0.2, 5.0) and penalised.lineage_penalty == 0.125
    assert penalised.evaluation is member.evaluation  # one evaluation, never copied


def test_member_validation_sharpe_when_read_then_named_by_unit() -> None:
    member = Member.of(
        make_evaluation("a", validation={"sharpe": 1.5, "daily_sharpe": 0.08, "n_trades": 9.0}),
        generation=0,
    )
    bare = Member.of(make_evaluation("b", validation={}), generation=0)

    assert member.validation_sharpe_annual == 1.5
    assert member.validation_sharpe_daily == 0.08
    assert member.validation_trades == 9.0
    assert all(math.isnan(v) for v in (bare.validation_sharpe_annual, bare.validation_trades))


def test_member_from_state_when_returns_missing_then_value_error() -> None:
    state = record().to_state()
    state["evaluation"]["validation_returns"] = None

    with pytest.raises(ValueError, match="validation_returns: expected base64 text"):
        Member.from_state(state)
