"""Lifecycle decisions: one rung at a time, refusals name the evidence, free demotion, retire."""

from __future__ import annotations

import numpy as np
import pytest

from execution.errors import LifecycleError
from execution.lifecycle import (
    Baseline,
    LifecycleConfig,
    TrackRecord,
    baseline_from_returns,
    decay_checks,
    decide_deploy,
    decide_retire,
    required_days,
)

BASELINE = Baseline(
    n_days=200,
    mean_daily=0.004,
    std_daily=0.02,
    sharpe_daily=0.2,
    skew=0.0,
    kurtosis=3.0,
    drawdown_limit=0.15,
    drawdown_quantile=0.99,
    source="test",
)
CONFIG = LifecycleConfig()


def _record(returns: np.ndarray, state: str = "paper", **costs: float) -> TrackRecord:
    equity = 1000.0 * np.cumprod(1.0 + returns)
    return TrackRecord(state, 0, tuple(returns.tolist()), tuple(equity.tolist()), 1000.0, **costs)


def _deploy(current: str, target: str, record: TrackRecord | None = None, **kw: object):
    options = {"spec_state": "promoted", "baseline": BASELINE, "record": record, "config": CONFIG}
    options.update(kw)
    return decide_deploy("s1", current, target, **options)  # type: ignore[arg-type]


def test_required_days_when_gaussian_sharpe_0_1_then_mintrl_273_capped_by_config() -> None:
    weak = Baseline(**{**BASELINE.to_dict(), "sharpe_daily": 0.1})
    assert required_days(weak, LifecycleConfig(max_record_days=400)) == 273
    assert required_days(weak, CONFIG) == 90
    losing = Baseline(**{**BASELINE.to_dict(), "sharpe_daily": -0.1})
    assert required_days(losing, CONFIG) == 90
    strong = Baseline(**{**BASELINE.to_dict(), "sharpe_daily": 2.0})
    assert required_days(strong, CONFIG) == CONFIG.min_record_days


def test_decide_deploy_when_promoted_to_paper_with_baseline_then_allowed() -> None:
    decision = _deploy("promoted", "paper")
    assert decision.allowed and [c.name for c in decision.checks] == ["promoted", "baseline"]


def test_decide_deploy_when_no_baseline_or_not_promoted_then_denied_naming_it() -> None:
    assert "baseline" in _deploy("promoted", "paper", baseline=None).reason
    decision = _deploy("promoted", "paper", spec_state="candidate")
    assert not decision.allowed and "promoted: spec state 'candidate'" in decision.reason


def test_decide_deploy_when_skipping_a_rung_or_retired_then_denied() -> None:
    assert "skips paper, demo" in _deploy("promoted", "live").reason
    assert "retired" in _deploy("retired", "paper").reason
    assert "already in paper" in _deploy("paper", "paper").reason


def test_decide_deploy_when_moving_down_then_allowed_without_evidence() -> None:
    decision = _deploy("live", "paper", baseline=None)
    assert decision.allowed and decision.checks == ()


def test_decide_deploy_when_record_short_then_denied_naming_record_length() -> None:
    rng = np.random.default_rng(0)
    decision = _deploy("paper", "demo", _record(rng.normal(0.004, 0.02, 10)))
    assert not decision.allowed
    assert "record_length: 10 complete days in paper, need" in decision.reason


def test_decide_deploy_when_record_long_and_consistent_then_allowed() -> None:
    rng = np.random.default_rng(1)
    need = required_days(BASELINE, CONFIG)
    decision = _deploy("paper", "demo", _record(rng.normal(0.004, 0.02, need)))
    assert decision.allowed, decision.reason
    assert {c.name for c in decision.checks} >= {"record_length", "consistency", "slippage"}


def test_decide_deploy_when_record_loses_then_denied_naming_consistency() -> None:
    rng = np.random.default_rng(2)
    decision = _deploy("paper", "demo", _record(rng.normal(-0.004, 0.02, 90)))
    assert not decision.allowed and "consistency" in decision.reason
    assert "record_length" not in decision.reason


def test_decide_deploy_when_slippage_or_funding_beyond_model_then_denied() -> None:
    rng = np.random.default_rng(1)
    returns = rng.normal(0.004, 0.02, 90)
    slipped = _deploy("demo", "live", _record(returns, "demo", slippage_realised=3.0,
                                               slippage_modelled=1.0))  # fmt: skip
    assert not slipped.allowed and "slippage: realised slippage 3" in slipped.reason
    funded = _deploy("demo", "live", _record(returns, "demo", funding_realised=5.0,
                                              funding_modelled=1.0))  # fmt: skip
    assert not funded.allowed and "funding" in funded.reason


def test_decide_retire_when_any_state_then_allowed_once() -> None:
    assert decide_retire("s1", "live").allowed
    assert not decide_retire("s1", "retired").allowed


def test_baseline_from_returns_when_too_short_then_lifecycle_error() -> None:
    with pytest.raises(LifecycleError, match="at least 9 daily returns"):
        baseline_from_returns(np.zeros(5), "x", CONFIG)
    rng = np.random.default_rng(4)
    baseline = baseline_from_returns(rng.normal(0.003, 0.02, 120), "x", CONFIG)
    assert 0.0 < baseline.drawdown_limit < 1.0 and baseline.n_days == 120


def test_decay_checks_when_returns_collapse_then_cusum_breaches() -> None:
    failing = decay_checks(_record(np.full(40, -0.01)), BASELINE, 0.0, CONFIG)
    assert {c.name for c in failing if not c.passed} >= {"cusum"}
    healthy = decay_checks(_record(np.full(40, 0.004)), BASELINE, 0.0, CONFIG)
    assert all(c.passed for c in healthy)
    tracked = decay_checks(_record(np.full(5, 0.004)), BASELINE, 0.05, CONFIG)
    assert [c.name for c in tracked if not c.passed] == ["tracking"]
