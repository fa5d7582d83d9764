"""Market: building from series, segment lookups, the evolution prefix, pickling, errors."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from fitness import BarSeries, DataError, FoldConfig, Market
from tests.stubs import make_bar_columns, make_bars

FOLDS = FoldConfig(n_discovery_folds=3, min_segment_bars=50)


def test_market_build_when_two_symbols_then_properties_describe_them() -> None:
    btc, eth = make_bars(2000, 1, symbol="BTCUSDT"), make_bars(2000, 2, symbol="ETHUSDT")

    market = Market.build([btc, eth], FOLDS)

    assert market.symbols == ("BTCUSDT", "ETHUSDT")
    assert market.timeframe == "1h" and market.timeframe_ms == 3_600_000
    assert market.bars_per_day == 24
    assert market.content_hashes == (btc.content_hash, eth.content_hash)
    assert market.n_bars_total == 4000
    assert market.n_discovery_folds == 3
    names = [segment.name for segment in market.named_segments(0)]
    assert names == ["discovery-1", "discovery-2", "discovery-3", "validation", "holdout"]


def test_market_segments_when_kind_given_then_only_that_kind() -> None:
    market = Market.build([make_bars(2000, 1)], FOLDS)

    discovery = market.segments(0, "discovery")
    validation = market.segments(0, "validation")

    assert [s.name for s in discovery] == ["discovery-1", "discovery-2", "discovery-3"]
    assert len(validation) == 1 and validation[0].kind == "validation"
    assert len(market.segments(0)) == 5
    with pytest.raises(ValueError, match="unknown"):
        market.segments(0, "train")


def test_market_evolution_bars_when_holdout_then_prefix_ends_at_validation_stop() -> None:
    series = make_bars(2000, 1)
    market = Market.build([series], FOLDS)
    validation = market.segments(0, "validation")[0]
    holdout = market.segments(0, "holdout")[0]

    prefix = market.evolution_bars(0)

    # hand check: 2000 bars, holdout round(0.2 * 2000) = 400, embargo 24 before it
    assert holdout.stop == 2000 and holdout.start == 1600
    assert validation.stop == 1600 - 24
    assert len(prefix) == validation.stop
    assert np.array_equal(prefix.close, series.close[: validation.stop])
    assert prefix.content_hash == f"{series.content_hash}[:{validation.stop}]"


def test_market_evolution_bars_when_no_holdout_then_whole_series() -> None:
    series = make_bars(2000, 1)
    folds = FoldConfig(n_discovery_folds=3, holdout_fraction=0.0, min_segment_bars=50)

    market = Market.build([series], folds)

    assert market.evolution_bars(0) is series


def test_market_when_pickled_then_same_segments_and_prefix() -> None:
    market = Market.build([make_bars(2000, 1, symbol="A"), make_bars(2000, 2, symbol="B")], FOLDS)

    copy = pickle.loads(pickle.dumps(market))

    assert copy.symbols == market.symbols
    assert copy.content_hashes == market.content_hashes
    assert copy.timeline == market.timeline
    assert copy.named_segments(1) == market.named_segments(1)
    assert copy.evolution_bars(1).content_hash == market.evolution_bars(1).content_hash
    assert np.array_equal(copy.evolution_bars(1).open, market.evolution_bars(1).open)


def test_market_build_when_mixed_timeframes_then_data_error_names_datasets() -> None:
    hourly = make_bars(2000, 1, symbol="BTCUSDT")
    daily = make_bars(2000, 2, symbol="ETHUSDT", timeframe="1d")

    with pytest.raises(DataError, match=r"mixed timeframes.*BTCUSDT 1h.*ETHUSDT 1d"):
        Market.build([hourly, daily], FOLDS)


def test_market_build_when_symbol_repeats_then_data_error() -> None:
    with pytest.raises(DataError, match=r"BTCUSDT.*more than once"):
        Market.build([make_bars(2000, 1, symbol="BTCUSDT")] * 2, FOLDS)


def test_market_build_when_data_too_short_then_data_error_names_dataset() -> None:
    with pytest.raises(DataError, match=r"market of SHORTUSDT 1h: .*too short"):
        Market.build([make_bars(300, 1, symbol="SHORTUSDT")], FOLDS)


def test_market_build_when_empty_or_not_bar_series_then_data_error() -> None:
    with pytest.raises(DataError, match="no bar series"):
        Market.build([], FOLDS)
    with pytest.raises(DataError, match=r"fitness\.BarSeries"):
        Market.build([object()], FOLDS)  # type: ignore[list-item]


def test_market_named_segments_when_gap_split_then_pieces_share_a_name() -> None:
    columns = make_bar_columns(2100, 3)
    keep = np.ones(2100, dtype=bool)
    keep[200:300] = False  # a 100-bar gap inside discovery-1 (calendar bars 0..430)
    series = BarSeries.from_arrays(
        **{name: values[keep] for name, values in columns.items()},
        symbol="GAPUSDT",
        timeframe="1h",
        gaps="split",
    )

    market = Market.build([series], FOLDS)
    first = market.named_segments(0)[0]

    assert first.name == "discovery-1" and len(first.pieces) == 2
    assert first.pieces[0].stop == 200 and first.pieces[1].start == 200
    assert first.n_bars == sum(piece.n_bars for piece in first.pieces)
    assert market.day_index(0, first, first.pieces[1].start) == 300 // 24


def test_market_evolution_ranges_when_built_then_partition_prefix_at_segment_edges() -> None:
    market = Market.build([make_bars(2000, 1)], FOLDS)
    pieces = [(s.start, s.stop) for s in market.segments(0) if s.kind != "holdout"]

    ranges = market.evolution_ranges(0)

    assert ranges[0][0] == 0 and ranges[-1][1] == len(market.evolution_bars(0))
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert set(pieces) <= set(ranges)
    assert len(ranges) == len(pieces) + 3  # the three embargoes between the four segments
