"""Hall of fame: the Pareto front of every feasible individual offered, plus the top-k by score.

It holds the population's own strategy records (:class:`populations.member.Member`, judged by
their penalised objectives), so a member's spec needs no second evaluation. Plain Python and
numpy; fully deterministic (ties broken by id) and independent of the order of entries within
one ``update``. ``hall_of_fame.json`` is written best first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fitness.data.atomic import write_text_atomic
from populations.errors import SpecError
from populations.member import Member
from populations.spec import StrategySpec, dumps_exact, spec_from_dict

_STATE_VERSION = 2


def _tie_key(entry: Member) -> tuple[object, ...]:
    # total order over entries sharing an id within one batch (NaN sorts last)
    objectives = tuple((math.isnan(v), 0.0 if math.isnan(v) else v) for v in entry.penalized)
    return (entry.generation, objectives, entry.n_nodes, not entry.feasible, entry.text)


def dominated_mask(candidates: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Return which candidate rows are Pareto-dominated by some row of ``others``.

    Parameters
    ----------
    candidates : ndarray of float64, shape (n_candidates, n_objectives)
        Objectives, all to be maximised (multiply by the directions first).
    others : ndarray of float64, shape (n_others, n_objectives)
        Rows that may dominate; a row equal to a candidate does not dominate it.

    Returns
    -------
    ndarray of bool, shape (n_candidates,)
    """
    mask = np.zeros(len(candidates), dtype=bool)
    if len(candidates) == 0 or len(others) == 0:
        return mask
    step = max(1, 4_000_000 // max(1, len(others) * candidates.shape[1]))
    for begin in range(0, len(candidates), step):
        block = candidates[begin : begin + step, None, :]
        at_least = (others[None, :, :] >= block).all(axis=2)
        better = (others[None, :, :] > block).any(axis=2)
        mask[begin : begin + step] = np.any(at_least & better, axis=1)
    return mask


class HallOfFame:
    """Pareto front (capped) plus top-k by score over all feasible individuals ever offered.

    Parameters
    ----------
    directions : sequence of int
        Per objective, +1 to maximise or -1 to minimise.
    top_k : int
        Number of best individuals by the score objective always kept (>= 0).
    max_front : int
        Most front members listed; the best by score (ties by id) are kept (>= 1). The full
        front is remembered internally, so an entry dominated by a front member beyond the
        cap still never enters.
    score_index : int
        Index of the score objective (robust score) in the objectives.
    """

    def __init__(
        self,
        directions: Sequence[int],
        top_k: int = 10,
        max_front: int = 50,
        score_index: int = 0,
    ) -> None:
        directions = [int(direction) for direction in directions]
        if not directions or any(direction not in (1, -1) for direction in directions):
            raise ValueError(f"directions: expected a non-empty list of +1/-1, found {directions}")
        if not 0 <= score_index < len(directions):
            raise ValueError(f"score_index: expected 0..{len(directions) - 1}, found {score_index}")
        if top_k < 0 or max_front < 1:
            raise ValueError(
                f"expected top_k >= 0 and max_front >= 1, found top_k={top_k}, "
                f"max_front={max_front}"
            )
        self.directions = tuple(directions)
        self.top_k = int(top_k)
        self.max_front = int(max_front)
        self.score_index = int(score_index)
        self._signs = np.asarray(self.directions, dtype=np.float64)
        self._offered: set[str] = set()
        self._front: dict[str, Member] = {}
        self._top: list[Member] = []

    def _best_key(self, entry: Member) -> tuple[float, str]:
        return (-self.directions[self.score_index] * entry.penalized[self.score_index], entry.id)

    def _check(self, entry: Member) -> None:
        if len(entry.penalized) != len(self.directions):
            raise ValueError(
                f"hall of fame entry {entry.id!r}: expected {len(self.directions)} objectives, "
                f"found {len(entry.penalized)}"
            )
        if entry.feasible and not all(math.isfinite(value) for value in entry.penalized):
            raise ValueError(
                f"hall of fame entry {entry.id!r}: a feasible entry needs finite objectives, "
                f"found {list(entry.penalized)}; mark it infeasible instead"
            )

    def _new_batch(self, entries: Iterable[Member]) -> list[Member]:
        chosen: dict[str, Member] = {}
        for entry in entries:
            self._check(entry)
            if entry.id in self._offered:
                continue
            held = chosen.get(entry.id)
            if held is None or _tie_key(entry) < _tie_key(held):
                chosen[entry.id] = entry
        return [chosen[key] for key in sorted(chosen)]

    def _matrix(self, entries: Sequence[Member]) -> np.ndarray:
        if not entries:
            return np.empty((0, len(self.directions)))
        return np.asarray([entry.penalized for entry in entries], dtype=np.float64) * self._signs

    def _update_front(self, candidates: list[Member]) -> None:
        old = [self._front[key] for key in sorted(self._front)]
        new_matrix, old_matrix = self._matrix(candidates), self._matrix(old)
        everyone = np.vstack([old_matrix, new_matrix])
        # dominance is transitive, so dropping old members beaten by any candidate is exact
        old_beaten = dominated_mask(old_matrix, new_matrix)
        new_beaten = dominated_mask(new_matrix, everyone)
        for entry, beaten in zip(old, old_beaten, strict=True):
            if beaten:
                del self._front[entry.id]
        for entry, beaten in zip(candidates, new_beaten, strict=True):
            if not beaten:
                self._front[entry.id] = entry

    def update(self, entries: Iterable[Member]) -> list[str]:
        """Offer a batch of entries; return the ids newly admitted to the members, best first.

        Infeasible entries never enter. An id already offered (in this or an earlier batch)
        keeps its first entry; duplicates of an id within one batch resolve to the entry with
        the earliest generation, then the smallest objectives, so the outcome never depends on
        the order within a batch.

        Raises
        ------
        ValueError
            When an entry has the wrong number of objectives, or is feasible with a
            non-finite objective (nothing is changed then).
        """
        batch = self._new_batch(entries)
        before = {entry.id for entry in self.members()}
        self._offered.update(entry.id for entry in batch)
        candidates = [entry for entry in batch if entry.feasible]
        if candidates:
            self._update_front(candidates)
            ranked = sorted([*self._top, *candidates], key=self._best_key)
            self._top = ranked[: self.top_k]
        return [entry.id for entry in self.members() if entry.id not in before]

    def replace(self, member: Member) -> None:
        """Put an updated record of a held id in place (e.g. once probed for its stability).

        Raises
        ------
        ValueError
            When the id is not held, or the record's penalised objectives differ from the
            held one's (they decide membership, so they cannot change).
        """
        held = self._front.get(member.id) or next(
            (entry for entry in self._top if entry.id == member.id), None
        )
        if held is None:
            raise ValueError(f"hall of fame: id {member.id!r} is not held; expected a member id")
        if held.penalized != member.penalized:
            raise ValueError(
                f"hall of fame entry {member.id!r}: objectives expected {list(held.penalized)} "
                f"(held), found {list(member.penalized)}"
            )
        if member.id in self._front:
            self._front[member.id] = member
        self._top = [member if entry.id == member.id else entry for entry in self._top]

    def front(self) -> list[Member]:
        """Return the full (uncapped) Pareto front, best first by score then id."""
        return sorted(self._front.values(), key=self._best_key)

    def members(self) -> list[Member]:
        """Return the members, best first: by score (its direction), then by id."""
        chosen = {entry.id: entry for entry in self.front()[: self.max_front]}
        chosen.update((entry.id, entry) for entry in self._top)
        return sorted(chosen.values(), key=self._best_key)

    def __len__(self) -> int:
        return len(self.members())

    @property
    def n_offered(self) -> int:
        """Return the number of distinct ids offered so far."""
        return len(self._offered)

    def to_state(self) -> dict[str, object]:
        """Return the complete state as plain JSON data (for a checkpoint)."""
        return {
            "version": _STATE_VERSION,
            "directions": list(self.directions),
            "top_k": self.top_k,
            "max_front": self.max_front,
            "score_index": self.score_index,
            "records": {
                entry.id: entry.to_state()
                for entry in sorted([*self._front.values(), *self._top], key=lambda e: e.id)
            },
            "front": sorted(self._front),
            "top": [entry.id for entry in self._top],
            "offered_ids": sorted(self._offered),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> HallOfFame:
        """Rebuild a hall of fame from :meth:`to_state` output.

        Raises
        ------
        ValueError
            When the state is malformed or of another version.
        """
        try:
            if state["version"] != _STATE_VERSION:
                raise ValueError(f"version expected {_STATE_VERSION}, found {state['version']}")
            hall = cls(
                state["directions"], state["top_k"], state["max_front"], state["score_index"]
            )
            records = {
                str(key): Member.from_state(values) for key, values in state["records"].items()
            }
            hall._front = {str(key): records[str(key)] for key in state["front"]}
            hall._top = [records[str(key)] for key in state["top"]]
            hall._offered = {str(value) for value in state["offered_ids"]}
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"hall of fame state: malformed ({e!r})") from e
        return hall


def hall_of_fame_text(generation: int, specs: Sequence[StrategySpec]) -> str:
    """Return the text of ``hall_of_fame.json``: ``{"generation", "members": [spec, ...]}``."""
    document = {"generation": int(generation), "members": [spec.to_dict() for spec in specs]}
    return dumps_exact(document) + "\n"


def write_hall_of_fame(path: Path, generation: int, specs: Sequence[StrategySpec]) -> None:
    """Write ``hall_of_fame.json`` atomically; byte-identical for identical inputs.

    Parameters
    ----------
    path : Path
        Usually ``RunDir.hall_of_fame_path``.
    generation : int
        The last completed generation.
    specs : sequence of StrategySpec
        The members in :meth:`HallOfFame.members` order (best first); written in that order.
    """
    write_text_atomic(Path(path), hall_of_fame_text(generation, specs))


def read_hall_of_fame(path: Path) -> tuple[int, list[StrategySpec]]:
    """Read ``hall_of_fame.json``; return ``(generation, specs)`` (members best first).

    Raises
    ------
    SpecError
        Naming the file (and member) when it cannot be read or is malformed.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text("utf-8"))
        generation, members = int(document["generation"]), list(document["members"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SpecError(
            f'{path}: expected a hall of fame {{"generation": g, "members": [...]}} ({e})'
        ) from e
    specs = [
        spec_from_dict(member, where=f"{path} member {index}")
        for index, member in enumerate(members)
    ]
    return generation, specs
