"""Holdout isolation: evolution's objectives never depend on a bar of the holdout or an embargo.

Wild changes to every price of the holdout (and the embargo before it) leave every discovery and
validation result bit-identical; the converse sanity check shows a discovery bar does matter.
A strategy of clock time only (its targets ignore prices) shows that no segment's P&L includes
an embargo bar.
"""

from __future__ import annotations

import numpy as np

import primitives
from fitness import BarSeries, CostModel, FitnessConfig, FoldConfig, Market, evaluate
from tests.stubs import make_bar_columns

CONFIG = FitnessConfig(
    folds=FoldConfig(n_discovery_folds=3, min_segment_bars=50),
    costs=CostModel(latency_bars=1, slippage_volatility_multiplier=0.5),
)
CLOCK_ONLY = "pos_from(hour_between(0, 8), hour_between(12, 20))"
SEEDS = [
    "pos_from(gt(ema(close, 5), ema(close, 20)), lt(ema(close, 5), ema(close, 20)))",
    "latch(lt(zscore(close, 50), -1.0), gt(zscore(close, 50), 0.0), gt(zscore(close, 50), 1.0), "
    "lt(zscore(close, 50), 0.0))",
    "vol_target(pos_from(gt(close, sma(close, 30)), lt(close, sma(close, 30))), 30, 0.005)",
    "atr_stop(pos_from(gt(close, vwap(24)), lt(close, vwap(24))), 14, 2.0)",
    "pos_from(lt(funding_mean(funding, 24), 0.0), gt(funding_mean(funding, 24), 0.0001))",
    CLOCK_ONLY,
]
N_BARS = 3000


def _columns(seed: int) -> dict[str, np.ndarray]:
    return make_bar_columns(N_BARS, seed)


def _series(columns: dict[str, np.ndarray], symbol: str) -> BarSeries:
    return BarSeries.from_arrays(**columns, symbol=symbol, timeframe="1h")


def _perturbed(columns: dict[str, np.ndarray], bars: np.ndarray, seed: int) -> dict:
    """Scale every price of ``bars`` by a wild random factor (0.05–20x), scramble volume/funding."""
    rng = np.random.default_rng(seed)
    out = {name: values.copy() for name, values in columns.items()}
    factor = np.exp(rng.uniform(np.log(0.05), np.log(20.0), bars.size))
    for name in ("open", "high", "low", "close"):
        out[name][bars] *= factor
    out["volume"][bars] = rng.lognormal(8.0, 2.0, bars.size)
    out["funding_rate"][bars] = rng.normal(0.0, 0.01, bars.size)
    return out


def _random_texts(n: int) -> list[str]:
    rng = np.random.default_rng(5)
    limits = primitives.SizeLimits(max_depth=10, max_nodes=60)
    return [
        primitives.to_text(primitives.random_tree(rng, min_depth=2, max_depth=5, limits=limits))
        for _ in range(n)
    ]


def _markets(after_validation: bool) -> tuple[Market, Market, list[int]]:
    base = {symbol: _columns(seed) for seed, symbol in ((31, "BTCUSDT"), (32, "ETHUSDT"))}
    market = Market.build([_series(c, s) for s, c in base.items()], CONFIG.folds)
    stops = [max(s.stop for s in market.segments(i) if s.kind != "holdout") for i in range(2)]
    changed = []
    for index, (symbol, columns) in enumerate(base.items()):
        bars = np.arange(stops[index], N_BARS) if after_validation else np.array([400])
        changed.append(_series(_perturbed(columns, bars, index), symbol))
    return market, Market.build(changed, CONFIG.folds), stops


def test_evaluate_when_holdout_and_embargo_prices_go_wild_then_evolution_results_identical() -> (
    None
):
    market, wild, stops = _markets(after_validation=True)
    holdout_start = market.segments(0, "holdout")[0].start

    assert stops[0] < holdout_start  # the embargo before the holdout is perturbed too
    assert market.content_hashes != wild.content_hashes
    for text in SEEDS + _random_texts(40):
        calm, stormy = evaluate(text, market, CONFIG), evaluate(text, wild, CONFIG)
        assert calm == stormy, text  # objectives, rows, returns, semantic hash: every field
        assert calm.objectives == stormy.objectives
    # the perturbation is real: the holdout itself does change
    calm = evaluate(SEEDS[0], market, CONFIG, include_holdout=True)
    stormy = evaluate(SEEDS[0], wild, CONFIG, include_holdout=True)
    assert calm.table[:-2] == stormy.table[:-2]
    assert calm.holdout != stormy.holdout


def test_evaluate_when_one_discovery_bar_changes_then_discovery_results_change() -> None:
    market, changed, _ = _markets(after_validation=False)  # bar 400 lies in discovery-1

    calm, stormy = evaluate(SEEDS[0], market, CONFIG), evaluate(SEEDS[0], changed, CONFIG)

    assert market.segments(0)[0].start <= 400 < market.segments(0)[0].stop
    assert calm.table[0].metrics != stormy.table[0].metrics
    assert calm.objectives != stormy.objectives


def test_evaluate_when_embargo_prices_change_then_clock_strategy_segments_unchanged() -> None:
    base = _columns(41)
    market = Market.build([_series(base, "BTCUSDT")], CONFIG.folds)
    segments = market.segments(0)
    inside = np.zeros(N_BARS, dtype=bool)
    for segment in segments:
        inside[segment.start : segment.stop] = True
    embargo = np.flatnonzero(~inside)
    changed = Market.build([_series(_perturbed(base, embargo, 9), "BTCUSDT")], CONFIG.folds)

    calm = evaluate(CLOCK_ONLY, market, CONFIG, include_holdout=True)
    stormy = evaluate(CLOCK_ONLY, changed, CONFIG, include_holdout=True)

    assert embargo.size == 24 * 4  # one day between each consecutive pair of the 5 segments
    assert calm == stormy  # no segment's P&L reads an embargo bar
    # while a bar inside a segment does count
    inside_bar = np.array([segments[1].start + 10])
    moved = Market.build([_series(_perturbed(base, inside_bar, 9), "BTCUSDT")], CONFIG.folds)
    assert evaluate(CLOCK_ONLY, moved, CONFIG).table[1] != calm.table[1]
