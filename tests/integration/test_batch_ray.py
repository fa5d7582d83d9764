"""Ray evaluation on a real local Ray instance: identical to serial, survives a killed worker."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

import primitives
from fitness import (
    CostModel,
    FitnessConfig,
    FoldConfig,
    Market,
    RayEvaluator,
    SerialEvaluator,
    make_evaluator,
)
from tests.stubs import make_bars

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

CONFIG = FitnessConfig(
    folds=FoldConfig(n_discovery_folds=3, min_segment_bars=50), costs=CostModel(latency_bars=1)
)


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def market() -> Market:
    series = [make_bars(4000, 21, symbol="BTCUSDT"), make_bars(4000, 22, symbol="ETHUSDT")]
    return Market.build(series, CONFIG.folds)


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    limits = primitives.SizeLimits(max_depth=10, max_nodes=60)
    return [
        primitives.to_text(primitives.random_tree(rng, min_depth=2, max_depth=5, limits=limits))
        for _ in range(n)
    ]


def test_ray_evaluator_when_one_or_two_workers_then_identical_to_serial(
    ray_instance: None, market: Market
) -> None:
    texts = _random_texts(50, 0)
    texts += texts[:5]  # duplicates are evaluated once and returned in place
    serial = SerialEvaluator(market, CONFIG).evaluate(texts)

    with RayEvaluator(market, CONFIG, 1, chunk_size=16) as one:
        by_one = one.evaluate(texts)
    with make_evaluator(market, CONFIG, workers=2) as two:
        assert isinstance(two, RayEvaluator)
        by_two = two.evaluate(texts)
        holdout = two.evaluate(texts[:6], include_holdout=True)
        stats = two.stats()
        with pytest.raises(primitives.ExpressionError):
            two.evaluate([texts[0], "long_only(no_such_primitive)"])

    with pytest.raises(ValueError, match="3 workers need 3 CPUs but the Ray cluster"):
        RayEvaluator(market, CONFIG, 3)
    assert ray.is_initialized()  # joined the running instance: not shut down on close
    assert [e.text for e in serial] == texts
    for a, b, c in zip(serial, by_one, by_two, strict=True):
        assert a == b == c  # every field, arrays bit for bit
    assert all(e.holdout is not None for e in holdout)
    assert [e.table[: len(serial[0].table)] for e in holdout] == [e.table for e in serial[:6]]
    assert stats.n_evaluations == 56 and stats.n_workers == 2 and stats.worker_failures == 0
    assert stats.semantic_hits + stats.semantic_misses > 0
    assert stats.memo_hits + stats.memo_misses > 0
    assert stats.worker_seconds > 0 and 0 < stats.utilisation <= 1


def test_ray_evaluator_when_worker_killed_mid_batch_then_chunk_retried_and_results_identical(
    ray_instance: None, market: Market
) -> None:
    texts = _random_texts(96, 1)
    expected = SerialEvaluator(market, CONFIG).evaluate(texts)
    failures: list[str] = []
    evaluator = RayEvaluator(market, CONFIG, 2, chunk_size=4, on_worker_failure=failures.append)
    victim = evaluator.worker_pids()[0]

    def kill_after_first_chunk() -> None:
        deadline = time.monotonic() + 60
        while evaluator.stats().memo_hits + evaluator.stats().memo_misses == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_after_first_chunk)
    killer.start()
    try:
        results = evaluator.evaluate(texts)
        killer.join()
        stats = evaluator.stats()
        pids_after = evaluator.worker_pids()
        again = evaluator.evaluate(texts[:8])
    finally:
        evaluator.close()

    assert stats.worker_failures >= 1 and len(failures) == stats.worker_failures
    assert f"pid {victim}" in failures[0] and "retried" in failures[0]
    assert victim not in pids_after and len(pids_after) == 2
    assert len(results) == len(expected)
    for got, want in zip(results, expected, strict=True):
        assert got == want
    assert again == expected[:8]
