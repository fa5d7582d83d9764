"""The Ray evaluator's chunk dispatch order (pure; the Ray paths are integration tests)."""

from __future__ import annotations

from fitness.evaluation.batch import fill_order


def test_fill_order_when_fewer_chunks_than_slots_then_every_worker_gets_one_first() -> None:
    # two chunks on two idle workers: one each (depth first gave both to worker 0)
    assert fill_order([0, 0], 2, depth=2) == [0, 1]


def test_fill_order_when_many_chunks_then_breadth_first_up_to_depth() -> None:
    assert fill_order([0, 0, 0], 10, depth=2) == [0, 1, 2, 0, 1, 2]


def test_fill_order_when_some_busy_then_least_loaded_first_and_full_ones_skipped() -> None:
    assert fill_order([2, 1, 0], 5, depth=2) == [2, 1, 2]


def test_fill_order_when_nothing_queued_then_empty() -> None:
    assert fill_order([0, 0], 0, depth=2) == []


def test_fill_order_when_no_workers_then_empty() -> None:
    assert fill_order([], 3, depth=2) == []
