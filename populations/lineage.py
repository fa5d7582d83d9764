"""Lineage: one row per individual occurrence, stored as per-generation Parquet parts.

``lineage.parquet`` is a *directory* holding ``part-000012.parquet`` per generation, so that
appending a generation is one atomic file write. Read it all with
``pyarrow.parquet.read_table("<run>/lineage.parquet")`` or
``pandas.read_parquet("<run>/lineage.parquet")`` (temporary files start with ``.`` and are
ignored by both).

Trial record for the promoter's effective number of trials (issue 6): ``validation_returns``
holds the individual's validation returns on the run's common **daily** grid: element ``k``
is the compounded return, over UTC day ``k`` of the run's validation calendar (the
validation segments in time order, each bucketed from its first bar with
``fitness.simulate_segment(..., bucket_bars=<bars per day>)``), of the combined book (the
equal-weight mean of the symbols' returns). Every row of one run has the same length; an empty
list means the individual has no validation stream (e.g. infeasible on the training folds).
``trial_matrix`` turns the new-trial rows into the matrix ``fitness.stats.trials.effective_trials``
takes; ``validation_sharpe_daily`` (the per-day Sharpe of that stream, not annualised) and
``validation_n_days`` (its length) are kept next to it for V[SR_n].

Rows are written straight from the generation's offspring records
(:class:`populations.member.Member`); schema version 2 renamed ``validation_sharpe`` to
``validation_sharpe_daily`` and ``validation_n_bars`` (a day count) to ``validation_n_days``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from fitness.data.atomic import atomic_write, fsync_dir
from populations.checkpoint import remove_temp_files
from populations.errors import CheckpointError, LineageLookupError
from populations.member import Member
from populations.run_dir import RunDir

OPERATORS = (
    "init",
    "seed",
    "crossover",
    "mutate_subtree",
    "mutate_point",
    "mutate_shrink",
    "mutate_constants",
    "immigrant",
    "reproduction",
)

LINEAGE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("expression", pa.string(), nullable=False),
        pa.field("generation", pa.int32(), nullable=False),
        pa.field("operator", pa.string(), nullable=False),
        pa.field("parent_ids", pa.list_(pa.string()), nullable=False),
        pa.field("objectives", pa.list_(pa.float64()), nullable=False),
        pa.field("penalized_objectives", pa.list_(pa.float64()), nullable=False),
        pa.field("feasible", pa.bool_(), nullable=False),
        pa.field("n_nodes", pa.int32(), nullable=False),
        pa.field("is_new_trial", pa.bool_(), nullable=False),
        pa.field("validation_sharpe_daily", pa.float64(), nullable=False),
        pa.field("validation_n_days", pa.int32(), nullable=False),
        pa.field("validation_returns", pa.list_(pa.float32()), nullable=False),
        pa.field("semantic_hash", pa.string(), nullable=False),
    ],
    metadata={"evolve.lineage_schema_version": "2"},
)

_PART = re.compile(r"part-(\d{6,})\.parquet")


def _check_rows(generation: int, rows: Sequence[Member]) -> None:
    for index, row in enumerate(rows):
        where = f"lineage row {index} of generation {generation} (id {row.id!r})"
        if row.generation != generation:
            raise ValueError(f"{where}: generation expected {generation}, found {row.generation}")
        if row.operator not in OPERATORS:
            raise ValueError(
                f"{where}: operator expected one of {', '.join(OPERATORS)}, found {row.operator!r}"
            )
        if len(row.objectives) != len(row.penalized):
            raise ValueError(
                f"{where}: objectives and penalized_objectives expected equal lengths, found "
                f"{len(row.objectives)} and {len(row.penalized)}"
            )


def _list_array(values: list[Sequence[object]], value_type: pa.DataType) -> pa.Array:
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([len(item) for item in values], out=offsets[1:])
    flat = [item for sequence in values for item in sequence]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=value_type))


def rows_to_table(rows: Sequence[Member]) -> pa.Table:
    """Return one row per member (an offspring occurrence) as a table with ``LINEAGE_SCHEMA``."""
    returns = [np.asarray(row.validation_returns, dtype=np.float32) for row in rows]
    returns_offsets = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum([len(item) for item in returns], out=returns_offsets[1:])
    flat_returns = np.concatenate(returns) if returns else np.empty(0, dtype=np.float32)
    columns = {
        "id": pa.array([row.id for row in rows], pa.string()),
        "expression": pa.array([row.text for row in rows], pa.string()),
        "generation": pa.array([row.generation for row in rows], pa.int32()),
        "operator": pa.array([row.operator for row in rows], pa.string()),
        "parent_ids": _list_array([list(row.parent_ids) for row in rows], pa.string()),
        "objectives": _list_array([list(row.objectives) for row in rows], pa.float64()),
        "penalized_objectives": _list_array([list(row.penalized) for row in rows], pa.float64()),
        "feasible": pa.array([bool(row.feasible) for row in rows], pa.bool_()),
        "n_nodes": pa.array([row.n_nodes for row in rows], pa.int32()),
        "is_new_trial": pa.array([bool(row.is_new_trial) for row in rows], pa.bool_()),
        "validation_sharpe_daily": pa.array(
            [row.validation_sharpe_daily for row in rows], pa.float64()
        ),
        "validation_n_days": pa.array([len(row.validation_returns) for row in rows], pa.int32()),
        "validation_returns": pa.ListArray.from_arrays(
            pa.array(returns_offsets), pa.array(flat_returns, pa.float32())
        ),
        "semantic_hash": pa.array([row.semantic_hash for row in rows], pa.string()),
    }
    return pa.Table.from_pydict(columns, schema=LINEAGE_SCHEMA)


class LineageStore:
    """Append-only lineage of one run: ``lineage.parquet/part-<generation>.parquet``.

    Crash safety: each part is written atomically. A part may exist for a generation whose
    checkpoint was never written (killed in between); on resume call :meth:`truncate_after`
    with the checkpoint's generation before appending again.
    """

    def __init__(self, run_dir: RunDir) -> None:
        self.path = run_dir.lineage_path

    def part_path(self, generation: int) -> Path:
        """Return the part file of ``generation``."""
        return self.path / f"part-{generation:06d}.parquet"

    def generations(self) -> list[int]:
        """Return the generations that have a part file, ascending."""
        if not self.path.is_dir():
            return []
        found = (_PART.fullmatch(path.name) for path in self.path.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def append_generation(self, generation: int, rows: Sequence[Member]) -> None:
        """Write the offspring records of ``generation`` as one part file, atomically.

        Writing a generation that already has a part replaces it (idempotent re-run).

        Raises
        ------
        ValueError
            When a row belongs to another generation or names an unknown operator.
        CheckpointError
            When parts of later generations exist (call :meth:`truncate_after` first).
        """
        if generation < 0:
            raise ValueError(f"generation: expected >= 0, found {generation}")
        _check_rows(generation, rows)
        later = [g for g in self.generations() if g > generation]
        if later:
            raise CheckpointError(
                f"{self.path}: cannot append generation {generation}, parts of later "
                f"generations exist ({later[:5]}); call truncate_after({generation - 1}) first"
            )
        table = rows_to_table(rows)
        self.path.mkdir(exist_ok=True)
        atomic_write(
            self.part_path(generation),
            lambda temp: pq.write_table(table, temp, compression="zstd"),
            sync_dir=True,
        )

    def truncate_after(self, generation: int) -> None:
        """Delete the parts of every generation after ``generation`` and stray temp files."""
        if not self.path.is_dir():
            return
        removed = remove_temp_files(self.path)
        for later in self.generations():
            if later > generation:
                self.part_path(later).unlink(missing_ok=True)
                removed += 1
        if removed:
            fsync_dir(self.path)

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Return all rows, generations in ascending order, rows in their written order.

        Parameters
        ----------
        columns : sequence of str, optional
            Subset of ``LINEAGE_SCHEMA`` names (default all).
        """
        names = list(LINEAGE_SCHEMA.names if columns is None else columns)
        unknown = [name for name in names if name not in LINEAGE_SCHEMA.names]
        if unknown:
            raise ValueError(
                f"columns: unknown lineage columns {unknown}; expected names from "
                f"{LINEAGE_SCHEMA.names}"
            )
        paths = [str(self.part_path(generation)) for generation in self.generations()]
        if not paths:
            return LINEAGE_SCHEMA.empty_table().select(names)
        dataset = pads.dataset(paths, schema=LINEAGE_SCHEMA, format="parquet")
        return dataset.to_table(columns=names)


