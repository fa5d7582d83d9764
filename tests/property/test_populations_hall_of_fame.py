"""Hall of fame against a naive O(n²) reference: Pareto front, caps, top-k, order independence."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from populations import HallOfFame
from tests.stubs import make_member


def naive_dominates(a, b, directions) -> bool:
    at_least = all(d * x >= d * y for x, y, d in zip(a, b, directions, strict=True))
    better = any(d * x > d * y for x, y, d in zip(a, b, directions, strict=True))
    return at_least and better


def naive_members(entries, directions, top_k, max_front, score_index):
    feasible = [entry for entry in entries if entry.feasible]
    front = [
        entry
        for entry in feasible
        if not any(naive_dominates(o.penalized, entry.penalized, directions) for o in feasible)
    ]

    def best(entry):
        return (-directions[score_index] * entry.penalized[score_index], entry.id)

    chosen = {e.id for e in sorted(front, key=best)[:max_front]}
    chosen |= {e.id for e in sorted(feasible, key=best)[:top_k]}
    return [e.id for e in sorted((e for e in feasible if e.id in chosen), key=best)]


@st.composite
def scenarios(draw):
    n_objectives = draw(st.integers(1, 3))
    directions = draw(
        st.lists(st.sampled_from([1, -1]), min_size=n_objectives, max_size=n_objectives)
    )
    n_entries = draw(st.integers(0, 40))
    level = st.integers(0, 4).map(float)  # few levels: ties and equal vectors are common
    entries = [
        make_member(
            f"id{index:03d}",
            f"expr{index}",
            tuple(draw(st.lists(level, min_size=n_objectives, max_size=n_objectives))),
            feasible=draw(st.booleans().map(lambda b: b or draw(st.booleans()))),
            n_nodes=draw(st.integers(1, 30)),
            generation=index // 8,
        )
        for index in range(n_entries)
    ]
    cuts = sorted(draw(st.lists(st.integers(0, n_entries), max_size=4)))
    batches = [entries[a:b] for a, b in zip([0, *cuts], [*cuts, n_entries], strict=True)]
    return {
        "directions": directions,
        "entries": entries,
        "batches": batches,
        "top_k": draw(st.integers(0, 6)),
        "max_front": draw(st.integers(1, 8)),
        "score_index": draw(st.integers(0, n_objectives - 1)),
        "shuffle_seed": draw(st.integers(0, 2**16)),
    }


def build(scenario, *, shuffle: bool = False) -> HallOfFame:
    hall = HallOfFame(
        scenario["directions"], scenario["top_k"], scenario["max_front"], scenario["score_index"]
    )
    rng = random.Random(scenario["shuffle_seed"])
    for batch in scenario["batches"]:
        batch = list(batch)
        if shuffle:
            rng.shuffle(batch)
        hall.update(batch)
    return hall


@given(scenarios())
def test_hall_of_fame_when_random_batches_then_matches_naive_reference(scenario):
    hall = build(scenario)

    expected = naive_members(
        scenario["entries"],
        scenario["directions"],
        scenario["top_k"],
        scenario["max_front"],
        scenario["score_index"],
    )

    assert [entry.id for entry in hall.members()] == expected
    assert all(entry.feasible for entry in hall.members())
    full_front = {entry.id for entry in hall.front()}
    assert full_front == set(
        naive_members(
            scenario["entries"], scenario["directions"], 0, 10**6, scenario["score_index"]
        )
    )


@given(scenarios())
def test_hall_of_fame_when_batch_order_shuffled_then_identical_state(scenario):
    assert build(scenario, shuffle=True).to_state() == build(scenario).to_state()


@settings(max_examples=50)
@given(scenarios())
def test_hall_of_fame_when_restored_mid_run_then_continues_like_uninterrupted(scenario):
    hall = HallOfFame(
        scenario["directions"], scenario["top_k"], scenario["max_front"], scenario["score_index"]
    )
    batches = scenario["batches"]
    half = len(batches) // 2
    for batch in batches[:half]:
        hall.update(batch)
    restored = HallOfFame.from_state(hall.to_state())
    for batch in batches[half:]:
        restored.update(batch)

    assert restored.to_state() == build(scenario).to_state()
    assert restored.members() == build(scenario).members()
