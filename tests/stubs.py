"""Deterministic test factories: synthetic bar series and bar files (same seed, same bytes),
hand-made evaluations and strategy records."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fitness import TIMEFRAMES, BarSeries, Evaluation, SegmentRow
from populations import Member

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
FUNDING_INTERVAL_MS = 8 * 3_600_000
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


def make_bar_columns(
    n: int = 500,
    seed: int = 0,
    *,
    timeframe: str = "1h",
    start_ms: int = START_MS,
    start_price: float = 100.0,
    volatility: float = 0.01,
    drift: float = 0.0,
    with_funding: bool = True,
) -> dict[str, np.ndarray]:
    """Return the columns of a synthetic bar series as plain writable arrays.

    A geometric random walk of closes; ``open[t] = close[t-1]``; high/low widen the body by a
    random fraction; lognormal volume. With ``with_funding`` a rate near 0.01% is settled on
    every bar opening at 00:00, 08:00 or 16:00 UTC (``funding_rate`` column), zero elsewhere.
    """
    rng = np.random.default_rng(seed)
    timeframe_ms = TIMEFRAMES[timeframe]
    returns = drift + volatility * rng.standard_normal(n)
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([start_price], close[:-1]))
    body_high, body_low = np.maximum(open_, close), np.minimum(open_, close)
    high = body_high * (1.0 + np.abs(rng.normal(0.0, volatility / 2, n)))
    low = body_low * (1.0 - np.abs(rng.normal(0.0, volatility / 2, n)))
    timestamp = start_ms + np.arange(n, dtype=np.int64) * timeframe_ms
    columns = {
        "timestamp": timestamp,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": rng.lognormal(3.0, 1.0, n),
    }
    if with_funding:
        funding = np.zeros(n)
        bar_end = timestamp + timeframe_ms
        # a settlement time s = k·8h falls in the bar when open <= s < open + tf
        next_settlement = -(-timestamp // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
        settles = next_settlement < bar_end
        funding[settles] = 0.0001 + 0.0001 * rng.standard_normal(int(settles.sum()))
        columns["funding_rate"] = funding
    return columns


def make_bars(
    n: int = 500,
    seed: int = 0,
    *,
    symbol: str = "SYNTHUSDT",
    timeframe: str = "1h",
    exchange: str = "",
    start_ms: int = START_MS,
    start_price: float = 100.0,
    volatility: float = 0.01,
    drift: float = 0.0,
    with_funding: bool = True,
) -> BarSeries:
    """Return a deterministic, validated synthetic :class:`fitness.BarSeries` of ``n`` bars.

    Same ``(n, seed, options)`` give the same bars and the same content hash. See
    :func:`make_bar_columns` for the shape of the data.
    """
    columns = make_bar_columns(
        n,
        seed,
        timeframe=timeframe,
        start_ms=start_ms,
        start_price=start_price,
        volatility=volatility,
        drift=drift,
        with_funding=with_funding,
    )
    return BarSeries.from_arrays(
        **columns, symbol=symbol, timeframe=timeframe, exchange=exchange, source="make_bars"
    )


def write_csv(
    path: Path,
    columns: dict[str, np.ndarray] | dict[str, list[object]],
    *,
    iso_timestamps: bool = False,
) -> Path:
    """Write ``columns`` to ``path`` as CSV (floats with ``repr``, so values round-trip)."""
    names = list(columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in zip(*(list(columns[name]) for name in names), strict=True):
            writer.writerow(
                [_cell(name, value, iso_timestamps) for name, value in zip(names, row, strict=True)]
            )
    return path


def write_parquet_file(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """Write ``columns`` to ``path`` as a plain Parquet file (as an exporting tool would)."""
    pq.write_table(pa.table({name: pa.array(values) for name, values in columns.items()}), path)
    return path


def _cell(name: str, value: object, iso_timestamps: bool) -> str:
    if name == "timestamp" and iso_timestamps and isinstance(value, (int, np.integer)):
        text = np.datetime_as_string(np.datetime64(int(value), "ms"), unit="ms")
        return text + "Z"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def make_evaluation(
    id: str,
    text: str | None = None,
    objectives: Sequence[float] = (0.5, 0.2, 5.0),
    *,
    feasible: bool = True,
    n_nodes: int = 5,
    semantic_hash: str = "",
    validation: dict[str, float] | None = None,
    returns: Sequence[float] = (),
) -> Evaluation:
    """Return a hand-made ``fitness.Evaluation`` (no backtest): for records and persistence."""
    validation_returns = np.asarray(returns, dtype=np.float32)
    validation_returns.flags.writeable = False
    metrics = {"sharpe": 1.25, "n_trades": 12.0, "n_bars": 96.0}
    return Evaluation(
        id=id,
        text=f"expr_{id}" if text is None else text,
        pretty=f"pretty {id}",
        n_nodes=n_nodes,
        depth=2,
        lookback_bars=20,
        objectives=tuple(float(value) for value in objectives),
        feasible=feasible,
        infeasible_reason="" if feasible else "discovery-1 × BTCUSDT: 0 trades",
        table=(
            SegmentRow("discovery-1", "discovery", "BTCUSDT", dict(metrics)),
            SegmentRow("validation", "validation", "BTCUSDT", {**metrics, "sharpe": 0.5}),
        ),
        train={"robust_score": float(objectives[0]), "sharpe": 1.25, "n_trades": 12.0},
        validation=(
            {"sharpe": 0.5, "n_trades": 4.0, "daily_sharpe": 0.03}
            if validation is None
            else validation
        ),
        validation_returns=validation_returns,
        holdout=None,
        holdout_returns=None,
        semantic_hash=semantic_hash,
    )


def make_member(
    id: str,
    text: str | None = None,
    objectives: Sequence[float] = (0.5, 0.2, 5.0),
    *,
    feasible: bool = True,
    n_nodes: int = 5,
    generation: int = 0,
    parent_ids: Sequence[str] = (),
    operator: str = "crossover",
    is_new_trial: bool = True,
    penalized: Sequence[float] | None = None,
    semantic_hash: str = "",
    returns: Sequence[float] = (),
) -> Member:
    """Return a strategy record over :func:`make_evaluation` (``penalized`` default: raw)."""
    evaluation = make_evaluation(
        id,
        text,
        objectives,
        feasible=feasible,
        n_nodes=n_nodes,
        semantic_hash=semantic_hash,
        returns=returns,
    )
    member = Member.of(
        evaluation,
        generation=generation,
        parent_ids=tuple(parent_ids),
        operator=operator,
        is_new_trial=is_new_trial,
    )
    if penalized is not None:
        member = replace(member, penalized=tuple(float(value) for value in penalized))
    return member
