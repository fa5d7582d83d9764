"""PromotionConfig: the brief's defaults, the [promotion] table, precedence and clear errors."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from evolve.config.promotion_config import PromotionConfig, load_promotion_config
from evolve.errors import ConfigError


def test_promotion_config_when_defaults_then_thresholds_of_the_issue() -> None:
    config = PromotionConfig()

    assert (config.dsr_min, config.psr_min, config.pbo_max) == (0.95, 0.95, None)
    assert (config.pbo_blocks, config.pbo_min_strategies) == (16, 16)
    assert (config.cost_stress_multiplier, config.cost_stress_psr_min) == (2.0, 0.95)
    assert (config.stability_min, config.concentration_psr_min) == (0.7, 0.9)
    assert (config.concentration_top_trades, config.cluster_correlation_min) == (0.05, 0.8)
    assert (config.confirmation_method, config.sharpe_variance) == ("holm", "estimation")
    assert (config.correlation_max, config.drawdown_budget) == (0.7, 0.30)
    assert config.spa_max_pvalue is None and config.null_percentile_min is None
    assert config.null_runs == 0 and config.null_block_days == 7 and config.seed == 0


def test_promotion_config_when_assigned_then_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        PromotionConfig().dsr_min = 0.5  # type: ignore[misc]


def test_thresholds_when_listed_then_renderer_keys_present() -> None:
    thresholds = PromotionConfig(spa_max_pvalue=0.05, pbo_max=0.2).thresholds()

    assert thresholds["cost_stress_multiplier"] == 2.0 and thresholds["drawdown_budget"] == 0.3
    assert thresholds["spa_max"] == 0.05 and thresholds["pbo_max"] == 0.2


def test_load_promotion_config_when_no_files_then_defaults() -> None:
    assert load_promotion_config() == PromotionConfig()


def test_load_promotion_config_when_file_has_promotion_table_then_it_applies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[gp]\npopulation = 3\n\n[promotion]\ndsr_min = 0.9\nseed = 7\n")

    config = load_promotion_config(None, path)

    assert config.dsr_min == 0.9 and config.seed == 7 and config.psr_min == 0.95


def test_load_promotion_config_when_run_config_and_file_then_file_wins_then_flags(
    tmp_path: Path,
) -> None:
    run_config = tmp_path / "config.toml"
    run_config.write_text("[promotion]\ndsr_min = 0.8\npbo_max = 0.3\n")
    override = tmp_path / "p.toml"
    override.write_text("[promotion]\ndsr_min = 0.9\n")

    config = load_promotion_config(run_config, override, overrides={"null_runs": 3, "seed": None})

    assert (config.dsr_min, config.pbo_max, config.null_runs, config.seed) == (0.9, 0.3, 3, 0)


def test_load_promotion_config_when_run_config_has_no_table_then_defaults(
    tmp_path: Path,
) -> None:
    run_config = tmp_path / "config.toml"
    run_config.write_text("[run]\nseed = 4\n")

    assert load_promotion_config(run_config) == PromotionConfig()


def test_load_promotion_config_when_unknown_key_then_config_error_naming_file_and_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[promotion]\ndsr_minimum = 0.9\n")

    with pytest.raises(ConfigError) as caught:
        load_promotion_config(None, path)

    message = str(caught.value)
    assert "p.toml" in message and "promotion.dsr_minimum" in message and "dsr_min" in message


def test_load_promotion_config_when_value_out_of_range_then_config_error_with_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[promotion]\npbo_max = 1.5\n")

    with pytest.raises(ConfigError, match=r"promotion\.pbo_max.*found 1\.5"):
        load_promotion_config(None, path)


def test_load_promotion_config_when_table_is_not_a_table_then_config_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.toml"
    path.write_text('promotion = "strict"\n')

    with pytest.raises(ConfigError, match="must be a table"):
        load_promotion_config(None, path)


def test_load_promotion_config_when_file_missing_or_invalid_then_config_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_promotion_config(None, tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[promotion\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_promotion_config(None, broken)


def test_load_promotion_config_when_flag_invalid_then_config_error_naming_command_line() -> None:
    with pytest.raises(ConfigError, match=r"command line: promotion\.null_runs"):
        load_promotion_config(overrides={"null_runs": -1})
