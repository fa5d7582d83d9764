"""The confirmation stage's family: clusters by validation correlation, Holm and Šidák levels."""

from __future__ import annotations

import numpy as np
import pytest

from evolve.promotion.confirmation import (
    cluster_candidates,
    confirmation_levels,
    holm_levels,
    sidak_alpha,
)


def _naive_holm(p_values: list[float], alpha: float) -> list[bool]:
    # textbook step-down: reject the k smallest while p_(j) <= alpha / (m - j + 1)
    m = len(p_values)
    order = sorted(range(m), key=lambda k: p_values[k])
    rejected = [False] * m
    for j, index in enumerate(order):
        if p_values[index] > alpha / (m - j):
            break
        rejected[index] = True
    return rejected


def test_sidak_alpha_when_five_tests_then_matches_closed_form() -> None:
    assert sidak_alpha(0.05, 5) == pytest.approx(1 - 0.95**0.2, rel=1e-12)
    assert sidak_alpha(0.05, 1) == pytest.approx(0.05)


@pytest.mark.parametrize("seed", range(20))
def test_holm_levels_when_random_p_values_then_rejections_match_textbook_step_down(
    seed: int,
) -> None:
    p_values = np.random.default_rng(seed).uniform(0, 0.06, 6).tolist()

    levels = holm_levels(p_values, 0.05)

    assert [p <= level for p, level in zip(p_values, levels, strict=True)] == _naive_holm(
        p_values, 0.05
    )


def test_holm_levels_when_p_not_computable_then_sorted_last_and_never_rejected() -> None:
    levels = holm_levels([0.001, None, 0.02], 0.05)

    assert levels[0] == pytest.approx(0.05 / 3) and levels[2] == pytest.approx(0.05 / 2)
    assert levels[1] == pytest.approx(0.05)


def test_cluster_candidates_when_scaled_copies_then_one_cluster_led_by_best_rank() -> None:
    rng = np.random.default_rng(0)
    base, other = rng.normal(0, 0.01, 100), rng.normal(0, 0.01, 100)
    streams = [base, other, 2.0 * base + rng.normal(0, 1e-4, 100), np.zeros(100)]

    clusters = cluster_candidates(["a", "b", "c", "d"], streams, 0.8)

    assert [(c.id, c.representative, c.members) for c in clusters] == [
        (0, "a", ("a", "c")),
        (1, "b", ("b",)),
        (2, "d", ("d",)),
    ]


def test_cluster_candidates_when_lengths_differ_then_value_error_naming_counts() -> None:
    with pytest.raises(ValueError, match="one validation stream per candidate"):
        cluster_candidates(["a", "b"], [np.zeros(3)], 0.8)


def test_confirmation_levels_when_holm_then_members_share_their_cluster_level() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.01, 50)
    clusters = cluster_candidates(["a", "b", "c"], [base, rng.normal(0, 0.01, 50), base], 0.8)

    levels = confirmation_levels(clusters, {"a": 0.999, "b": 0.5, "c": 0.2}, 0.05, "holm")

    assert levels["a"].corrected_alpha == levels["c"].corrected_alpha == pytest.approx(0.025)
    assert levels["b"].corrected_alpha == pytest.approx(0.05)
    assert levels["a"].n_clusters == 2 and levels["c"].cluster == 0
    assert levels["a"].psr_threshold == pytest.approx(0.975)


def test_confirmation_levels_when_a_cluster_failed_selection_then_not_counted_in_the_family() -> (
    None
):
    rng = np.random.default_rng(2)
    base = rng.normal(0, 0.01, 50)
    streams = [base, rng.normal(0, 0.01, 50), rng.normal(0, 0.01, 50), base]
    clusters = cluster_candidates(["a", "b", "c", "d"], streams, 0.8)
    psr = {"a": 0.9999, "b": 0.97, "c": 0.5, "d": 0.999}

    every = confirmation_levels(clusters, psr, 0.05, "holm")
    # "c" failed the selection stage; "a" too, so its cluster is represented by "d"
    taken = confirmation_levels(clusters, psr, 0.05, "holm", taken={"b", "d"})

    # by hand: all three clusters -> p (a 1e-4, b 0.03, c 0.5) at 0.05/3, 0.05/2, 0.05/1;
    # b's 0.03 > 0.025 fails, and with it c's level stays 0.025
    assert [every[k].corrected_alpha for k in "abc"] == pytest.approx([0.05 / 3, 0.025, 0.025])
    # two clusters taken -> p (d 1e-3, b 0.03) at 0.05/2, then 0.05: b is confirmed now
    assert taken["d"].corrected_alpha == taken["a"].corrected_alpha == pytest.approx(0.025)
    assert taken["b"].corrected_alpha == pytest.approx(0.05)
    assert taken["b"].n_clusters == 2 and taken["b"].tested
    assert not taken["c"].tested and taken["c"].corrected_alpha == pytest.approx(0.025)


def test_confirmation_levels_when_nothing_passed_selection_then_every_cluster_untested() -> None:
    clusters = cluster_candidates(["a"], [np.arange(5.0)], 0.8)

    levels = confirmation_levels(clusters, {"a": 0.99}, 0.05, "sidak", taken=set())

    assert not levels["a"].tested and levels["a"].n_clusters == 0
    assert levels["a"].corrected_alpha == 0.05


def test_confirmation_levels_when_representative_fails_then_its_members_unconfirmed() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.01, 50)
    clusters = cluster_candidates(["a", "b"], [base, base * 2.0], 0.8)  # one cluster, a leads

    levels = confirmation_levels(clusters, {"a": 0.90, "b": 0.99}, 0.05, "holm")

    # the cluster is one test at 0.05: a's p 0.10 fails it, so b's own 0.01 cannot rescue it
    assert levels["b"].representative == "a" and not levels["b"].representative_confirmed
    confirmed = confirmation_levels(clusters, {"a": 0.97, "b": 0.99}, 0.05, "holm")
    assert confirmed["b"].representative_confirmed
