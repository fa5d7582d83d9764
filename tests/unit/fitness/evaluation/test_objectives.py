"""Objectives: registry, hand-computed reductions of a discovery matrix, config validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from fitness import OBJECTIVES, FitnessConfig, ObjectiveConfig, objective_directions
from fitness.evaluation.objectives import (
    DiscoveryMatrix,
    compute_objectives,
    first_non_finite,
    infeasible_objectives,
    objective,
)


def _matrix(sharpe: list[list[float]], **overrides: object) -> DiscoveryMatrix:
    shape = np.shape(sharpe)
    values: dict[str, object] = {
        "sharpe": np.array(sharpe, dtype=float),
        "max_drawdown": np.full(shape, 0.1),
        "total_return": np.full(shape, 0.05),
        "n_trades": np.full(shape, 10.0),
        "n_nodes": 10,
        "complexity_penalty": 0.02,
        "robust_lambda": 1.0,
    }
    values.update(overrides)
    return DiscoveryMatrix(**values)  # type: ignore[arg-type]


def test_objective_directions_when_defaults_then_maximise_score_minimise_drawdown_and_size() -> (
    None
):
    assert ObjectiveConfig().names == ("robust_score", "worst_drawdown", "complexity")
    assert objective_directions(FitnessConfig()) == (1, -1, -1)
    assert objective_directions(ObjectiveConfig(names=("mean_sharpe", "complexity"))) == (1, -1)


def test_registry_when_listed_then_required_objectives_present_with_directions_and_docs() -> None:
    required = {"robust_score", "worst_drawdown", "complexity", "mean_sharpe", "worst_sharpe"}

    assert required <= set(OBJECTIVES)
    for name, (direction, function, doc) in OBJECTIVES.items():
        assert direction in (1, -1), name
        assert callable(function) and doc


def test_robust_score_when_two_by_two_matrix_then_hand_computed_value() -> None:
    matrix = _matrix([[1.0, 2.0], [3.0, 4.0]])

    # mean 2.5, population std sqrt(((1.5)^2 + (0.5)^2) * 2 / 4) = sqrt(1.25), penalty 0.02
    expected = 2.5 - math.sqrt(1.25) - 0.02

    assert OBJECTIVES["robust_score"].function(matrix) == pytest.approx(expected, abs=1e-12)


def test_robust_score_when_lambda_zero_or_single_cell_then_no_spread_term() -> None:
    assert OBJECTIVES["robust_score"].function(
        _matrix([[1.0, 3.0]], robust_lambda=0.0)
    ) == pytest.approx(2.0 - 0.02)
    assert OBJECTIVES["robust_score"].function(_matrix([[1.5]])) == pytest.approx(1.5 - 0.02)


def test_other_objectives_when_matrix_given_then_hand_computed_values() -> None:
    matrix = _matrix(
        [[1.0, -2.0], [0.5, 3.0]],
        max_drawdown=np.array([[0.1, 0.4], [0.25, 0.05]]),
        total_return=np.array([[0.1, -0.2], [0.3, 0.0]]),
        n_nodes=17,
    )
    config = ObjectiveConfig(
        names=("worst_drawdown", "complexity", "mean_sharpe", "worst_sharpe", "mean_return")
    )

    values = compute_objectives(matrix, config)

    assert values == pytest.approx((0.4, 17.0, 0.625, -2.0, 0.05))


def test_infeasible_objectives_when_built_then_every_objective_at_its_worst_sentinel() -> None:
    config = ObjectiveConfig(names=("robust_score", "worst_drawdown", "complexity", "mean_sharpe"))

    assert infeasible_objectives(config) == (-1e9, 1e9, 1e9, -1e9)
    assert infeasible_objectives(FitnessConfig(objectives=config)) == (-1e9, 1e9, 1e9, -1e9)


def test_objective_config_when_unknown_name_then_error_lists_known_names() -> None:
    with pytest.raises(ValidationError, match=r"unknown objective.*sharpe_ratio.*robust_score"):
        ObjectiveConfig(names=("sharpe_ratio",))
    with pytest.raises(ValueError, match=r"unknown objective 'nope'; expected one of: robust"):
        objective("nope")


def test_objective_config_when_empty_repeated_or_bad_values_then_validation_error() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        ObjectiveConfig(names=())
    with pytest.raises(ValidationError, match="more than once"):
        ObjectiveConfig(names=("complexity", "complexity"))
    with pytest.raises(ValidationError, match="robust_lambda"):
        ObjectiveConfig(robust_lambda=-1.0)
    with pytest.raises(ValidationError, match="min_trades_per_fold"):
        ObjectiveConfig(min_trades_per_fold=-1)
    with pytest.raises(ValidationError, match="extra"):
        ObjectiveConfig(lambda_=1.0)  # type: ignore[call-arg]


def test_fitness_config_when_built_then_frozen_sections_and_positive_equity() -> None:
    config = FitnessConfig.model_validate(
        {"costs": {"taker_fee": 0.001}, "objectives": {"min_trades_per_fold": 2}}
    )

    assert config.costs.taker_fee == 0.001 and config.objectives.min_trades_per_fold == 2
    with pytest.raises(ValidationError):
        config.initial_equity = 2.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="initial_equity"):
        FitnessConfig(initial_equity=0.0)
    with pytest.raises(ValidationError, match="initial_equity"):
        FitnessConfig(initial_equity=math.inf)


def test_first_non_finite_when_nan_present_then_names_it() -> None:
    assert first_non_finite((1.0, math.nan, math.inf), ("a", "b", "c")) == "b"
    assert first_non_finite((1.0, 2.0), ("a", "b")) == ""
