"""Lifecycle value objects: states, the backtest baseline, a track record, checks and decisions.

States (DESIGN §8): ``promoted → paper → demo → live``, ``retired`` from any of them; a
demotion moves down. The current state of a strategy is a value in the account's state file
(the latest ``lifecycle_transitions`` row), never in the spec file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PROMOTED, PAPER, DEMO, LIVE, RETIRED = "promoted", "paper", "demo", "live", "retired"
LADDER = (PROMOTED, PAPER, DEMO, LIVE)
"""The states a strategy climbs, in order; ``retired`` is terminal."""
RUNNING = (PAPER, DEMO, LIVE)
"""States in which an account trades the strategy (the decay monitor watches these)."""
DEMOTION = {LIVE: PAPER, DEMO: PAPER, PAPER: PROMOTED}
"""Where a decay breach sends a strategy (one step down to shadow trading; paper stops)."""
DEPLOY_TARGETS = (PAPER, DEMO, LIVE)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the backtest promised, from the spec's holdout daily returns.

    Attributes
    ----------
    n_days : int
        Holdout days behind the moments.
    mean_daily, std_daily : float
        Mean and sample deviation (ddof=1) of daily returns (fractions).
    sharpe_daily, skew, kurtosis : float
        Per-day Sharpe, skewness and non-excess kurtosis.
    drawdown_limit : float
        Stationary-bootstrap quantile (``drawdown_quantile``) of the holdout's max drawdown.
    drawdown_quantile : float
    source : str
        Where the returns came from (run holdout, or a dataset span).
    """

    n_days: int
    mean_daily: float
    std_daily: float
    sharpe_daily: float
    skew: float
    kurtosis: float
    drawdown_limit: float
    drawdown_quantile: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Baseline:
        """Rebuild a baseline written by :meth:`to_dict`."""
        return cls(**values)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """A strategy's realised record in its current state, read from the account's state file.

    Attributes
    ----------
    state : str
        The state the record was earned in.
    entered_bar_time : int or None
        Last bar processed when the state was entered (None: before the account's first bar).
    daily_returns : tuple of float
        Complete UTC days since entering, compounded from the strategy's marks (all symbols).
    daily_equity : tuple of float
        The strategy's equity at each of those days' ends.
    start_equity : float
        Equity at entry (the base of the first return).
    slippage_realised, slippage_modelled : float
        Slippage cost of the fills since entry: as realised, and as the cost model gives it
        (equal in paper, where fills follow the model).
    funding_realised, funding_modelled : float
        Funding paid since entry: as charged (venue-reported live), and by the model.
    """

    state: str
    entered_bar_time: int | None
    daily_returns: tuple[float, ...]
    daily_equity: tuple[float, ...]
    start_equity: float
    slippage_realised: float = 0.0
    slippage_modelled: float = 0.0
    funding_realised: float = 0.0
    funding_modelled: float = 0.0

    @property
    def n_days(self) -> int:
        """Return the number of complete days in the record."""
        return len(self.daily_returns)


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    """One piece of evidence: what was measured, against what, and whether it passed."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one requested move: allowed, or denied with a reason naming the evidence."""

    strategy: str
    from_state: str
    to_state: str
    allowed: bool
    reason: str
    checks: tuple[EvidenceCheck, ...] = field(default_factory=tuple)

    def evidence(self) -> list[dict[str, Any]]:
        """Return the checks as JSON-ready dicts (the transition row's evidence)."""
        return [check.to_dict() for check in self.checks]


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """Evidence thresholds for moving up, and the decay monitor's settings.

    Attributes
    ----------
    confidence : float
        MinTRL confidence: the record must be long enough for PSR(0) = ``confidence`` at the
        backtest's daily Sharpe and shape.
    min_record_days, max_record_days : int
        Floor and cap of the required record length, in days (MinTRL is capped: a weak
        holdout Sharpe would otherwise ask for years).
    min_consistency : float
        Least allowed probability of a realised Sharpe this low under the backtest.
    max_slippage_ratio : float
        Largest allowed realised / modelled slippage cost.
    funding_tolerance : float
        Allowed |realised - modelled| funding, as a fraction of |modelled| plus
        ``funding_tolerance_equity`` of the start equity.
    funding_tolerance_equity : float
    cusum_k, cusum_h : float
        Lower-CUSUM reference value and threshold on standardised daily returns.
    drawdown_quantile : float
        Bootstrap quantile of the holdout's max drawdown a running drawdown must stay under.
    max_tracking_error : float
        Largest allowed ``|realised / replayed - 1|`` of the strategy's equity.
    decay_action : str
        ``"demote"`` (one step down, see ``DEMOTION``) or ``"halt"`` (the account's halt row).
    n_bootstrap, seed : int
        Resamples and seed of the drawdown bootstrap.
    """

    confidence: float = 0.95
    min_record_days: int = 7
    max_record_days: int = 90
    min_consistency: float = 0.05
    max_slippage_ratio: float = 1.5
    funding_tolerance: float = 0.5
    funding_tolerance_equity: float = 1e-4
    cusum_k: float = 0.25
    cusum_h: float = 12.0
    drawdown_quantile: float = 0.99
    max_tracking_error: float = 0.02
    decay_action: str = "demote"
    n_bootstrap: int = 1000
    seed: int = 0
