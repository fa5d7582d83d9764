"""Memory: the size estimate of an Evaluation against a recursive count of its objects, the
semantic-cache budget reaching the worker, and the peak RSS the evaluators report."""

from __future__ import annotations

import gc
import sys
from typing import Any

import numpy as np
import pytest

import primitives
from fitness import (
    CostModel,
    FitnessConfig,
    FoldConfig,
    Market,
    SerialEvaluator,
    evaluation_bytes,
)
from fitness.evaluation import evaluator as evaluator_module
from tests.stubs import make_bars

CONFIG = FitnessConfig(
    folds=FoldConfig(n_discovery_folds=3, min_segment_bars=50), costs=CostModel(latency_bars=1)
)
TEXTS = [
    "pos_from(gt(ema(close, 5), ema(close, 20)), lt(ema(close, 5), ema(close, 20)))",
    "long_only(gt(close, sma(close, 30)))",
    "long_only(gt(close, close))",
]


def _deep_bytes(value: object, seen: set[int]) -> int:
    """sys.getsizeof over the object graph, each object once (arrays: header + own data)."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, np.ndarray):
        return size
    if isinstance(value, dict):
        size += sum(_deep_bytes(k, seen) + _deep_bytes(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(_deep_bytes(item, seen) for item in value)
    elif hasattr(value, "__slots__"):
        size += sum(_deep_bytes(getattr(value, name), seen) for name in value.__slots__)
    return size


def test_evaluation_bytes_when_compared_with_object_graph_then_within_a_factor_of_1_6() -> None:
    market = Market.build(
        [make_bars(6000, 11, symbol="BTCUSDT"), make_bars(6000, 12, symbol="ETHUSDT")],
        CONFIG.folds,
    )
    evaluator = SerialEvaluator(market, CONFIG)
    plain = evaluator.evaluate(TEXTS)
    with_holdout = evaluator.evaluate(TEXTS[:1], include_holdout=True)

    for evaluation in plain + with_holdout:
        shared: set[int] = set()
        _deep_bytes(("robust_score", "sharpe", "n_trades"), shared)  # interned keys: not owned
        deep = _deep_bytes(evaluation, shared)
        assert deep / 1.6 <= evaluation_bytes(evaluation) <= deep * 1.6, (evaluation.text, deep)
    assert evaluation_bytes(with_holdout[0]) > evaluation_bytes(plain[0])  # holdout rows, returns


def test_serial_evaluator_when_budgets_given_then_caches_use_them_and_peak_rss_reported() -> None:
    market = Market.build([make_bars(2000, 11, symbol="BTCUSDT")], CONFIG.folds)
    evaluator = SerialEvaluator(market, CONFIG, memo_bytes=2**20, semantic_bytes=3 * 2**20)

    evaluator.evaluate(TEXTS)

    assert evaluator._worker.memo.max_bytes == 2**20
    assert evaluator._worker.cache.max_bytes == 3 * 2**20
    assert evaluator.stats().worker_peak_rss_bytes > 10 * 2**20  # a Python process with numpy


def test_serial_evaluator_when_chunk_evaluated_then_rare_gc_inside_and_caller_thresholds_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = Market.build([make_bars(2000, 11, symbol="BTCUSDT")], CONFIG.folds)
    evaluator = SerialEvaluator(market, CONFIG)
    inside: list[tuple[int, int, int]] = []
    original = evaluator_module.evaluate

    def spy(*args: Any, **kwargs: Any) -> Any:
        inside.append(gc.get_threshold())
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluator_module, "evaluate", spy)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        evaluator.evaluate(TEXTS)
        after = gc.get_threshold()
        with pytest.raises(primitives.ExpressionError):
            evaluator.evaluate(["long_only(nonsense)"])
        after_error = gc.get_threshold()
    finally:
        gc.set_threshold(*before)

    assert inside == [evaluator_module.DEDICATED_GC_THRESHOLDS] * (len(TEXTS) + 1)
    assert after == after_error == (700, 10, 10)
