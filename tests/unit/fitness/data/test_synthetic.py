"""fitness.data.synthetic: the ``evolve data synth`` markets, their seeds and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from fitness import DataError
from fitness.data.synthetic import planted_edge_series, synthetic_markets, trend_regimes


def test_synthetic_markets_when_two_trend_symbols_then_seeds_follow_and_edge_is_planted() -> None:
    markets = synthetic_markets("trend", n_symbols=2, n_days=40, seed=3)

    assert [m.series.symbol for m in markets] == ["PEAUSDT", "PEBUSDT"]
    assert [m.seed for m in markets] == [3, 4]
    assert (
        markets[1].series.content_hash == planted_edge_series(960, 4, symbol="PEBUSDT").content_hash
    )
    # independent check of the planted drift: re-draw the regimes from the same generator state
    drift = trend_regimes(960, np.random.default_rng(3))
    log_returns = np.diff(np.log(markets[0].series.close))
    assert np.corrcoef(drift[1:], log_returns)[0, 1] > 0.1
    assert np.all(np.abs(drift) >= 0.0005) and np.all(np.abs(drift) <= 0.0015)


def test_synthetic_markets_when_random_walk_then_prefix_rw_and_provenance_says_no_edge() -> None:
    (market,) = synthetic_markets("random_walk", n_symbols=1, n_days=30, seed=0)

    assert market.series.symbol == "RWAUSDT" and market.series.n_bars == 720
    assert market.provenance.startswith("synthetic random walk (no edge), seed 0 ")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"kind": "sine"}, "kind 'sine'"),
        ({"n_symbols": 0}, "symbols = 0"),
        ({"n_symbols": 27}, "symbols = 27"),
        ({"n_days": 29}, "days = 29"),
        ({"seed": -1}, "seed = -1"),
        ({"prefix": "P-E"}, "prefix 'P-E'"),
    ],
)
def test_synthetic_markets_when_argument_out_of_range_then_data_error_names_it(
    arguments: dict[str, object], named: str
) -> None:
    with pytest.raises(DataError, match=named):
        synthetic_markets(**arguments)  # type: ignore[arg-type]
