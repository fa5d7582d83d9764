"""A run's inputs: the bar series named by ``[data]`` (restricted to ``start``/``end``) built
into a ``fitness.Market``, with the dataset records ``run.json`` keeps for the resume guard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolve.config import DataConfig, RunConfig
from fitness import BarSeries, DataError, Market, load_bars


@dataclass(frozen=True, slots=True)
class MarketInputs:
    """The market a run evolves on and where it came from.

    Attributes
    ----------
    datasets : list of dict
        ``{"name", "symbol", "timeframe", "content_hash"}`` per dataset, config order; the hash
        is of the bars actually used (after ``start``/``end``).
    """

    market: Market
    datasets: list[dict[str, str]]

    @property
    def symbols(self) -> list[str]:
        """Return the symbols, config order."""
        return [record["symbol"] for record in self.datasets]

    @property
    def timeframe(self) -> str:
        """Return the shared timeframe."""
        return self.datasets[0]["timeframe"]

    @property
    def n_bars(self) -> int:
        """Return the total number of bars over all symbols."""
        return sum(len(series) for series in self.market.series)


def _restricted(series: BarSeries, name: str, config: DataConfig) -> BarSeries:
    start_ms, end_ms = config.start_ms, config.end_ms
    if start_ms is None and end_ms is None:
        return series
    first = 0 if start_ms is None else int(np.searchsorted(series.timestamp, start_ms, "left"))
    last = len(series) if end_ms is None else int(np.searchsorted(series.timestamp, end_ms, "left"))
    if last - first < 2:
        raise DataError(
            f"dataset {name!r}: no bars between start {config.start or '(first bar)'} and end "
            f"{config.end or '(last bar)'} (it spans {series!r}); widen [data] start/end"
        )
    return series.slice(first, last)


def load_series(config: DataConfig) -> list[tuple[str, BarSeries]]:
    """Return ``(name, series)`` per configured dataset, restricted and timeframe-checked.

    Raises
    ------
    DataError
        Naming the dataset when it cannot be loaded, holds no bars in the span, or its
        timeframe differs from ``[data] timeframe``.
    """
    loaded = []
    for name in config.datasets:
        series = _restricted(load_bars(name, gaps=config.gaps), name, config)
        if config.timeframe and series.timeframe != config.timeframe:
            raise DataError(
                f"dataset {name!r}: timeframe {series.timeframe}, expected {config.timeframe} "
                "([data] timeframe / --timeframe); choose datasets of one timeframe"
            )
        loaded.append((name, series))
    return loaded


def load_market(config: RunConfig) -> MarketInputs:
    """Load the configured datasets and build the walk-forward market.

    Raises
    ------
    DataError
        Naming the dataset (missing, modified, wrong timeframe, too short for the folds,
        mixed timeframes or duplicate symbols).
    """
    loaded = load_series(config.data)
    market = Market.build([series for _, series in loaded], config.folds)
    datasets = [
        {
            "name": name,
            "symbol": series.symbol,
            "timeframe": series.timeframe,
            "content_hash": series.content_hash,
        }
        for name, series in loaded
    ]
    return MarketInputs(market, datasets)