@dataclass(slots=True)
class _Occurrence:
    generation: int
    parent_ids: tuple[str, ...]


@dataclass(slots=True)
class _Known:
    score: float
    occurrences: list[_Occurrence] = field(default_factory=list)
    expression: str | None = None


class LineageIndex:
    """In-memory relatives lookup for the lineage-stability penalty.

    An id's score is the one given when it was first added (re-creations of the same text
    add occurrences, with their own parents, but keep the first score).
    """

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}
        self._children: dict[tuple[int, str], list[str]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def __contains__(self, id: object) -> bool:
        return id in self._known

    def add(
        self,
        id: str,
        parent_ids: Sequence[str],
        generation: int,
        score: float,
        *,
        expression: str | None = None,
    ) -> None:
        """Record one occurrence of ``id`` in ``generation`` with its parents and score.

        Parameters
        ----------
        expression : str, optional
            Canonical text, kept for :meth:`expression` (structural similarity).
        """
        known = self._known.get(id)
        if known is None:
            known = self._known[id] = _Known(float(score), expression=expression)
        elif known.expression is None:
            known.expression = expression
        parents = tuple(parent_ids)
        known.occurrences.append(_Occurrence(int(generation), parents))
        for parent in dict.fromkeys(parents):
            self._children.setdefault((int(generation), parent), []).append(id)

    def score(self, id: str) -> float:
        """Return the score of ``id`` (``KeyError`` if unknown)."""
        return self._known[id].score

    def expression(self, id: str) -> str | None:
        """Return the expression recorded for ``id``, or None if none was given."""
        known = self._known.get(id)
        return None if known is None else known.expression

    def _parents_before(self, id: str, generation: int) -> list[str]:
        # parents of every occurrence of ``id`` created before ``generation``
        known = self._known.get(id)
        if known is None:
            return []
        return [
            parent
            for occurrence in known.occurrences
            if occurrence.generation < generation
            for parent in occurrence.parent_ids
        ]

    def relatives(
        self, id: str, parent_ids: Sequence[str], generation: int
    ) -> list[tuple[str, float]]:
        """Return the relatives of an individual of ``generation`` with their scores.

        Parents (``parent_ids`` order), then grandparents (the parents of each parent's
        occurrences before ``generation``), then siblings (individuals added to the same
        generation that share a parent, in the order added). Only ids in the index count; each
        appears once (first place); ``id`` itself is excluded.
        """
        grandparents = [
            grandparent
            for parent in parent_ids
            for grandparent in self._parents_before(parent, generation)
        ]
        siblings = [
            sibling
            for parent in dict.fromkeys(parent_ids)
            for sibling in self._children.get((generation, parent), [])
        ]
        found: dict[str, float] = {}
        for relative in (*parent_ids, *grandparents, *siblings):
            if relative != id and relative not in found and relative in self._known:
                found[relative] = self._known[relative].score
        return list(found.items())

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        score_column: str = "objectives",
        score_index: int = 0,
        *,
        with_expressions: bool = False,
    ) -> LineageIndex:
        """Rebuild the index from lineage rows (``LineageStore.read()``) in table order.

        Parameters
        ----------
        score_column : str
            A list column (``"objectives"``, ``"penalized_objectives"``; element
            ``score_index`` is the score) or a float column (e.g. ``"validation_sharpe_daily"``).
        with_expressions : bool
            Also keep each id's expression.
        """
        index = cls()
        ids = table.column("id").to_pylist()
        parents = table.column("parent_ids").to_pylist()
        generations = table.column("generation").to_pylist()
        scores = table.column(score_column)
        if pa.types.is_list(scores.type):
            values = [
                math.nan if item is None or len(item) <= score_index else item[score_index]
                for item in scores.to_pylist()
            ]
        else:
            values = [math.nan if item is None else item for item in scores.to_pylist()]
        expressions = (
            table.column("expression").to_pylist() if with_expressions else [None] * len(ids)
        )
        for row in zip(ids, parents, generations, values, expressions, strict=True):
            index.add(row[0], row[1], row[2], row[3], expression=row[4])
        return index


