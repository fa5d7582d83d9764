"""Hall of fame: hand-checked fronts, top-k and caps, first entry wins, JSON export."""

from __future__ import annotations

import json
import math

import pytest

from populations import (
    HallOfFame,
    Member,
    SpecError,
    read_hall_of_fame,
    write_hall_of_fame,
)
from tests.stubs import make_member
from tests.unit.populations.helpers import make_spec

# objectives: (robust score ↑, drawdown ↓, complexity ↓)
DIRECTIONS = (1, -1, -1)


def entry(
    id: str,
    score: float,
    drawdown: float,
    nodes: float,
    *,
    feasible: bool = True,
    generation: int = 0,
) -> Member:
    return make_member(
        id,
        f"expr_{id}",
        (score, drawdown, nodes),
        feasible=feasible,
        n_nodes=int(nodes),
        generation=generation,
    )


def ids(entries) -> list[str]:
    return [item.id for item in entries]


def test_hall_of_fame_when_hand_built_set_then_front_and_top_k_as_computed_by_hand():
    hall = HallOfFame(DIRECTIONS, top_k=2, max_front=10)

    admitted = hall.update(
        [
            entry("a", 1.0, 0.30, 9),  # best score: front
            entry("b", 0.5, 0.10, 9),  # lowest drawdown: front
            entry("c", 0.2, 0.40, 3),  # simplest: front
            entry("d", 0.4, 0.40, 9),  # dominated by a (and b): out, not top-2 either
            entry("e", 0.9, 0.35, 10),  # dominated by a, but second-best score: top-2
            entry("f", 5.0, 0.0, 1, feasible=False),  # infeasible never enters
        ]
    )

    assert ids(hall.front()) == ["a", "b", "c"]
    assert ids(hall.members()) == ["a", "e", "b", "c"]
    assert admitted == ["a", "e", "b", "c"]


def test_hall_of_fame_when_later_batch_dominates_then_old_members_leave_and_new_reported():
    hall = HallOfFame(DIRECTIONS, top_k=0, max_front=10)
    hall.update([entry("a", 1.0, 0.3, 9), entry("b", 0.5, 0.1, 9)])

    admitted = hall.update([entry("z", 1.0, 0.1, 9, generation=1)])

    assert admitted == ["z"]
    assert ids(hall.members()) == ["z"]


def test_hall_of_fame_when_front_exceeds_cap_then_best_scores_kept_ties_by_id():
    hall = HallOfFame((1, 1), top_k=0, max_front=3)
    # a trade-off line: every entry is on the front
    hall.update(
        [
            entry_2("p", 3.0, 1.0),
            entry_2("q", 2.0, 2.0),
            entry_2("r", 2.0, 2.0),
            entry_2("s", 1.0, 3.0),
            entry_2("t", 0.0, 4.0),
        ]
    )

    assert ids(hall.front()) == ["p", "q", "r", "s", "t"]
    assert ids(hall.members()) == ["p", "q", "r"]


def entry_2(id: str, first: float, second: float) -> Member:
    return make_member(id, id, (first, second), n_nodes=1)


def test_hall_of_fame_when_capped_member_dominates_newcomer_then_newcomer_still_rejected():
    hall = HallOfFame((1, 1), top_k=0, max_front=1)
    hall.update([entry_2("best", 5.0, 0.0), entry_2("wide", 1.0, 5.0)])

    hall.update([entry_2("late", 0.5, 4.0)])  # dominated by "wide", which is beyond the cap

    assert ids(hall.members()) == ["best"]
    assert ids(hall.front()) == ["best", "wide"]


def test_hall_of_fame_when_score_minimised_then_best_first_is_lowest():
    hall = HallOfFame((1, -1), top_k=3, max_front=1, score_index=1)
    hall.update([entry_2("x", 0.0, 3.0), entry_2("y", 0.0, 1.0), entry_2("z", 0.0, 2.0)])

    assert ids(hall.members()) == ["y", "z", "x"]


