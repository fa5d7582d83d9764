"""evaluate: segment rows against the full simulator, objectives, feasibility, holdout, caches.

Also the semantic cache and target fingerprints, the perturbation probe and the serial batch
evaluator (the modules ``evaluate`` is split into).
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import fitness
import primitives
from fitness import (
    BarSeries,
    CostModel,
    FitnessConfig,
    FoldConfig,
    Market,
    ObjectiveConfig,
    SemanticCache,
    SerialEvaluator,
    evaluate,
    make_evaluator,
    perturbation_probe,
)
from fitness.evaluation.probe import stability_of
from fitness.evaluation.semantic import TargetFingerprint
from tests.stubs import make_bar_columns, make_bars

FOLDS = FoldConfig(n_discovery_folds=3, min_segment_bars=50)
CONFIG = FitnessConfig(folds=FOLDS, costs=CostModel(latency_bars=1))
EMA_CROSS = "pos_from(gt(ema(close, 5), ema(close, 20)), lt(ema(close, 5), ema(close, 20)))"
# identical targets, different text: and_(x, x) == x
EMA_CROSS_TWIN = (
    "pos_from(and_(gt(ema(close, 5), ema(close, 20)), gt(ema(close, 5), ema(close, 20))), "
    "lt(ema(close, 5), ema(close, 20)))"
)
NEVER = "long_only(gt(close, close))"


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.build(
        [make_bars(3000, 11, symbol="BTCUSDT"), make_bars(3000, 12, symbol="ETHUSDT")], FOLDS
    )


def _reference_rows(text: str, market: Market, config: FitnessConfig) -> dict:
    """Metrics of every (segment, symbol) by the full simulator on sliced arrays."""
    strategy = primitives.compile(text)
    rows = {}
    for index, series in enumerate(market.series):
        target = np.asarray(strategy.positions(series))  # whole series, no memo, no prefix
        for segment in market.segments(index):
            window = slice(segment.start, segment.stop)
            result = fitness.simulate(
                series.open[window],
                series.close[window],
                series.funding_rate[window],
                target[window],
                config.costs,
                config.initial_equity,
            )
            rows[segment.name, series.symbol] = (fitness.metrics(result, "1h"), result)
    return rows


def test_evaluate_when_strategy_trades_then_rows_match_full_simulation_of_slices(
    market: Market,
) -> None:
    reference = _reference_rows(EMA_CROSS, market, CONFIG)

    evaluation = evaluate(EMA_CROSS, market, CONFIG)

    names = [(row.segment, row.symbol) for row in evaluation.table]
    assert names == [
        (name, symbol)
        for name in ("discovery-1", "discovery-2", "discovery-3", "validation")
        for symbol in ("BTCUSDT", "ETHUSDT")
    ]
    for row in evaluation.table:
        expected, result = reference[row.segment, row.symbol]
        assert row.metrics["n_bars"] == result.n_bars
        for name in ("sharpe", "max_drawdown", "total_return", "n_trades", "exposure", "sortino"):
            assert row.metrics[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


def test_evaluate_when_feasible_then_objectives_are_hand_reductions_of_the_rows(
    market: Market,
) -> None:
    reference = _reference_rows(EMA_CROSS, market, CONFIG)
    sharpes = [
        m["sharpe"] for (name, _), (m, _) in reference.items() if name.startswith("discovery")
    ]
    drawdowns = [
        m["max_drawdown"] for (name, _), (m, _) in reference.items() if name.startswith("discovery")
    ]
    n_nodes = len(primitives.parse(EMA_CROSS))

    evaluation = evaluate(EMA_CROSS, market, CONFIG)

    mean, std = sum(sharpes) / len(sharpes), float(np.std(sharpes))
    assert evaluation.feasible and evaluation.infeasible_reason == ""
    assert evaluation.objectives == pytest.approx(
        (mean - std - 0.002 * n_nodes, max(drawdowns), n_nodes), rel=1e-9
    )
    assert evaluation.robust_score == evaluation.objectives[0]
    assert evaluation.n_nodes == n_nodes == 15
    assert evaluation.train["sharpe"] == pytest.approx(mean, rel=1e-9)
    assert evaluation.train["n_trades"] == sum(
        m["n_trades"] for (name, _), (m, _) in reference.items() if name.startswith("discovery")
    )
    assert evaluation.id == primitives.strategy_id(EMA_CROSS) and evaluation.text == EMA_CROSS


def test_evaluate_when_validation_then_daily_returns_match_equity_curve_buckets(
    market: Market,
) -> None:
    reference = _reference_rows(EMA_CROSS, market, CONFIG)
    per_symbol = []
    for symbol in market.symbols:
        equity = reference["validation", symbol][1].equity
        ends = np.minimum(np.arange(24, equity.size + 24, 24), equity.size) - 1
        starts = np.concatenate(([CONFIG.initial_equity], equity[ends[:-1]]))
        per_symbol.append(equity[ends] / starts - 1.0)
    expected = np.mean(per_symbol, axis=0)

    evaluation = evaluate(EMA_CROSS, market, CONFIG)

    returns = evaluation.validation_returns
    assert returns.dtype == np.float32 and not returns.flags.writeable
    assert returns.shape == (math.ceil(market.segments(0, "validation")[0].n_bars / 24),)
    np.testing.assert_allclose(returns, expected, rtol=1e-6, atol=1e-9)
    as64 = returns.astype(np.float64)
    assert evaluation.validation["daily_sharpe"] == pytest.approx(
        as64.mean() / as64.std(ddof=1), rel=1e-12
    )
    assert evaluation.validation["sharpe"] == pytest.approx(
        np.mean([reference["validation", s][0]["sharpe"] for s in market.symbols]), rel=1e-9
    )
    assert evaluation.holdout is None and evaluation.holdout_returns is None


def test_evaluate_when_too_few_trades_then_infeasible_with_sentinels_and_reason(
    market: Market,
) -> None:
    evaluation = evaluate(NEVER, market, CONFIG)

    assert not evaluation.feasible
    assert evaluation.objectives == (-1e9, 1e9, 1e9)
    assert evaluation.robust_score == -1e9
    assert evaluation.infeasible_reason.startswith(
        "discovery-1 × BTCUSDT: 0 trades, below min_trades_per_fold = 5 (6 of 6"
    )


def test_evaluate_when_min_trades_zero_then_flat_strategy_feasible_with_zero_sharpe(
    market: Market,
) -> None:
    config = CONFIG.model_copy(update={"objectives": ObjectiveConfig(min_trades_per_fold=0)})

    evaluation = evaluate(NEVER, market, config)

    assert evaluation.feasible
    assert evaluation.objectives == pytest.approx((-0.002 * 4, 0.0, 4.0))


def test_evaluate_when_holdout_included_then_extra_rows_and_evolution_rows_unchanged(
    market: Market,
) -> None:
    without = evaluate(EMA_CROSS, market, CONFIG)
    reference = _reference_rows(EMA_CROSS, market, CONFIG)

    with_holdout = evaluate(EMA_CROSS, market, CONFIG, include_holdout=True)

    n_rows = len(without.table)
    assert with_holdout.table[:n_rows] == without.table
    assert [row.segment for row in with_holdout.table[n_rows:]] == ["holdout", "holdout"]
    assert with_holdout.objectives == without.objectives
    assert with_holdout.semantic_hash == without.semantic_hash
    assert np.array_equal(with_holdout.validation_returns, without.validation_returns)
    assert with_holdout.holdout is not None and with_holdout.holdout_returns is not None
    assert with_holdout.holdout["sharpe"] == pytest.approx(
        np.mean([reference["holdout", s][0]["sharpe"] for s in market.symbols]), rel=1e-9
    )
    assert with_holdout.holdout_returns.shape == (math.ceil(600 / 24),)


def test_evaluate_when_same_inputs_then_equal_and_pickles_to_equal(market: Market) -> None:
    first = evaluate(EMA_CROSS, market, CONFIG)
    second = evaluate(primitives.parse(EMA_CROSS), market, CONFIG, memo=primitives.Memo())

    assert first == second
    assert pickle.loads(pickle.dumps(first)) == first
    assert first != evaluate(NEVER, market, CONFIG)


def test_evaluate_when_semantic_twin_then_same_hash_and_cache_hits_equal_misses(
    market: Market,
) -> None:
    cache = SemanticCache()
    original = evaluate(EMA_CROSS, market, CONFIG, cache=cache)
    misses = cache.misses

    twin = evaluate(EMA_CROSS_TWIN, market, CONFIG, cache=cache)

    assert cache.misses == misses and cache.hits == misses  # every segment served by the cache
    assert twin.semantic_hash == original.semantic_hash
    assert twin.table == original.table
    assert np.array_equal(twin.validation_returns, original.validation_returns)
    assert twin.objectives[1] == original.objectives[1]  # same drawdown; complexity differs
    assert twin == evaluate(EMA_CROSS_TWIN, market, CONFIG)  # hit == miss, field for field
    assert original.semantic_hash != evaluate(NEVER, market, CONFIG).semantic_hash


def test_semantic_cache_when_costs_change_then_cleared_and_results_follow_costs(
    market: Market,
) -> None:
    cache = SemanticCache()
    evaluate(EMA_CROSS, market, CONFIG, cache=cache)
    costly = CONFIG.model_copy(update={"costs": CostModel(taker_fee=0.002, latency_bars=1)})

    evaluation = evaluate(EMA_CROSS, market, costly, cache=cache)

    assert evaluation == evaluate(EMA_CROSS, market, costly)
    assert (
        evaluation.table[0].metrics["sharpe"]
        < evaluate(EMA_CROSS, market, CONFIG).table[0].metrics["sharpe"]
    )


def test_semantic_cache_when_full_then_least_recently_used_dropped() -> None:
    cache = SemanticCache(max_entries=2)
    results = [fitness.SegmentResult(None, 1.0, 0.0, None) for _ in range(3)]  # type: ignore[arg-type]
    cache.put("a", results[0])
    cache.put("b", results[1])
    assert cache.get("a") is results[0]  # "a" is now the most recent

    cache.put("c", results[2])

    assert cache.get("b") is None and cache.get("a") is results[0] and len(cache) == 2
    assert (cache.hits, cache.misses) == (2, 1)
    assert cache.hit_rate == pytest.approx(2 / 3)
    assert cache.bytes == 2 * SemanticCache.ENTRY_BYTES
    with pytest.raises(ValueError, match="max_entries"):
        SemanticCache(-1)


def test_semantic_cache_when_over_byte_budget_then_oldest_dropped_and_bytes_tracked() -> None:
    def result(n_days: int) -> fitness.SegmentResult:
        return fitness.SegmentResult(None, 1.0, 0.0, np.zeros(n_days))  # type: ignore[arg-type]

    cache = SemanticCache(max_bytes=3 * SemanticCache.ENTRY_BYTES + 700 * 8)
    cache.put("small", result(100))
    cache.put("large", result(600))

    cache.put("third", result(100))  # over budget: "small", the least recently used, goes

    assert cache.get("small") is None and len(cache) == 2
    assert cache.bytes == 2 * SemanticCache.ENTRY_BYTES + 700 * 8
    cache.put("huge", result(10_000))  # larger than the whole budget: not stored
    assert cache.get("huge") is None and not cache.get("large").bucket_returns.flags.writeable


def test_target_fingerprint_when_nan_zero_or_negative_zero_then_same_digest() -> None:
    flat_nan = np.array([np.nan, np.nan, 0.5, 0.5, -0.0, 1.0])
    flat_zero = np.array([0.0, -0.0, 0.5, 0.5, 0.0, 1.0])
    different = np.array([0.0, 0.0, 0.5, 0.25, 0.0, 1.0])

    a, b, c = (TargetFingerprint(t, "test") for t in (flat_nan, flat_zero, different))

    assert a.digest(0, 6) == b.digest(0, 6) and a.digest(1, 5) == b.digest(1, 5)
    assert a.digest(0, 6) != c.digest(0, 6)
    assert a.digest(0, 3) == c.digest(0, 3)  # the slices agree on bars 0..2
    assert a.digest(0, 3) != a.digest(0, 4)  # a longer slice is another key
    assert list(a.starts) == [0, 2, 4, 5] and list(a.values) == [0.0, 0.5, 0.0, 1.0]


def test_target_fingerprint_when_dense_or_run_encoded_then_digest_follows_values() -> None:
    rng = np.random.default_rng(0)
    dense = rng.uniform(-1.0, 1.0, 200)  # changes every bar: hashed as raw bytes
    shifted = dense.copy()
    shifted[150] = np.nextafter(shifted[150], 2.0)
    runs = np.repeat(rng.uniform(-1, 1, 10), 20)  # 10 runs of 20 bars: run-length form

    assert TargetFingerprint(dense, "t").digest(0, 200) != TargetFingerprint(shifted, "t").digest(
        0, 200
    )
    assert TargetFingerprint(dense, "t").digest(0, 150) == TargetFingerprint(shifted, "t").digest(
        0, 150
    )
    fingerprint = TargetFingerprint(runs, "t")
    other = runs.copy()
    other[:10], other[70:] = 0.0, -0.5  # differs outside the window [10, 70) only
    assert fingerprint.digest(10, 70) == TargetFingerprint(other, "t").digest(10, 70)
    assert fingerprint.digest(10, 70) != fingerprint.digest(30, 90)
    assert fingerprint.digests([(0, 20), (20, 200)]) == [
        fingerprint.digest(0, 20),
        fingerprint.digest(20, 200),
    ]


def test_target_fingerprint_when_value_out_of_range_then_runtime_error_names_bar() -> None:
    with pytest.raises(RuntimeError, match=r"strategy X: target\[2\] = 1.5 is outside"):
        TargetFingerprint(np.array([0.0, np.nan, 1.5, 0.0]), "strategy X")


def test_evaluate_when_text_is_not_a_strategy_then_expression_error(market: Market) -> None:
    with pytest.raises(primitives.ExpressionError):
        evaluate("sma(close, 5)", market, CONFIG)
    with pytest.raises(primitives.ExpressionError):
        evaluate("pos_from(", market, CONFIG)


def test_evaluate_when_gap_split_then_pieces_chained_into_one_account() -> None:
    columns = make_bar_columns(2100, 5)
    keep = np.ones(2100, dtype=bool)
    keep[200:300] = False  # discovery-1 is cut in two pieces
    series = BarSeries.from_arrays(
        **{name: values[keep] for name, values in columns.items()},
        symbol="GAPUSDT",
        timeframe="1h",
        gaps="split",
    )
    market = Market.build([series], FOLDS)
    first, second = market.named_segments(0)[0].pieces
    target = np.asarray(primitives.compile(EMA_CROSS).positions(series))
    pieces = [
        fitness.simulate(
            series.open[p.start : p.stop],
            series.close[p.start : p.stop],
            series.funding_rate[p.start : p.stop],
            target[p.start : p.stop],
            CONFIG.costs,
        )
        for p in (first, second)
    ]
    config = CONFIG.model_copy(update={"objectives": ObjectiveConfig(min_trades_per_fold=0)})

    row = evaluate(EMA_CROSS, market, config).table[0].metrics

    growth = pieces[0].equity[-1] * pieces[1].equity[-1]
    assert row["total_return"] == pytest.approx(growth - 1.0, rel=1e-9)
    assert row["n_trades"] == pieces[0].trades + pieces[1].trades
    assert row["n_bars"] == first.n_bars + second.n_bars
    returns = np.concatenate([p.returns for p in pieces])
    sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(8760)
    assert row["sharpe"] == pytest.approx(sharpe, rel=1e-9)


def test_jitter_constants_when_min_scale_then_every_constant_moves_between_bounds() -> None:
    tree = primitives.parse("long_only(and_(gt(close, sma(close, 200)), lt(rsi(close, 50), 40.0)))")
    rng = np.random.default_rng(3)

    for _ in range(30):
        copy = primitives.jitter_constants(tree, rng, 0.2, min_scale=0.1)
        values = [node.value for node in copy if isinstance(node, primitives.Constant)]
        for value, original in zip(values, (200, 50, 40.0), strict=True):
            ratio = value / original
            assert 0.8 - 0.02 <= ratio <= 0.9 + 0.02 or 1.1 - 0.02 <= ratio <= 1.2 + 0.02
    with pytest.raises(ValueError, match="min_scale"):
        primitives.jitter_constants(tree, rng, 0.1, min_scale=0.2)


def test_perturbation_probe_when_run_then_scores_of_copies_and_median_ratio(
    market: Market,
) -> None:
    probe = perturbation_probe(EMA_CROSS, market, CONFIG, np.random.default_rng(7), n_copies=5)
    again = perturbation_probe(EMA_CROSS, market, CONFIG, np.random.default_rng(7), n_copies=5)

    own = evaluate(EMA_CROSS, market, CONFIG).robust_score
    expected = tuple(evaluate(text, market, CONFIG).robust_score for text in probe.texts)
    assert probe == again
    assert len(probe.texts) == 5 and probe.own_score == own
    assert probe.scores == expected
    assert all(text != EMA_CROSS for text in probe.texts)
    if own > 0:
        kept = [score if score > -1e9 else 0.0 for score in expected]
        assert probe.stability == pytest.approx(max(float(np.median(kept)) / own, -1.0))
    else:
        assert probe.stability == 0.0


@pytest.mark.parametrize(
    ("own", "scores", "expected"),
    [
        (2.0, [1.0, 2.0, 3.0], 1.0),  # median 2 / 2
        (2.0, [1.0, -1e9, 3.0, -1e9], 0.25),  # infeasible copies count 0: median(0, 0, 1, 3) = 0.5
        (0.5, [-3.0, -2.0, -1.0], -1.0),  # -4 floored at -1
        (-0.2, [1.0, 2.0], 0.0),  # a losing strategy has no stability to speak of
        (-1e9, [1.0], 0.0),  # nor an infeasible one
    ],
)
def test_stability_of_when_hand_computed_then_equal(
    own: float, scores: list[float], expected: float
) -> None:
    assert stability_of(own, scores) == pytest.approx(expected)


def test_perturbation_probe_when_evaluate_many_given_then_used_and_no_constants_stable(
    market: Market,
) -> None:
    seen: list[list[str]] = []
    evaluator = SerialEvaluator(
        market, CONFIG.model_copy(update={"objectives": ObjectiveConfig(min_trades_per_fold=0)})
    )

    def evaluate_many(texts: list[str]) -> list[fitness.Evaluation]:
        seen.append(list(texts))
        return evaluator.evaluate(texts)

    text = "pos_from(gt(close, typical), lt(close, typical))"  # no constant to jitter
    probe = perturbation_probe(
        text, market, CONFIG, np.random.default_rng(0), n_copies=3, evaluate_many=evaluate_many
    )

    assert seen == [[text, text, text, text]]
    assert probe.texts == (text, text, text)
    assert probe.stability == (1.0 if probe.own_score > 0 else 0.0)
    with pytest.raises(ValueError, match="n_copies"):
        perturbation_probe(text, market, CONFIG, np.random.default_rng(0), n_copies=0)


def test_serial_evaluator_when_duplicates_then_evaluated_once_in_order_with_stats(
    market: Market,
) -> None:
    texts = [EMA_CROSS, NEVER, EMA_CROSS, EMA_CROSS_TWIN]

    with make_evaluator(market, CONFIG, workers=1) as evaluator:
        evaluations = evaluator.evaluate(texts)
        stats = evaluator.stats()

    assert isinstance(evaluator, SerialEvaluator)
    assert [e.text for e in evaluations] == texts
    assert evaluations[0] is evaluations[2]
    assert evaluations[0] == evaluate(EMA_CROSS, market, CONFIG)
    assert stats.n_evaluations == 3 and stats.n_workers == 1 and stats.worker_failures == 0
    assert stats.semantic_hits == 8  # the twin's 4 segments × 2 symbols
    assert stats.semantic_misses == 16 and stats.semantic_hit_rate == pytest.approx(1 / 3)
    assert stats.memo_hits + stats.memo_misses > 0 and stats.seconds > 0
    assert 0 < stats.worker_seconds <= stats.seconds and 0 < stats.utilisation <= 1
    assert stats.worker_cpu_seconds > 0


def test_serial_evaluator_when_bad_text_then_expression_error_propagates(market: Market) -> None:
    evaluator = SerialEvaluator(market, CONFIG)

    with pytest.raises(primitives.ExpressionError):
        evaluator.evaluate([EMA_CROSS, "long_only(nope)"])


def test_evaluate_when_gap_inside_validation_then_daily_record_on_calendar_days() -> None:
    columns = make_bar_columns(2100, 6)
    keep = np.ones(2100, dtype=bool)
    keep[1500:1548] = False  # two whole days missing inside validation (calendar bars 1436..)
    series = BarSeries.from_arrays(
        **{name: values[keep] for name, values in columns.items()},
        symbol="GAPUSDT",
        timeframe="1h",
        gaps="split",
    )
    market = Market.build([series], FOLDS)
    validation = market.named_segments(0)[3]
    config = CONFIG.model_copy(update={"objectives": ObjectiveConfig(min_trades_per_fold=0)})

    evaluation = evaluate(EMA_CROSS, market, config)

    record = evaluation.validation_returns.astype(np.float64)
    assert validation.kind == "validation" and len(validation.pieces) == 2
    assert record.shape == (market.n_days(validation),)
    with_bars = {
        market.day_index(0, validation, bar)
        for piece in validation.pieces
        for bar in range(piece.start, piece.stop)
    }
    gap_days = set(range(record.size)) - with_bars
    assert gap_days  # the two missing days leave at least one day without a bar
    assert all(record[day] == 0.0 for day in gap_days)
    total = evaluation.table[-1].metrics["total_return"]
    assert np.prod(1.0 + record) - 1.0 == pytest.approx(total, rel=1e-5, abs=1e-7)


def _naive_runs(target: np.ndarray) -> tuple[list[int], list[float]]:
    starts: list[int] = []
    values: list[float] = []
    for t, raw in enumerate(target.tolist()):
        value = 0.0 if math.isnan(raw) else raw + 0.0
        if not values or value != values[-1]:
            starts.append(t)
            values.append(value)
    return starts, values


@pytest.mark.parametrize("seed", range(5))
def test_target_runs_when_random_piecewise_target_then_equal_naive_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    levels = np.array([np.nan, -0.0, 0.0, 0.5, -1.0, 1.0, 0.25])
    target = np.repeat(levels[rng.integers(0, levels.size, 300)], rng.integers(1, 6, 300))

    fingerprint = TargetFingerprint(target, "t")

    starts, values = _naive_runs(target)
    assert fingerprint.starts.tolist() == starts
    assert fingerprint.values.tolist() == values
    assert all(math.copysign(1.0, v) == 1.0 for v in values if v == 0.0)  # no -0.0 left
