"""The promotion gauntlet's configuration: every gate threshold, the resampling budgets, the seed.

``PromotionConfig`` is a frozen pydantic model (unknown keys are errors). It is read from a
``[promotion]`` table: first the run's own ``config.toml`` (when the run configuration carries
one), then an optional ``--config FILE`` laid over it, then command-line flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evolve.config.toml_files import read_toml, section_table, validate_section

SECTION = "promotion"


class PromotionConfig(BaseModel):
    """Thresholds and budgets of ``evolve promote`` (defaults: STATISTICS.md §9).

    Every Sharpe ratio behind these gates is per day on the run's daily grid; probabilities
    and shares are fractions in [0, 1]; ``drawdown_budget`` is a fraction of peak equity.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    dsr_min: float = Field(
        default=0.95,
        ge=0.0,
        le=1.0,
        description="selection stage: DSR on the selection sample (Bailey & López de Prado's "
        "decision rule; calibrated in benchmarks/RESULTS.md)",
    )
    selection_sample: Literal["validation", "stitched"] = Field(
        default="stitched",
        description="the selection stage's sample: 'stitched' = the discovery+validation "
        "record (first discovery bar to the end of validation), 'validation' = validation only",
    )
    psr_min: float = Field(
        default=0.95,
        ge=0.0,
        le=1.0,
        description="confirmation stage: holdout PSR(0) at family-wise level 1 - psr_min",
    )
    confirmation_method: Literal["holm", "sidak"] = Field(
        default="holm", description="family-wise correction over the candidate clusters"
    )
    confirmation_family: Literal["selected", "all"] = Field(
        default="selected",
        description="which candidate clusters the holdout correction counts: 'selected' = "
        "those with a member that passed the selection stage (the others are never taken to "
        "the holdout), 'all' = every cluster of the hall of fame",
    )
    cluster_correlation_min: float = Field(
        default=0.8,
        gt=-1.0,
        le=1.0,
        description="validation daily-return correlation joining a candidate to a cluster",
    )
    pbo_max: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="gate the probability of backtest overfitting at this maximum (None: "
        "report it; the holdout confirmation bounds false promotions, benchmarks/RESULTS.md)",
    )
    pbo_blocks: int = Field(default=16, ge=2, le=20, description="CSCV blocks S (even)")
    pbo_min_strategies: int = Field(
        default=16, ge=2, description="PBO columns: candidates, topped up with lineage trials"
    )
    cost_stress_multiplier: float = Field(
        default=2.0, ge=1.0, le=3.0, description="fees and slippage multiplied by this"
    )
    cost_stress_psr_min: float = Field(
        default=0.95, ge=0.0, le=1.0, description="holdout PSR(0) at stressed costs"
    )
    stability_min: float = Field(
        default=0.7, description="median perturbed robust score / own score"
    )
    concentration_psr_min: float = Field(
        default=0.9, ge=0.0, le=1.0, description="holdout PSR(0) with the best month removed"
    )
    concentration_top_trades: float = Field(
        default=0.05,
        ge=0.0,
        lt=1.0,
        description="share of best trades whose removal must leave a positive P&L",
    )
    correlation_max: float = Field(
        default=0.7, gt=-1.0, le=1.0, description="daily-return correlation with promoted ones"
    )
    drawdown_budget: float = Field(
        default=0.30, gt=0.0, le=1.0, description="bootstrap drawdown quantile allowed"
    )
    drawdown_quantile: float = Field(default=0.95, gt=0.0, lt=1.0)
    min_trl_confidence: float = Field(
        default=0.95, gt=0.0, lt=1.0, description="confidence of MinTRL on per-trade returns"
    )
    bootstrap_samples: int = Field(
        default=1000, ge=100, le=100_000, description="resamples of SPA and the drawdown"
    )
    spa_max_pvalue: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="gate SPA p-values at this level (None: report)"
    )
    null_percentile_min: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="gate the null-model percentile (None: report)"
    )
    null_runs: int = Field(default=0, ge=0, le=1000, description="surrogate searches (0 = off)")
    null_block_days: int = Field(default=7, ge=1, description="surrogate bootstrap block, days")
    volatility_window_days: int = Field(
        default=30, ge=2, description="trailing window of the volatility regimes"
    )
    trials_correlation_threshold: float = Field(
        default=0.8, gt=-1.0, le=1.0, description="clustering of trials into effective trials"
    )
    sharpe_variance: Literal["trials", "estimation"] = Field(
        default="estimation",
        description="V[SR_n] of the DSR: 'estimation' = the trial leaders' mean estimation "
        "variance (the dispersion zero-skill trials would show; a departure from STATISTICS.md "
        "§1.3, measured in benchmarks/RESULTS.md); 'trials' = the cross-sectional variance of "
        "their Sharpe ratios (§1.3), which costs and exposure to a real edge widen",
    )
    probe_copies: int = Field(
        default=16, ge=1, description="perturbed copies when a candidate has no stability"
    )
    max_lineage_depth: int = Field(default=3, ge=0, description="ancestors in the report")
    seed: int = Field(default=0, ge=0, description="seed of every resampling and probe")

    def thresholds(self) -> dict[str, float | None]:
        """Return the thresholds as the evidence document lists them."""
        return {
            "dsr_min": self.dsr_min,
            "psr_min": self.psr_min,
            "pbo_max": self.pbo_max,
            "spa_max": self.spa_max_pvalue,
            "cost_stress_psr_min": self.cost_stress_psr_min,
            "cost_stress_multiplier": self.cost_stress_multiplier,
            "stability_min": self.stability_min,
            "concentration_psr_min": self.concentration_psr_min,
            "concentration_top_trades": self.concentration_top_trades,
            "cluster_correlation_min": self.cluster_correlation_min,
            "correlation_max": self.correlation_max,
            "drawdown_budget": self.drawdown_budget,
            "drawdown_quantile": self.drawdown_quantile,
            "min_trl_confidence": self.min_trl_confidence,
            "null_percentile_min": self.null_percentile_min,
        }


def load_promotion_config(
    run_config_path: Path | None = None,
    path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> PromotionConfig:
    """Return the promotion configuration: defaults < run's config.toml < ``path`` < overrides.

    Parameters
    ----------
    run_config_path : Path, optional
        The run's ``config.toml``; its ``[promotion]`` table, when present, is the base.
    path : Path, optional
        A TOML file (``--config``); only its ``[promotion]`` table is read, other tables are
        ignored (a run configuration file may be passed as is).
    overrides : mapping, optional
        Keys of :class:`PromotionConfig` from command-line flags (None values are skipped).

    Raises
    ------
    ConfigError
        One line naming the file, ``promotion.<key>``, what was expected and what was found.
    """
    values: dict[str, Any] = {}
    if run_config_path is not None and Path(run_config_path).is_file():
        values.update(section_table(read_toml(run_config_path), SECTION, str(run_config_path)))
        validate_section(PromotionConfig, values, SECTION, str(run_config_path))
    where = "promotion configuration"
    if path is not None:
        values.update(section_table(read_toml(path), SECTION, str(path)))
        where = str(path)
        validate_section(PromotionConfig, values, SECTION, where)
    if overrides:
        values.update({key: value for key, value in overrides.items() if value is not None})
        where = "command line"
    return validate_section(PromotionConfig, values, SECTION, where)
