"""The null model of a whole search: the same search on surrogate data with the edge destroyed.

A surrogate of a bar series is a circular block bootstrap of its bars in blocks of whole days
(default 7): each bar keeps its log close-to-close return, its OHLC shape relative to its close,
its volume and its funding rate, while the order of the blocks is random; timestamps are
unchanged and, because blocks are whole days aligned on UTC midnight, every funding settlement
stays on an 8-hour settlement bar. Volatility clustering within a block survives; any edge that
lives across blocks does not. ``run_null_model`` runs the run's own search (population,
generations, seed + k) on K surrogate markets in ``RUN/null/<k>/`` and takes, from each, the
holdout daily Sharpe of its best hall-of-fame member by robust score: the distribution of the
*best* strategy a search finds when there is nothing to find.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from evolve.config import RunConfig
from evolve.engine.inputs import load_market, load_series
from evolve.engine.loop import new_run, score_index_of
from evolve.numbers import finite_or_none
from evolve.promotion import replays
from evolve.promotion.gauntlet import return_moments
from evolve.promotion.replays import holdout_span
from evolve.promotion.run_inputs import FINISHED
from fitness import BarSeries, DataError, save_dataset
from populations import RunDir, read_hall_of_fame

DAY_MS = 86_400_000


def surrogate_series(series: BarSeries, rng: np.random.Generator, block_days: int = 7) -> BarSeries:
    """Return a circular day-block bootstrap of ``series`` (same timestamps, same first close).

    Destination bars are cut into blocks of ``block_days`` days starting at the first bar that
    opens at 00:00 UTC (earlier bars form a partial leading block); each block copies a run of
    consecutive source bars starting at a uniformly drawn whole day of the source, wrapping
    around its whole days. Bar ``t`` takes source bar ``s``'s log return
    ``log(close[s] / close[s-1])``, its ``open/close``, ``high/close`` and ``low/close`` ratios,
    its volume and its funding rate.

    Parameters
    ----------
    series : BarSeries
        The original bars (timeframe of at most one day).
    rng : numpy.random.Generator
        Source of the block starts.
    block_days : int
        Block length in days (>= 1).

    Raises
    ------
    DataError
        If the series holds less than one whole day from its first midnight bar.
    """
    if block_days < 1:
        raise ValueError(f"block_days: expected at least 1, found {block_days}")
    n_bars, timeframe_ms = len(series), series.timeframe_ms
    bars_per_day = max(1, DAY_MS // timeframe_ms)
    midnight = np.flatnonzero(series.timestamp[: bars_per_day + 1] % DAY_MS == 0)
    first = int(midnight[0]) if midnight.size else 0
    n_days = (n_bars - first) // bars_per_day
    if n_days < 1:
        raise DataError(
            f"{series.symbol} {series.timeframe}: {n_bars} bars hold no whole UTC day; a "
            "surrogate needs at least one day of bars"
        )
    pool, block_bars = n_days * bars_per_day, block_days * bars_per_day
    relative = np.arange(n_bars) - first
    block = np.floor_divide(relative, block_bars)
    starts = rng.integers(0, n_days, size=int(block.max() - block.min()) + 1)
    offset = relative - block * block_bars
    source = first + (starts[block - block.min()] * bars_per_day + offset) % pool
    close = series.close
    log_returns = np.concatenate(([np.log(close[0] / series.open[0])], np.diff(np.log(close))))
    steps = log_returns[source]
    new_close = close[0] * np.exp(np.cumsum(steps) - steps[0])
    return BarSeries.from_arrays(
        series.timestamp,
        new_close * (series.open / close)[source],
        new_close * (series.high / close)[source],
        new_close * (series.low / close)[source],
        new_close,
        series.volume[source],
        series.funding_rate[source],
        symbol=series.symbol,
        timeframe=series.timeframe,
        exchange=series.exchange,
        gaps="split" if series.gaps.count else "error",
        source=f"surrogate of {series.symbol} {series.timeframe}",
    )


def null_run_config(
    config: RunConfig, datasets: list[str], k: int, directory: Path, workers: int
) -> RunConfig:
    """Return the run configuration of null run ``k``: the run's own with surrogate data."""
    values = config.to_dict()
    values["data"] = {**values["data"], "datasets": datasets, "start": "", "end": ""}
    values["run"] = {
        **values["run"],
        "seed": config.run.seed + k,
        "workers": workers,
        "ray_address": "",
        "runs_root": str(directory),
    }
    return RunConfig.model_validate(values)