_ANCESTRY_COLUMNS = ("id", "generation", "operator", "expression", "objectives", "parent_ids")


def _resolve_id(ids: Sequence[str], wanted: str) -> str:
    distinct = dict.fromkeys(ids)
    if wanted in distinct:
        return wanted
    matches = [candidate for candidate in distinct if wanted and candidate.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LineageLookupError(
            f"id {wanted!r} is ambiguous in the lineage: it prefixes {len(matches)} ids "
            f"({', '.join(sorted(matches)[:5])}, …); give more characters"
        )
    raise LineageLookupError(
        f"id {wanted!r} is not in the lineage ({len(distinct)} individuals); expected an id "
        "(or a unique prefix) from hall_of_fame.json or lineage.parquet"
    )


def ancestry(table: pa.Table, id: str, max_depth: int = 6) -> list[dict[str, object]]:
    """Return an individual and its ancestors, breadth-first (for ``evolve lineage ID``).

    Each id is described by its first occurrence (its discovery) and listed once, at the depth
    where the breadth-first walk first reaches it; parents are visited in ``parent_ids`` order.
    Parents missing from the table (e.g. from a seed file) are skipped.

    Parameters
    ----------
    table : pyarrow.Table
        Lineage rows with at least ``id, generation, operator, expression, objectives,
        parent_ids``.
    id : str
        The individual's id, or a unique prefix of it.
    max_depth : int
        Deepest ancestor level listed (1 = parents only).

    Returns
    -------
    list of dict
        ``{"depth", "id", "generation", "operator", "expression", "objectives",
        "parent_ids"}``, depth 0 first.

    Raises
    ------
    LineageLookupError
        (a ``ValueError``) when the id is unknown or an ambiguous prefix.
    """
    columns = {name: table.column(name).to_pylist() for name in _ANCESTRY_COLUMNS}
    first: dict[str, int] = {}
    for row, row_id in enumerate(columns["id"]):
        first.setdefault(row_id, row)
    start = _resolve_id(columns["id"], id)
    result: list[dict[str, object]] = []
    seen = {start}
    frontier = [start]
    for depth in range(max_depth + 1):
        next_frontier = []
        for current in frontier:
            row = first[current]
            entry: dict[str, object] = {"depth": depth}
            entry.update({name: columns[name][row] for name in _ANCESTRY_COLUMNS})
            result.append(entry)
            for parent in columns["parent_ids"][row]:
                if parent in first and parent not in seen:
                    seen.add(parent)
                    next_frontier.append(parent)
        frontier = next_frontier
    return result


def trial_matrix(table: pa.Table) -> tuple[list[str], np.ndarray]:
    """Return the trial record for the effective number of trials (issue 6).

    Takes the ``is_new_trial`` rows (every distinct individual once, first occurrence) that
    have a validation stream, most common stream length only.

    Returns
    -------
    ids : list of str
        Trial ids, in lineage order (the column order).
    returns : ndarray of float32, shape (n_days, n_trials)
        Daily combined validation returns, ready for ``fitness.stats.trials.effective_trials``.
    """
    new = table.filter(table.column("is_new_trial"))
    streams = new.column("validation_returns").combine_chunks()
    lengths = pc.list_value_length(streams).fill_null(0).to_numpy(zero_copy_only=False)
    nonempty = lengths[lengths > 0]
    if nonempty.size == 0:
        return [], np.empty((0, 0), dtype=np.float32)
    values, counts = np.unique(nonempty, return_counts=True)
    length = int(values[np.argmax(counts)])
    keep = np.flatnonzero(lengths == length)
    rows = pa.array(keep)
    ids = new.column("id").take(rows).to_pylist()
    flat = streams.take(rows).flatten().to_numpy(zero_copy_only=False)
    return ids, np.ascontiguousarray(flat.astype(np.float32).reshape(len(keep), length).T)
