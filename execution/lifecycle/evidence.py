"""The lifecycle's decisions: pure functions from records to an allowed or denied move.

Moving up one rung needs evidence from the state being left (DESIGN §8):

- ``record_length``: complete days in that state >= min(cap, max(floor, MinTRL)), MinTRL at
  ``confidence`` for the backtest's daily Sharpe, skewness and kurtosis;
- ``consistency``: P[realised Sharpe this low | backtest] >= ``min_consistency``;
- ``slippage``: realised / modelled slippage cost <= ``max_slippage_ratio``;
- ``funding``: |realised - modelled| funding within ``funding_tolerance``.

``promoted → paper`` reads the research evidence instead (the spec is promoted, its holdout
baseline exists). Moving down (demotion) and retiring need no evidence; skipping a rung, leaving
``retired`` or staying put are refused. Every refusal is a :class:`Decision` with a reason.
"""

from __future__ import annotations

import math

import numpy as np

from execution.errors import LifecycleError
from execution.lifecycle.records import (
    DEPLOY_TARGETS,
    LADDER,
    PROMOTED,
    RETIRED,
    Baseline,
    Decision,
    EvidenceCheck,
    LifecycleConfig,
    TrackRecord,
)
from fitness.stats.monitoring import sharpe_consistency
from fitness.stats.sharpe import (
    bootstrap_drawdown_quantile,
    min_track_record_length,
    sample_moments,
)


def required_days(baseline: Baseline, config: LifecycleConfig) -> int:
    """Return the record length a move up needs, in days (MinTRL, floored and capped)."""
    mintrl = min_track_record_length(
        baseline.sharpe_daily, baseline.skew, baseline.kurtosis, 0.0, config.confidence
    )
    wanted = config.max_record_days if not math.isfinite(mintrl) else math.ceil(mintrl)
    return int(min(config.max_record_days, max(config.min_record_days, wanted)))


def record_checks(
    record: TrackRecord, baseline: Baseline, config: LifecycleConfig
) -> tuple[EvidenceCheck, ...]:
    """Return the four checks of a record against its baseline (see the module docstring)."""
    need = required_days(baseline, config)
    checks = [
        EvidenceCheck(
            "record_length",
            record.n_days >= need,
            float(record.n_days),
            float(need),
            f"{record.n_days} complete days in {record.state}, need {need} (MinTRL at "
            f"{config.confidence:.0%} for daily Sharpe {baseline.sharpe_daily:.4f}, floor "
            f"{config.min_record_days}, cap {config.max_record_days})",
        )
    ]
    if record.n_days >= 2:
        sr = sample_moments(np.asarray(record.daily_returns)).sharpe
        p = sharpe_consistency(
            sr, record.n_days, baseline.sharpe_daily, baseline.skew, baseline.kurtosis
        )
        checks.append(
            EvidenceCheck(
                "consistency",
                p >= config.min_consistency,
                p,
                config.min_consistency,
                f"realised daily Sharpe {sr:.4f} over {record.n_days} days vs backtest "
                f"{baseline.sharpe_daily:.4f}: probability {p:.4f} (need >= "
                f"{config.min_consistency})",
            )
        )
    else:
        checks.append(
            EvidenceCheck(
                "consistency",
                False,
                None,
                config.min_consistency,
                f"{record.n_days} complete days: at least 2 are needed for a realised Sharpe",
            )
        )
    checks.append(_slippage_check(record, config))
    checks.append(_funding_check(record, config))
    return tuple(checks)


def _slippage_check(record: TrackRecord, config: LifecycleConfig) -> EvidenceCheck:
    modelled, realised = record.slippage_modelled, record.slippage_realised
    ratio = 1.0 if modelled == 0.0 and realised == 0.0 else realised / max(modelled, 1e-12)
    return EvidenceCheck(
        "slippage",
        ratio <= config.max_slippage_ratio,
        ratio,
        config.max_slippage_ratio,
        f"realised slippage {realised:.6g} vs modelled {modelled:.6g} (ratio {ratio:.3f}, "
        f"allowed <= {config.max_slippage_ratio})",
    )


def _funding_check(record: TrackRecord, config: LifecycleConfig) -> EvidenceCheck:
    modelled, realised = record.funding_modelled, record.funding_realised
    allowed = (
        config.funding_tolerance * abs(modelled)
        + config.funding_tolerance_equity * record.start_equity
    )
    gap = abs(realised - modelled)
    return EvidenceCheck(
        "funding",
        gap <= allowed,
        gap,
        allowed,
        f"realised funding {realised:.6g} vs modelled {modelled:.6g} (difference {gap:.6g}, "
        f"allowed {allowed:.6g})",
    )