def _finished_run(run_path: Path, config: RunConfig, content_hashes: list[str]) -> bool:
    # a finished null run of the same configuration and data is reused (it is deterministic)
    if not (run_path / "run.json").is_file():
        return False
    try:
        manifest = RunDir(run_path).read_manifest()
    except ValueError:
        return False
    return (
        manifest.status in FINISHED
        and manifest.config_hash == config.digest()
        and [record.get("content_hash") for record in manifest.data] == content_hashes
    )


def _best_holdout_sharpe(run_path: Path, config: RunConfig) -> dict[str, Any]:
    _, members = read_hall_of_fame(run_path / "hall_of_fame.json")
    record: dict[str, Any] = {"best_id": None, "best_expression": None}
    record["best_holdout_daily_sharpe"] = None
    if not members:
        return record
    index = score_index_of(config)
    best = max(members, key=lambda spec: (spec.objectives[index], spec.id))
    market = load_market(config).market
    # the candidates' holdout path (one replay), so the percentile compares like with like
    targets = replays.strategy_targets(best.expression, market)
    holdout = replays.replay(targets, market, config.fitness().costs, *holdout_span(market))
    moments = return_moments(holdout.daily_returns)
    record.update(
        best_id=best.id,
        best_expression=best.expression,
        best_holdout_daily_sharpe=None if moments is None else finite_or_none(moments.sharpe),
    )
    return record


def null_run(
    run_dir: RunDir,
    config: RunConfig,
    k: int,
    *,
    seed: int,
    block_days: int,
    workers: int = 1,
) -> dict[str, Any]:
    """Run (or reuse) null search ``k`` in ``RUN/null/<k>/`` and return its record.

    The surrogates (seeded from ``seed + k``) are stored as datasets under
    ``RUN/null/<k>/data``; the search runs in ``RUN/null/<k>/run``.
    """
    directory = run_dir.path / "null" / str(k)
    rng = np.random.default_rng(np.random.SeedSequence([seed + k, 401]))
    datasets, hashes = [], []
    for _, series in load_series(config.data):
        surrogate = surrogate_series(series, rng, block_days)
        name = f"null/{series.symbol}-{series.timeframe}"
        info = save_dataset(surrogate, home=directory / "data", name=name)
        datasets.append(str(info.path))
        hashes.append(surrogate.content_hash)
    null_config = null_run_config(config, datasets, k, directory, workers)
    run_path = directory / "run"
    if not _finished_run(run_path, null_config, hashes):
        shutil.rmtree(run_path, ignore_errors=True)
        new_run(null_config, run_dir=run_path)
    record = {"index": k, "run_dir": f"null/{k}/run", "seed": null_config.run.seed}
    record.update(_best_holdout_sharpe(run_path, null_config))
    return record


def run_null_model(
    run_dir: RunDir, config: RunConfig, promotion: Any, *, workers: int = 1
) -> dict[str, Any]:
    """Return the null-model block of the evidence: K searches on surrogate data.

    Parameters
    ----------
    run_dir : RunDir
        The run being promoted (the null runs go to ``RUN/null/<k>/``).
    config : RunConfig
        The run's resolved configuration (the same search is repeated).
    promotion : PromotionConfig
        ``null_runs`` (K), ``null_block_days`` and ``seed``.
    workers : int
        Evaluation workers of each null search.
    """
    runs = [
        null_run(
            run_dir,
            config,
            k,
            seed=promotion.seed,
            block_days=promotion.null_block_days,
            workers=workers,
        )
        for k in range(promotion.null_runs)
    ]
    draws = [run["best_holdout_daily_sharpe"] for run in runs]
    return {
        "n_runs": len(runs),
        "best_holdout_sharpes": [draw for draw in draws if draw is not None],
        "periods": "day",
        "block_days": promotion.null_block_days,
        "method": (
            f"the run's search (population {config.gp.population}, {config.gp.generations} "
            f"generations, seed + k) on {len(runs)} surrogate market(s): circular bootstrap of "
            f"each symbol's bars in {promotion.null_block_days}-day blocks (log returns, OHLC "
            "shape, volume and funding carried with each bar); each draw is the holdout daily "
            "Sharpe of the search's best hall-of-fame member by robust score"
        ),
        "runs": runs,
    }
