"""``evolve backtest --plot``: price with positions, equity and drawdown of one strategy.

One account per symbol over the bars evolution may see (the whole series with the holdout):
``fitness.simulate`` of the strategy's targets under the run's costs, the walk-forward
segments shaded. matplotlib through the Agg canvas (no display, no pyplot state); the SVG is
deterministic: fixed ``svg.hashsalt``, no date in the metadata; the dense data artists are
rasterised inside it (tens of thousands of bars would make a many-megabyte vector file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evolve.config import RunConfig
    from fitness import Market, SimResult

SHADES = {"validation": "#d8e8f8", "holdout": "#f8ddd8"}
HASH_SALT = "evolve"


def account(equity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(equity, drawdown)``: drawdown = equity / running peak − 1 (≤ 0)."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(equity)
    return equity, equity / peak - 1.0


def exposure(result: SimResult, close: np.ndarray) -> np.ndarray:
    """Return the held position as a signed fraction of equity (``qty · close / equity``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        held = result.qty * close / result.equity
    return np.where(np.isfinite(held), held, 0.0)


def _shade(axes: list[Any], market: Market, index: int, times: np.ndarray, holdout: bool) -> None:
    for named in market.named_segments(index):
        colour = SHADES.get(named.kind)
        if colour is None or (named.kind == "holdout" and not holdout):
            continue
        for piece in named.pieces:
            stop = min(piece.stop, len(times)) - 1
            if piece.start > stop:
                continue
            for ax in axes:
                ax.axvspan(times[piece.start], times[stop], color=colour, lw=0, zorder=0)


def write_plot(path: Path, text: str, market: Market, config: RunConfig, *, holdout: bool) -> None:
    """Write the chart of strategy ``text`` on ``market`` to ``path`` (.png or .svg).

    Per symbol three panels share the time axis: close price (log) with the position as a
    fraction of equity on a second axis, equity, and drawdown. Validation is shaded blue, the
    holdout (only with ``holdout``) red.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import primitives
    from fitness import simulate

    strategy = primitives.compile(text)
    initial_equity = config.fitness().initial_equity
    n_symbols = len(market.series)
    figure = Figure(figsize=(12, 6.5 * n_symbols), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3 * n_symbols, 1, height_ratios=[3, 2, 1] * n_symbols)
    for index, series in enumerate(market.series):
        bars = series if holdout else market.evolution_bars(index)
        target = strategy.positions(bars)
        result = simulate(
            bars.open, bars.close, bars.funding_rate, target, config.costs, initial_equity
        )
        times = np.asarray(bars.timestamp).astype("datetime64[ms]")
        equity, drawdown = account(result.equity)
        price = figure.add_subplot(grid[3 * index])
        price.plot(times, bars.close, color="#333333", lw=0.7, rasterized=True)
        price.set_yscale("log")
        price.set_ylabel(f"{series.symbol} close")
        price.set_title(f"{strategy.pretty} — {series.symbol} {series.timeframe}", loc="left")
        position = price.twinx()
        position.fill_between(
            times,
            exposure(result, bars.close),
            step="post",
            color="#2a7ab9",
            alpha=0.35,
            lw=0,
            rasterized=True,
        )
        price.set_zorder(position.get_zorder() + 1)  # the price line above the position
        price.patch.set_visible(False)
        position.set_ylim(-1.05 * config.costs.leverage, 1.05 * config.costs.leverage)
        position.set_ylabel("position (× equity)")
        value = figure.add_subplot(grid[3 * index + 1], sharex=price)
        value.plot(times, equity, color="#1b7f3b", lw=0.9, rasterized=True)
        value.set_ylabel("equity")
        loss = figure.add_subplot(grid[3 * index + 2], sharex=price)
        loss.fill_between(
            times, 100 * drawdown, 0.0, color="#b03a2e", alpha=0.6, lw=0, rasterized=True
        )
        loss.set_ylabel("drawdown %")
        _shade([position, value, loss], market, index, np.asarray(times), holdout)
        for ax in (price, value):
            ax.tick_params(labelbottom=False)
    save(figure, path)


def save(figure: Any, path: Path) -> None:
    """Save ``figure`` by suffix; SVG byte-identical across runs (fixed salt, no date)."""
    import matplotlib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".svg":
        with matplotlib.rc_context({"svg.hashsalt": HASH_SALT}):
            figure.savefig(path, format="svg", dpi=100, metadata={"Date": None})
    else:
        figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
