"""Parsimony and lineage-stability penalties against hand-computed values."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from fitness import PenaltyConfig, complexity_penalty, lineage_stability_penalty
from fitness.evaluation.penalties import neighbourhood_score, weighted_median


def test_complexity_penalty_when_default_then_0_002_per_node() -> None:
    assert complexity_penalty(25, PenaltyConfig()) == pytest.approx(0.05)


def test_complexity_penalty_when_zero_nodes_then_error() -> None:
    with pytest.raises(ValueError, match="n_nodes"):
        complexity_penalty(0, PenaltyConfig())


def test_weighted_median_when_unequal_weights_then_hand_value() -> None:
    # sorted values 1, 2, 3, 10 with weights 0.1, 0.2, 0.3, 0.4: total 1.0, half 0.5;
    # cumulative 0.1, 0.3, 0.6 -> first reaching 0.5 is 3
    assert weighted_median([10.0, 2.0, 1.0, 3.0], [0.4, 0.2, 0.1, 0.3]) == 3.0


def test_weighted_median_when_cumulative_hits_half_exactly_then_mean_of_neighbours() -> None:
    # cumulative 0.25, 0.5 (= half) -> mean of 2 and 4
    assert weighted_median([1.0, 2.0, 4.0, 8.0], [0.25, 0.25, 0.25, 0.25]) == 3.0
    assert weighted_median([5.0, 1.0, 3.0, 7.0], [1.0, 1.0, 1.0, 1.0]) == 4.0


def test_weighted_median_when_equal_weights_odd_count_then_ordinary_median() -> None:
    assert weighted_median([0.1, 0.2, 0.15], [1.0, 1.0, 1.0]) == 0.15


def test_weighted_median_when_zero_weight_then_value_ignored() -> None:
    assert weighted_median([1.0, 2.0, 100.0], [1.0, 1.0, 0.0]) == 1.5


def test_weighted_median_when_all_weights_zero_then_error() -> None:
    with pytest.raises(ValueError, match="positive total weight"):
        weighted_median([1.0, 2.0], [0.0, 0.0])


def test_lineage_stability_penalty_when_lucky_needle_then_documented_amount() -> None:
    # relatives [0.1, 0.2, 0.15]: m = 0.15, |r - m| = 0.05, 0.05, 0 -> MAD s = 0.05;
    # a needle 3.0 above m: 0.5·(3.0 - 3·0.05) = 1.425
    penalty = lineage_stability_penalty(3.15, [0.1, 0.2, 0.15], [1.0, 1.0, 1.0], PenaltyConfig())

    assert penalty == pytest.approx(1.425, abs=1e-12)


def test_lineage_stability_penalty_when_plateau_then_zero() -> None:
    # relatives [1.0, 0.95, 1.05]: m = 1.0, MAD = 0.05; 1.02 - 1.0 = 0.02 < 3·0.05
    penalty = lineage_stability_penalty(1.02, [1.0, 0.95, 1.05], [0.8, 0.6, 0.7], PenaltyConfig())

    assert penalty == 0.0


def test_lineage_stability_penalty_when_infeasible_relatives_then_ignored() -> None:
    config = PenaltyConfig()
    scores = [0.1, math.nan, 0.2, -math.inf, 0.15, math.inf]

    penalty = lineage_stability_penalty(3.15, scores, [1.0] * 6, config)

    assert penalty == pytest.approx(1.425, abs=1e-12)


def test_lineage_stability_penalty_when_zero_similarity_then_ignored() -> None:
    # the dissimilar relative at 3.0 would otherwise pull the neighbourhood up
    penalty = lineage_stability_penalty(
        3.15, [0.1, 0.2, 0.15, 3.0], [1.0, 1.0, 1.0, 0.0], PenaltyConfig()
    )

    assert penalty == pytest.approx(1.425, abs=1e-12)


def test_lineage_stability_penalty_when_similarity_weighted_then_close_relatives_dominate() -> None:
    # weights 0.9 on 1.0 and 0.1 on 0.0 and 0.1 on 0.2: weighted median 1.0, MAD 0 -> γ·(1.5-1.0)
    penalty = lineage_stability_penalty(1.5, [1.0, 0.0, 0.2], [0.9, 0.1, 0.1], PenaltyConfig())

    assert penalty == pytest.approx(0.25, abs=1e-12)


def test_lineage_stability_penalty_when_too_few_relatives_then_zero() -> None:
    config = PenaltyConfig(lineage_min_relatives=2)

    assert lineage_stability_penalty(5.0, [0.1, math.nan], [1.0, 1.0], config) == 0.0
    assert lineage_stability_penalty(5.0, [], [], config) == 0.0


def test_lineage_stability_penalty_when_below_relatives_then_zero() -> None:
    assert lineage_stability_penalty(0.0, [1.0, 1.2, 0.9], [1.0] * 3, PenaltyConfig()) == 0.0


def test_lineage_stability_penalty_when_score_infeasible_then_zero() -> None:
    assert lineage_stability_penalty(math.nan, [0.1, 0.2], [1.0, 1.0], PenaltyConfig()) == 0.0


def test_lineage_stability_penalty_when_negative_similarity_then_error() -> None:
    with pytest.raises(ValueError, match="weights"):
        lineage_stability_penalty(1.0, [0.1, 0.2], [1.0, -0.5], PenaltyConfig())


def test_neighbourhood_score_when_no_usable_relative_then_nan() -> None:
    assert math.isnan(neighbourhood_score([math.nan, 1.0], [1.0, 0.0]))


def test_penalty_config_when_unknown_field_or_negative_then_validation_error() -> None:
    with pytest.raises(ValidationError, match="extra"):
        PenaltyConfig(gamma=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="lineage_gamma"):
        PenaltyConfig(lineage_gamma=-1.0)
