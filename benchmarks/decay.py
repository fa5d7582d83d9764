"""The decay monitor's false-alarm rate and detection delay (python -m benchmarks.decay).

Strategies: random typed trees whose 180-day holdout on a drifting synthetic market (1h bars,
+0.04 %/h drift, 0.6 %/h volatility) has a daily Sharpe >= 0.1 — weak promoted strategies.
Each one's baseline is built from its holdout exactly as ``evolve deploy`` builds it
(``execution.lifecycle.baseline_from_returns``: moments and the bootstrap 99 % drawdown).

1. False alarms, undecayed: (a) the strategy's own holdout replayed as is; (b) stationary-
   bootstrap replays of the holdout (same block length rule as the promotion gauntlet), 360
   days each; (c) the rule traded on fresh markets of the same regime, 360 days each.
2. Detection delay, planted decay: fresh markets whose drift flips sign (the rule loses) or
   vanishes (the edge is gone) after 60 undecayed days; delay = alarm day - 60 (an alarm
   before the switch counts as a false alarm, not a detection).

CUSUM paths for the threshold grid come from the walk-minus-running-minimum identity; at the
default threshold every alarm is checked against ``fitness.stats.monitoring.lower_cusum``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fitness
import primitives
from benchmarks._synthetic import bars_from_log_returns
from execution.lifecycle import LifecycleConfig, baseline_from_returns
from fitness.stats.bootstrap import optimal_block_length, stationary_bootstrap_indices
from fitness.stats.monitoring import lower_cusum
from fitness.stats.sharpe import sample_moments

DRIFT, VOLATILITY = 0.0004, 0.006
WARMUP_DAYS, HOLDOUT_DAYS, HORIZON_DAYS, ONSET_DAYS, DECAYED_DAYS = 30, 180, 360, 60, 180
THRESHOLDS = (6.0, 8.0, 10.0, 12.0, 15.0)
CONFIG = LifecycleConfig()


def _market(seed: int, legs: list[tuple[int, float]]) -> fitness.BarSeries:
    rng = np.random.default_rng(seed)
    log_returns = np.concatenate([rng.normal(drift, VOLATILITY, days * 24) for days, drift in legs])
    return bars_from_log_returns(log_returns, rng, symbol="DECAYUSDT", source=f"decay {seed}")


def _daily(text: str, series: fitness.BarSeries, from_day: int) -> np.ndarray:
    target = primitives.compile(text).positions(series)
    first = from_day * 24
    result = fitness.simulate(
        series.open[first:], series.close[first:], series.funding_rate[first:],
        target[first:], fitness.CostModel(funding=True),
    )  # fmt: skip
    with np.errstate(divide="ignore"):  # a ruin bar returns -1: its day compounds to -1
        growth = np.log1p(result.returns).reshape(-1, 24).sum(axis=1)
    return np.expm1(growth)


def _cusum_paths(returns: np.ndarray, mean: float, std: float) -> np.ndarray:
    steps = -(returns - mean) / std - CONFIG.cusum_k
    walk = np.concatenate([np.zeros((steps.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    return (walk - np.minimum.accumulate(walk, axis=1))[:, 1:]


def _first(mask: np.ndarray) -> np.ndarray:
    """Return the first True column of each row (-1: none)."""
    hit = mask.any(axis=1)
    return np.where(hit, mask.argmax(axis=1), -1)


def _alarms(returns: np.ndarray, baseline: object) -> dict[str, np.ndarray]:
    """Return the first alarm day of each row per check (cusum at each h, drawdown)."""
    mean, std = baseline.mean_daily, baseline.std_daily  # type: ignore[attr-defined]
    paths = _cusum_paths(returns, mean, std)
    out = {f"cusum h={h:g}": _first(paths > h) for h in THRESHOLDS}
    equity = np.cumprod(1.0 + returns, axis=1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), 1.0)
    out["drawdown"] = _first(1.0 - equity / peak > baseline.drawdown_limit)  # type: ignore[attr-defined]
    default = _first(paths > CONFIG.cusum_h)
    for row in range(min(returns.shape[0], 20)):  # the monitor's own code agrees
        alarm = lower_cusum(returns[row], mean, std, k=CONFIG.cusum_k, h=CONFIG.cusum_h)
        assert (alarm.alarm_index if alarm.alarm_index is not None else -1) == default[row]
    out["monitor"] = np.where(
        (default >= 0) & ((out["drawdown"] < 0) | (default <= out["drawdown"])),
        default,
        out["drawdown"],
    )
    return out


def _strategies(n_wanted: int, rng: np.random.Generator) -> list[tuple[str, int, np.ndarray]]:
    found: list[tuple[str, int, np.ndarray]] = []
    tried = 0
    while len(found) < n_wanted and tried < 40 * n_wanted:
        tried += 1
        text = primitives.compile(primitives.random_tree(rng)).text
        seed = 1000 + tried
        series = _market(seed, [(WARMUP_DAYS + HOLDOUT_DAYS, DRIFT)])
        daily = _daily(text, series, WARMUP_DAYS)
        if daily.std() > 0 and sample_moments(daily).sharpe >= 0.1:
            found.append((text, seed, daily))
    return found


DESCRIPTION = """\
The decay monitor's false-alarm rate and detection delay: weak random-tree strategies
(holdout daily Sharpe >= 0.1 on a drifting synthetic 1h market) replayed undecayed (own
holdout, bootstrap replays, fresh markets of the same regime) and on fresh markets whose
drift flips sign or vanishes after 60 days."""

EPILOG = """\
examples:
  python -m benchmarks.decay           30 strategies; 200 bootstrap and 10 fresh paths each
  python -m benchmarks.decay --quick   8 strategies; 50 bootstrap and 4 fresh paths each"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.decay",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer strategies and paths")
    args = parser.parse_args(argv)
    n_strategies, n_boot, n_fresh = (8, 50, 4) if args.quick else (30, 200, 10)
    rng = np.random.default_rng(2026)
    start = time.perf_counter()
    strategies = _strategies(n_strategies, rng)
    print(
        f"decay monitor: {len(strategies)} strategies (random trees, holdout daily Sharpe >= 0.1 "
        f"over {HOLDOUT_DAYS} days), k {CONFIG.cusum_k}, default h {CONFIG.cusum_h}, drawdown "
        f"limit = bootstrap {CONFIG.drawdown_quantile:.0%} of the holdout max drawdown"
    )
    own, boot, fresh, flipped, gone = [], [], [], [], []
    sharpes = []
    for index, (text, _seed, holdout) in enumerate(strategies):
        baseline = baseline_from_returns(holdout, "holdout", CONFIG)
        sharpes.append(baseline.sharpe_daily)
        own.append(_alarms(holdout[None, :], baseline))
        block = float(optimal_block_length(holdout))
        picks = stationary_bootstrap_indices(
            HOLDOUT_DAYS, max(1.0, block), rng, 2 * n_boot
        ).reshape(n_boot, 2 * HOLDOUT_DAYS)
        boot.append(_alarms(holdout[picks], baseline))
        same, up_down, up_flat = [], [], []
        for path in range(n_fresh):
            path_seed = 10_000 * (index + 1) + path
            legs = [(WARMUP_DAYS, DRIFT), (HORIZON_DAYS, DRIFT)]
            same.append(_daily(text, _market(path_seed, legs), WARMUP_DAYS))
            legs = [(WARMUP_DAYS + ONSET_DAYS, DRIFT), (DECAYED_DAYS, -DRIFT)]
            up_down.append(_daily(text, _market(path_seed, legs), WARMUP_DAYS))
            legs = [(WARMUP_DAYS + ONSET_DAYS, DRIFT), (DECAYED_DAYS, 0.0)]
            up_flat.append(_daily(text, _market(path_seed, legs), WARMUP_DAYS))
        fresh.append(_alarms(np.asarray(same), baseline))
        flipped.append(_alarms(np.asarray(up_down), baseline))
        gone.append(_alarms(np.asarray(up_flat), baseline))
    print(f"holdout daily Sharpe: median {np.median(sharpes):.3f}, range "
          f"{min(sharpes):.3f}..{max(sharpes):.3f}")  # fmt: skip
    checks = list(own[0])
    print("\n1. false-alarm rate, undecayed (share of paths with an alarm)")
    print(f"{'check':<14} {'own holdout':>12} {'bootstrap 360 d':>16} {'fresh 360 d':>12}")
    for name in checks:
        rates = [
            np.mean(np.concatenate([a[name] for a in group]) >= 0) for group in (own, boot, fresh)
        ]
        print(f"{name:<14} {rates[0]:>12.3f} {rates[1]:>16.3f} {rates[2]:>12.3f}")
    print(
        f"\n2. planted decay after {ONSET_DAYS} days: detection within {DECAYED_DAYS} days, "
        "delay in days"
    )
    print(f"{'check':<14} {'regime':<12} {'false':>6} {'detected':>9} {'median':>7} {'p90':>6}")
    for name in checks:
        for label, group in (("rule loses", flipped), ("edge gone", gone)):
            days = np.concatenate([a[name] for a in group])
            early = np.mean((days >= 0) & (days < ONSET_DAYS))
            delays = days[days >= ONSET_DAYS] - ONSET_DAYS
            detected = delays.size / days.size
            median = f"{np.median(delays):.0f}" if delays.size else "-"
            p90 = f"{np.quantile(delays, 0.9):.0f}" if delays.size else "-"
            print(f"{name:<14} {label:<12} {early:>6.3f} {detected:>9.3f} {median:>7} {p90:>6}")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
