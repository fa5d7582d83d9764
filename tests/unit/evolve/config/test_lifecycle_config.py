"""LifecycleSettings: the defaults of execution's LifecycleConfig, the [lifecycle] table, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evolve.config import LifecycleSettings, load_lifecycle_config
from evolve.errors import ConfigError
from execution.lifecycle import LifecycleConfig


def test_lifecycle_settings_when_defaults_then_equal_to_the_execution_record() -> None:
    # one to one: every field, same default (the CLI builds LifecycleConfig(**model_dump()))
    assert LifecycleSettings().model_dump() == dataclasses.asdict(LifecycleConfig())


def test_load_lifecycle_config_when_table_and_flags_then_flags_win(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[run]\nseed = 3\n[lifecycle]\nmin_record_days = 3\ndecay_action = "halt"\n', "utf-8"
    )

    config = load_lifecycle_config(path, overrides={"min_record_days": 5, "cusum_h": None})

    assert (config.min_record_days, config.decay_action, config.cusum_h) == (5, "halt", 12.0)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("min_consistency = 1.5", "lifecycle.min_consistency: Input should be less than or equal"),
        ('decay_action = "stop"', "lifecycle.decay_action: Input should be 'demote' or 'halt'"),
        ("cusum_k = -1.0", "lifecycle.cusum_k"),
        ("max_record_day = 9", "unknown key lifecycle.max_record_day; expected one of"),
        ("min_record_days = 9\nmax_record_days = 3", "max_record_days (3) must be >="),
    ],
)
def test_load_lifecycle_config_when_bad_value_then_config_error_names_key(
    tmp_path: Path, table: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[lifecycle]\n{table}\n", "utf-8")

    with pytest.raises(ConfigError, match=r"bad\.toml") as error:
        load_lifecycle_config(path)

    assert expected in str(error.value)


def test_deploy_when_config_value_bad_then_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evolve.cli.app import main

    path = tmp_path / "bad.toml"
    path.write_text("[lifecycle]\nmax_slippage_ratio = 0\n", "utf-8")
    spec = tmp_path / "missing.json"

    code = main(["deploy", str(spec), "--to", "paper", "--config", str(path)])

    assert code == 2
    assert "lifecycle.max_slippage_ratio: Input should be greater than 0" in capsys.readouterr().err
