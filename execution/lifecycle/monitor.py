"""The decay monitor: once a day, each running strategy against what its backtest promised.

Three checks on the record since the strategy entered its state (DESIGN §8):

- ``cusum``: Page's lower CUSUM on the daily returns standardised by the holdout's mean and
  deviation (``fitness.stats.monitoring.lower_cusum``) stays at or under ``cusum_h``;
- ``drawdown``: the running drawdown of the daily equity stays under the holdout's bootstrap
  ``drawdown_quantile`` max drawdown;
- ``tracking``: the strategy's equity stays within ``max_tracking_error`` of a replay of the
  same bars and decisions through ``fitness.simulate`` (the paper-parity equity).

A breach demotes the strategy one step (``records.DEMOTION``) or halts the account
(``decay_action``), with a ``decay`` event and a ``lifecycle_transitions`` row. The monitor is
called by the runner after each step, inside the step's transaction (``Runner(after_step=)``).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np

from execution.lifecycle import store as lifecycle_store
from execution.lifecycle.records import (
    DEMOTION,
    RUNNING,
    Baseline,
    Decision,
    EvidenceCheck,
    LifecycleConfig,
    TrackRecord,
)
from execution.state import StateStore
from fitness import CostModel, simulate, timeframe_to_ms
from fitness.stats.monitoring import lower_cusum, running_drawdown

DAY_MS = lifecycle_store.DAY_MS


def decay_checks(
    record: TrackRecord,
    baseline: Baseline,
    tracking_error: float | None,
    config: LifecycleConfig,
) -> tuple[EvidenceCheck, ...]:
    """Return the monitor's three checks of ``record`` (a failed one is a breach)."""
    cusum = lower_cusum(
        np.asarray(record.daily_returns, dtype=np.float64),
        baseline.mean_daily,
        baseline.std_daily,
        k=config.cusum_k,
        h=config.cusum_h,
    )
    drawdown = running_drawdown(np.asarray(record.daily_equity), record.start_equity)
    checks = [
        EvidenceCheck(
            "cusum",
            cusum.alarm_index is None,
            cusum.statistic,
            config.cusum_h,
            f"lower CUSUM {cusum.statistic:.3f} (peak {cusum.peak:.3f}) over "
            f"{record.n_days} days, k {config.cusum_k}, threshold {config.cusum_h}",
        ),
        EvidenceCheck(
            "drawdown",
            drawdown <= baseline.drawdown_limit,
            drawdown,
            baseline.drawdown_limit,
            f"running drawdown {drawdown:.4f} vs the holdout's bootstrap "
            f"{baseline.drawdown_quantile:.0%} max drawdown {baseline.drawdown_limit:.4f}",
        ),
    ]
    if tracking_error is not None:
        checks.append(
            EvidenceCheck(
                "tracking",
                tracking_error <= config.max_tracking_error,
                tracking_error,
                config.max_tracking_error,
                f"|realised / replayed equity - 1| = {tracking_error:.3g} (allowed "
                f"{config.max_tracking_error})",
            )
        )
    return tuple(checks)


def replayed_equity(store: StateStore, strategy: str, costs: CostModel) -> float | None:
    """Return the strategy's equity replayed by ``fitness.simulate`` over the account's bars.

    Targets are the strategy's recorded decisions (a bar without one holds the previous
    target); each symbol starts from its share of the strategy's capital. None before any bar.
    """
    capital = store.query("SELECT capital FROM strategies WHERE strategy = ?", (strategy,))
    symbols = [s for s in (store.get_meta("symbols") or "").split(",") if s]
    if not capital or not symbols:
        return None
    total = 0.0
    for symbol in symbols:
        bars = store.query(
            "SELECT bar_time, open, close, funding_rate FROM bars WHERE symbol = ? "
            "ORDER BY bar_time",
            (symbol,),
        )
        if not bars:
            return None
        decided = dict(
            store.query(
                "SELECT bar_time, target FROM decisions WHERE strategy = ? AND symbol = ?",
                (strategy, symbol),
            )
        )
        target, held = np.empty(len(bars)), math.nan
        for i, row in enumerate(bars):
            if row[0] in decided:
                value = decided[row[0]]
                held = math.nan if value is None else float(value)
            target[i] = held
        array = np.asarray([row[1:] for row in bars], dtype=np.float64)
        result = simulate(
            array[:, 0],
            array[:, 1],
            array[:, 2],
            target,
            costs,
            float(capital[0][0]) / len(symbols),
        )
        total += float(result.equity[-1])
    return total


class DecayMonitor:
    """The runner's ``after_step`` hook: run :func:`decay_checks` when a UTC day completes.

    Parameters
    ----------
    config : LifecycleConfig
        Thresholds and the breach action.
    """

    def __init__(self, config: LifecycleConfig | None = None) -> None:
        self.config = config or LifecycleConfig()
        if self.config.decay_action not in ("demote", "halt"):
            raise ValueError(
                f"decay_action: expected 'demote' or 'halt', found {self.config.decay_action!r}"
            )

    def __call__(self, store: StateStore, bar_time: int) -> list[dict[str, Any]]:
        """Check every running strategy if ``bar_time`` is a day's last bar; return events."""
        timeframe = store.get_meta("timeframe")
        if timeframe is None:
            return []
        interval_ms = timeframe_to_ms(timeframe)
        if (bar_time + interval_ms) // DAY_MS == bar_time // DAY_MS:
            return []
        events: list[dict[str, Any]] = []
        for row in store.strategies():
            events.extend(self.check_strategy(store, row, bar_time))
        return events

    def check_strategy(
        self, store: StateStore, row: dict[str, Any], bar_time: int
    ) -> list[dict[str, Any]]:
        """Check one strategy of the account; on a breach, demote or halt and return events."""
        strategy = str(row["strategy"])
        state, _ = lifecycle_store.current_state(store, strategy)
        baseline = lifecycle_store.get_baseline(store, strategy)
        if state not in RUNNING or baseline is None:
            return []
        record = lifecycle_store.track_record(store, strategy)
        if record is None:
            return []
        tracking = None
        costs = json.loads(row["spec"]).get("costs")
        if costs is not None:
            replayed = replayed_equity(store, strategy, CostModel.model_validate(costs))
            curve = lifecycle_store.strategy_equity(store, strategy)
            if replayed is not None and replayed > 0.0 and curve:
                tracking = abs(curve[-1][1] / replayed - 1.0)
        checks = decay_checks(record, baseline, tracking, self.config)
        failed = [check for check in checks if not check.passed]
        if not failed:
            return []
        reason = "decay: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        if self.config.decay_action == "halt":
            store.db.execute(
                "INSERT INTO halts (wall_ms, reason, active) VALUES (?, ?, 1)",
                (time.time_ns() // 1_000_000, f"{strategy} {reason}"),
            )
            event = store.add_event(
                "decay", f"{strategy} in {state}: {reason}; account halted", bar_time
            )
            return [event]
        decision = Decision(strategy, state, DEMOTION[state], True, reason, checks)
        lifecycle_store.record_transition(store, decision, "monitor", reason, bar_time)
        event = store.add_event(
            "decay",
            f"{strategy} demoted {state} -> {DEMOTION[state]}: {reason}",
            bar_time,
            strategy=strategy,
            from_state=state,
            to_state=DEMOTION[state],
        )
        return [event]