def test_hall_of_fame_when_id_offered_again_then_first_entry_kept():
    hall = HallOfFame(DIRECTIONS, top_k=5)
    hall.update([entry("a", 0.1, 0.5, 9), entry("b", 1.0, 0.1, 3)])

    admitted = hall.update([entry("a", 9.0, 0.0, 1, generation=5)])

    assert admitted == []
    assert hall.members()[1] == entry("a", 0.1, 0.5, 9)


def test_hall_of_fame_when_first_offer_infeasible_then_later_feasible_offer_ignored():
    hall = HallOfFame(DIRECTIONS)
    hall.update([entry("a", math.nan, math.nan, 9, feasible=False)])

    hall.update([entry("a", 1.0, 0.1, 9, generation=1)])

    assert hall.members() == [] and hall.n_offered == 1


def test_hall_of_fame_when_duplicate_id_within_batch_then_same_choice_in_any_order():
    early = entry("a", 0.1, 0.5, 9, generation=1)
    late = entry("a", 2.0, 0.1, 3, generation=2)

    for batch in ([early, late], [late, early]):
        hall = HallOfFame(DIRECTIONS)
        hall.update(batch)
        assert hall.members() == [early]


def test_hall_of_fame_when_bad_entries_then_value_error_and_state_unchanged():
    hall = HallOfFame(DIRECTIONS)
    hall.update([entry("a", 1.0, 0.1, 3)])
    before = hall.to_state()

    with pytest.raises(ValueError, match="feasible entry needs finite"):
        hall.update([entry("b", 2.0, 0.1, 3), entry("c", math.inf, 0.1, 3)])
    with pytest.raises(ValueError, match="expected 3 objectives"):
        hall.update([make_member("d", "d", (1.0,), n_nodes=1)])

    assert hall.to_state() == before


def test_hall_of_fame_when_bad_parameters_then_value_error():
    with pytest.raises(ValueError, match="directions"):
        HallOfFame((1, 0))
    with pytest.raises(ValueError, match="score_index"):
        HallOfFame((1,), score_index=1)
    with pytest.raises(ValueError, match="max_front"):
        HallOfFame((1,), max_front=0)


def test_hall_of_fame_state_when_round_tripped_through_json_then_equal():
    hall = HallOfFame(DIRECTIONS, top_k=2, max_front=2)
    hall.update(
        [
            entry("a", 1.0, 0.3, 9),
            entry("b", 0.5, 0.1, 9),
            entry("c", 0.2, 0.4, 3),
            entry("x", 0.0, 0.0, 0, feasible=False),
        ]
    )

    state = json.loads(json.dumps(hall.to_state()))
    restored = HallOfFame.from_state(state)

    assert restored.to_state() == hall.to_state()
    assert restored.members() == hall.members()
    with pytest.raises(ValueError, match="malformed"):
        HallOfFame.from_state({"version": 1})


def test_write_hall_of_fame_when_written_twice_then_byte_identical_and_readable(tmp_path):
    specs = [
        make_spec("b" * 16, objectives=[1.5, 0.1, 7.0]),
        make_spec("a" * 16, objectives=[math.nan, 0.2, 5.0]),
    ]
    first, second = tmp_path / "one.json", tmp_path / "two.json"

    write_hall_of_fame(first, 7, specs)
    write_hall_of_fame(second, 7, specs)

    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_text())
    assert list(document) == ["generation", "members"]
    assert [member["id"] for member in document["members"]] == ["b" * 16, "a" * 16]
    generation, again = read_hall_of_fame(first)
    assert generation == 7 and [spec.to_json() for spec in again] == [
        spec.to_json() for spec in specs
    ]


def test_read_hall_of_fame_when_member_invalid_then_error_names_file_and_member(tmp_path):
    path = tmp_path / "hall_of_fame.json"
    path.write_text('{"generation": 1, "members": [{"id": "x"}]}')

    with pytest.raises(SpecError, match=r"hall_of_fame\.json member 0: .*expression"):
        read_hall_of_fame(path)
    path.write_text("[]")
    with pytest.raises(SpecError, match="expected a hall of fame"):
        read_hall_of_fame(path)
