"""Lineage: part files, truncation, ordered reads, relatives on a hand-built tree, ancestry."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from populations import (
    LINEAGE_SCHEMA,
    CheckpointError,
    LineageIndex,
    LineageLookupError,
    LineageStore,
    RunDir,
    ancestry,
    trial_matrix,
)
from tests.unit.populations.helpers import make_row

# gen 0: A B C D (init) | gen 1: E=A×B, F=A×B, G=mut(C), H=B×D | gen 2: I=E×G, J=mut(E), K=F×H
FAMILY = {
    0: [("A", ()), ("B", ()), ("C", ()), ("D", ())],
    1: [("E", ("A", "B")), ("F", ("A", "B")), ("G", ("C",)), ("H", ("B", "D"))],
    2: [("I", ("E", "G")), ("J", ("E",)), ("K", ("F", "H"))],
}
SCORES = {name: 0.1 * (index + 1) for index, name in enumerate("ABCDEFGHIJK")}


def family_rows(generation):
    return [
        make_row(
            name,
            generation,
            parents,
            operator="init" if generation == 0 else "crossover",
            score=SCORES[name],
        )
        for name, parents in FAMILY[generation]
    ]


@pytest.fixture
def store(tmp_path):
    store = LineageStore(RunDir.create(tmp_path, "run"))
    for generation in FAMILY:
        store.append_generation(generation, family_rows(generation))
    return store


def family_index() -> LineageIndex:
    index = LineageIndex()
    for generation, members in FAMILY.items():
        for name, parents in members:
            index.add(name, parents, generation, SCORES[name])
    return index


def test_lineage_store_when_generations_appended_then_one_part_per_generation(store):
    names = sorted(path.name for path in store.path.iterdir())

    assert names == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    assert store.generations() == [0, 1, 2]


def test_lineage_store_read_when_parts_present_then_concatenated_in_generation_order(store):
    table = store.read()

    assert table.schema.equals(LINEAGE_SCHEMA)
    assert table.column("id").to_pylist() == list("ABCDEFGHIJK")
    assert table.column("generation").to_pylist() == [0] * 4 + [1] * 4 + [2] * 3
    row = table.slice(4, 1).to_pylist()[0]
    assert row["parent_ids"] == ["A", "B"] and row["operator"] == "crossover"
    assert row["objectives"] == [SCORES["E"], 0.1, 7.0]
    assert row["validation_returns"] == [np.float32(0.01), np.float32(-0.02), np.float32(0.005)]
    assert store.read(["id", "n_nodes"]).column_names == ["id", "n_nodes"]


def test_lineage_directory_when_read_by_pyarrow_or_pandas_then_all_rows(store):
    store.path.joinpath(".part-000003.parquet.1.abcd.tmp").write_bytes(b"torn")

    by_arrow = pq.read_table(store.path)
    pd = pytest.importorskip("pandas")  # not a dependency; users who have it get this guarantee
    by_pandas = pd.read_parquet(store.path)

    assert sorted(by_arrow.column("id").to_pylist()) == list("ABCDEFGHIJK")
    assert len(by_pandas) == 11 and "validation_returns" in by_pandas.columns


def test_lineage_store_when_empty_then_empty_table_with_schema(tmp_path):
    store = LineageStore(RunDir.create(tmp_path, "run"))

    assert store.read().num_rows == 0 and store.read().schema.equals(LINEAGE_SCHEMA)
    assert store.read(["id"]).column_names == ["id"]
    store.truncate_after(3)  # no directory yet: nothing to do


def test_lineage_store_truncate_after_when_resuming_then_later_parts_and_temps_removed(store):
    store.path.joinpath(".part-000002.parquet.1.abcd.tmp").write_bytes(b"torn")

    store.truncate_after(0)

    assert sorted(path.name for path in store.path.iterdir()) == ["part-000000.parquet"]
    store.append_generation(1, family_rows(1))
    assert store.read(["id"]).column("id").to_pylist() == list("ABCDEFGH")


def test_lineage_store_when_appending_behind_later_parts_then_refused(store):
    with pytest.raises(CheckpointError, match=r"truncate_after\(0\)"):
        store.append_generation(1, family_rows(1))


def test_lineage_store_when_generation_rewritten_then_replaced(store):
    store.append_generation(2, family_rows(2)[:1])

    assert store.read(["id"]).column("id").to_pylist() == list("ABCDEFGHI")


def test_lineage_store_when_rows_inconsistent_then_value_error_names_row(store):
    with pytest.raises(ValueError, match=r"row 0 of generation 3 \(id 'X'\): generation"):
        store.append_generation(3, [make_row("X", 2)])
    with pytest.raises(ValueError, match="operator expected one of"):
        store.append_generation(3, [make_row("X", 3, operator="teleport")])
    assert store.generations() == [0, 1, 2]


def test_lineage_row_when_returns_empty_or_generation_empty_then_stored(tmp_path):
    store = LineageStore(RunDir.create(tmp_path, "run"))

    store.append_generation(0, [make_row("A", 0, returns=()), make_row("B", 0)])
    store.append_generation(1, [])

    assert store.read().column("validation_returns").to_pylist()[0] == []
    assert store.read().num_rows == 2


def test_lineage_index_relatives_when_family_tree_then_parents_grandparents_siblings():
    index = family_index()

    relatives = index.relatives("I", ("E", "G"), 2)

    assert relatives == [
        ("E", SCORES["E"]),
        ("G", SCORES["G"]),
        ("A", SCORES["A"]),
        ("B", SCORES["B"]),
        ("C", SCORES["C"]),
        ("J", SCORES["J"]),
    ]
    # K: parents F, H; grandparents A, B (F) and B, D (H) deduplicated; no siblings
    assert [name for name, _ in index.relatives("K", ("F", "H"), 2)] == ["F", "H", "A", "B", "D"]
    # E (gen 1): parents A, B; no grandparents; sibling F (shares A and B), H (shares B)
    assert [name for name, _ in index.relatives("E", ("A", "B"), 1)] == ["A", "B", "F", "H"]


def test_lineage_index_when_self_parent_or_unknown_parent_then_excluded():
    index = family_index()
    index.add("J", ("J",), 3, 99.0)  # reproduction: J re-created from itself

    assert [name for name, _ in index.relatives("J", ("J", "nobody"), 3)] == ["E"]
    assert index.score("J") == SCORES["J"]  # the first score is kept
    assert index.relatives("A", (), 0) == []


def test_lineage_index_when_rebuilt_from_table_then_same_relatives(store):
    rebuilt = LineageIndex.from_table(store.read(), with_expressions=True)
    index = family_index()

    for generation, members in FAMILY.items():
        for name, parents in members:
            assert rebuilt.relatives(name, parents, generation) == index.relatives(
                name, parents, generation
            )
    assert rebuilt.expression("E") == "expr_E" and len(rebuilt) == 11
    by_sharpe = LineageIndex.from_table(store.read(), score_column="validation_sharpe_daily")
    assert by_sharpe.score("A") == 0.03  # tests.stubs.make_evaluation's daily Sharpe


def test_ancestry_when_individual_known_then_breadth_first_with_depths(store):
    table = store.read()

    chain = ancestry(table, "I")

    assert [(item["depth"], item["id"]) for item in chain] == [
        (0, "I"),
        (1, "E"),
        (1, "G"),
        (2, "A"),
        (2, "B"),
        (2, "C"),
    ]
    assert chain[1]["expression"] == "expr_E" and chain[1]["generation"] == 1
    assert chain[1]["objectives"] == [SCORES["E"], 0.1, 7.0]
    assert [item["id"] for item in ancestry(table, "I", max_depth=1)] == ["I", "E", "G"]


def test_ancestry_when_unknown_or_prefix_then_lookup_error_or_match(tmp_path):
    store = LineageStore(RunDir.create(tmp_path, "run"))
    store.append_generation(0, [make_row("abc123", 0), make_row("abd456", 0)])
    table = store.read()

    assert ancestry(table, "abc")[0]["id"] == "abc123"
    with pytest.raises(LineageLookupError, match="ambiguous"):
        ancestry(table, "ab")
    with pytest.raises(LineageLookupError, match=r"'zzz' is not in the lineage \(2 individuals"):
        ancestry(table, "zzz")


def test_trial_matrix_when_new_trials_then_days_by_trials_float32(tmp_path):
    store = LineageStore(RunDir.create(tmp_path, "run"))
    store.append_generation(
        0,
        [
            make_row("a", 0, returns=(0.1, 0.2, 0.3)),
            make_row("b", 0, returns=(0.4, 0.5, 0.6)),
            make_row("c", 0, returns=()),  # no validation stream
        ],
    )
    store.append_generation(1, [make_row("a", 1, is_new_trial=False, returns=(9.0, 9.0, 9.0))])

    ids, returns = trial_matrix(store.read())

    assert ids == ["a", "b"]
    assert returns.dtype == np.float32 and returns.shape == (3, 2)
    assert returns[:, 1].tolist() == [np.float32(0.4), np.float32(0.5), np.float32(0.6)]
    empty_ids, empty = trial_matrix(pa.Table.from_pylist([], schema=LINEAGE_SCHEMA))
    assert empty_ids == [] and empty.shape == (0, 0)