def decide_deploy(
    strategy: str,
    current: str,
    target: str,
    *,
    spec_state: str,
    baseline: Baseline | None,
    record: TrackRecord | None,
    config: LifecycleConfig,
) -> Decision:
    """Return whether ``strategy`` may move from ``current`` to ``target`` (``evolve deploy``).

    Parameters
    ----------
    current : str
        The state the account's file holds for the strategy (``promoted`` when none).
    target : str
        ``paper``, ``demo`` or ``live``.
    spec_state : str
        The spec file's own ``state`` (research outcome: must be ``promoted``).
    baseline : Baseline or None
        The holdout baseline (required to move up).
    record : TrackRecord or None
        The record in ``current`` (required to move up from paper or demo).
    """

    def deny(reason: str, checks: tuple[EvidenceCheck, ...] = ()) -> Decision:
        return Decision(strategy, current, target, False, reason, checks)

    if target not in DEPLOY_TARGETS:
        return deny(f"--to {target!r}: expected one of {', '.join(DEPLOY_TARGETS)}")
    if current == RETIRED:
        return deny(f"{strategy} is retired (terminal); promote a new spec instead")
    if current == target:
        return deny(f"{strategy} is already in {target}")
    rung, goal = LADDER.index(current), LADDER.index(target)
    if goal < rung:
        return Decision(strategy, current, target, True, f"demotion {current} -> {target}")
    if goal > rung + 1:
        return deny(
            f"{strategy} is in {current}: a move to {target} skips "
            f"{', '.join(LADDER[rung + 1 : goal])} (expected one rung at a time: deploy to "
            f"{LADDER[rung + 1]} first)"
        )
    research = EvidenceCheck(
        "promoted",
        spec_state == PROMOTED,
        None,
        None,
        f"spec state {spec_state!r} (expected 'promoted': the promotion gauntlet passed)",
    )
    have_baseline = EvidenceCheck(
        "baseline",
        baseline is not None,
        None if baseline is None else float(baseline.n_days),
        None,
        "no holdout baseline (expected the spec's holdout daily returns: keep the spec in its "
        "run directory, or pass --baseline DATASET [--baseline-from T] [--baseline-to T])"
        if baseline is None
        else f"holdout baseline: {baseline.n_days} days from {baseline.source}",
    )
    checks: tuple[EvidenceCheck, ...] = (research, have_baseline)
    if current != PROMOTED:
        if baseline is None or record is None:
            missing = EvidenceCheck(
                "record_length", False, 0.0, None, f"no track record in {current}"
            )
            checks = (*checks, missing)
        else:
            checks = (*checks, *record_checks(record, baseline, config))
    failed = [check for check in checks if not check.passed]
    if failed:
        reason = "; ".join(f"{check.name}: {check.detail}" for check in failed)
        return deny(f"missing evidence for {current} -> {target}: {reason}", checks)
    return Decision(strategy, current, target, True, f"evidence for {current} -> {target}", checks)


def decide_retire(strategy: str, current: str) -> Decision:
    """Return whether ``strategy`` may be retired (from any state but ``retired``)."""
    if current == RETIRED:
        return Decision(strategy, current, RETIRED, False, f"{strategy} is already retired")
    return Decision(strategy, current, RETIRED, True, "retired")


def baseline_from_returns(
    daily_returns: np.ndarray, source: str, config: LifecycleConfig
) -> Baseline:
    """Return the :class:`Baseline` of a holdout's daily returns (at least 9 days).

    Raises
    ------
    LifecycleError
        When there are fewer than 9 days or the returns have no deviation.
    """
    values = np.asarray(daily_returns, dtype=np.float64)
    if values.size < 9:
        raise LifecycleError(
            f"baseline from {source}: expected at least 9 daily returns, found {values.size}"
        )
    std = float(np.std(values, ddof=1))
    if not std > 0.0:
        raise LifecycleError(f"baseline from {source}: the daily returns are constant")
    moments = sample_moments(values)
    drawdown = bootstrap_drawdown_quantile(
        values,
        config.drawdown_quantile,
        config.n_bootstrap,
        rng=np.random.default_rng(config.seed),
    )
    return Baseline(
        n_days=int(values.size),
        mean_daily=float(values.mean()),
        std_daily=std,
        sharpe_daily=moments.sharpe,
        skew=moments.skew,
        kurtosis=moments.kurtosis,
        drawdown_limit=drawdown,
        drawdown_quantile=config.drawdown_quantile,
        source=source,
    )
