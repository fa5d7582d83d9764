"""Run configuration: precedence, readable errors, resolved TOML round trip, result digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.config import (
    NON_RESULT_KEYS,
    RunConfig,
    environment_overrides,
    load_config,
    read_resolved_config,
)
from evolve.errors import ConfigError
from fitness import CostModel


def write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_load_config_when_no_source_then_documented_defaults() -> None:
    config = load_config(environ={})

    assert config == RunConfig()
    assert config.data.datasets == ("bundled/BTCUSDT-1h", "bundled/ETHUSDT-1h")
    assert config.objectives.names == ("robust_score", "worst_drawdown", "complexity")
    assert config.run.runs_root == "runs"
    assert config.costs == CostModel()


def test_load_config_when_file_env_and_flags_then_flags_win_over_env_over_file(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "run.toml", "[run]\nseed = 1\nworkers = 3\n[gp]\npopulation = 40\n")

    from_file = load_config(path, environ={})
    with_env = load_config(path, environ={"EVOLVE_SEED": "2"})
    with_flag = load_config(path, environ={"EVOLVE_SEED": "2"}, overrides={"run.seed": 5})

    assert (from_file.run.seed, from_file.run.workers, from_file.gp.population) == (1, 3, 40)
    assert with_env.run.seed == 2 and with_env.run.workers == 3
    assert with_flag.run.seed == 5


def test_load_config_when_base_given_then_file_and_flags_lay_over_it(tmp_path: Path) -> None:
    base = RunConfig(gp={"population": 30, "generations": 4}).to_dict()

    config = load_config(base=base, environ={}, overrides={"gp.generations": 9})

    assert config.gp.population == 30 and config.gp.generations == 9


def test_load_config_when_unknown_key_then_error_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "[gp]\npopulaton = 40\n")

    with pytest.raises(ConfigError, match=r"bad\.toml: unknown key 'gp\.populaton'"):
        load_config(path, environ={})


def test_load_config_when_unknown_section_then_error_lists_sections(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "[evolution]\npopulation = 40\n")

    with pytest.raises(ConfigError, match=r"unknown section \[evolution\].*gp"):
        load_config(path, environ={})


def test_load_config_when_value_out_of_range_then_one_line_expected_and_found(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "bad.toml", "[costs]\ntaker_fee = 0.5\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    message = str(caught.value)
    assert "\n" not in message
    assert "bad.toml: costs.taker_fee" in message and "less than 0.1" in message
    assert "found 0.5" in message


def test_load_config_when_flag_invalid_then_error_names_command_line() -> None:
    with pytest.raises(ConfigError, match=r"command line: gp\.population: .*found 2"):
        load_config(environ={}, overrides={"gp.population": 2})


def test_load_config_when_env_not_integer_then_error_names_variable() -> None:
    with pytest.raises(ConfigError, match=r"EVOLVE_WORKERS.*'many'"):
        load_config(environ={"EVOLVE_WORKERS": "many"})


def test_environment_overrides_when_documented_variables_then_dotted_keys() -> None:
    found = environment_overrides(
        {"EVOLVE_WORKERS": "2", "EVOLVE_RUNS_ROOT": "/tmp/r", "EVOLVE_RAY_ADDRESS": "", "X": "1"}
    )

    assert found == {"run.workers": 2, "run.runs_root": "/tmp/r"}


def test_load_config_when_invalid_toml_then_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", "[gp\npopulation = 4\n")

    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML"):
        load_config(path, environ={})


def test_load_config_when_file_missing_then_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_to_toml_when_read_back_then_identical_config(tmp_path: Path) -> None:
    config = RunConfig(
        data={"datasets": ["bundled/BTCUSDT-1h"], "start": "2024-01-01", "timeframe": "1h"},
        folds={"embargo_bars": None, "n_discovery_folds": 3},
        gp={"population": 16, "mutation_weights": {"point": 1.0}},
    )
    path = write(tmp_path / "config.toml", config.to_toml())

    assert read_resolved_config(path) == config
    assert "embargo_bars" not in path.read_text()  # None has no TOML form; omitted = default


def test_digest_when_only_non_result_keys_change_then_unchanged() -> None:
    config = RunConfig()
    changed = RunConfig(
        gp={"generations": 99},
        run={
            "workers": 7,
            "ray_address": "ray://x:1",
            "runs_root": "/r",
            "memo_megabytes": 1,
            "semantic_cache_megabytes": 2,
            "result_cache_megabytes": 3,
        },
    )

    assert changed.digest() == config.digest()
    assert sorted(NON_RESULT_KEYS) == sorted(
        f"{section}.{key}"
        for section, values in config.to_dict().items()
        if section != "promotion"
        for key in values
        if key not in config.result_affecting()[section]
    )


def test_digest_when_promotion_thresholds_change_then_unchanged() -> None:
    stricter = RunConfig(promotion={"dsr_min": 0.99, "pbo_max": 0.1})

    assert stricter.digest() == RunConfig().digest()
    assert "promotion" not in stricter.result_affecting()
    assert "[promotion]" in stricter.to_toml()


def test_digest_when_costs_or_seed_change_then_different() -> None:
    config = RunConfig()

    assert RunConfig(costs={"taker_fee": 0.0004}).digest() != config.digest()
    assert RunConfig(run={"seed": 1}).digest() != config.digest()


def test_seed_templates_when_relative_in_file_then_relative_to_that_file(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    path = write(tmp_path / "configs" / "run.toml", '[gp]\nseed_templates = "../seeds.txt"\n')

    config = load_config(path, environ={})

    assert Path(config.gp.seed_templates) == (tmp_path / "seeds.txt").resolve()


@pytest.mark.parametrize(
    ("section", "values", "pattern"),
    [
        ("data", {"start": "2024-06-01", "end": "2024-01-01"}, "must be before end"),
        ("data", {"timeframe": "7m"}, "expected one of"),
        ("data", {"start": "yesterday"}, "ISO-8601"),
        ("data", {"datasets": ["a", "a"]}, "each dataset once"),
        ("gp", {"mutation_weights": {"grow": 1.0}}, "unknown mutation kind"),
        ("gp", {"init_min_depth": 6, "init_max_depth": 3}, "init_min_depth"),
        ("gp", {"max_nodes": 2}, "greater than or equal to 3"),
        ("objectives", {"names": ["sortino"]}, "unknown objective"),
    ],
)
def test_sections_when_inconsistent_then_config_error_says_why(
    section: str, values: dict[str, object], pattern: str
) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(environ={}, base={section: values})


def test_workers_when_zero_then_all_cores() -> None:
    import os

    assert RunConfig(run={"workers": 0}).workers() == (os.cpu_count() or 1)
    assert RunConfig(run={"workers": 3}).workers() == 3


EXAMPLES = sorted((Path(__file__).resolve().parents[4] / "examples" / "configs").glob("*.toml"))


def test_example_configs_when_loaded_then_valid_and_templates_found() -> None:
    assert {path.name for path in EXAMPLES} >= {
        "quick.toml",
        "thorough.toml",
        "multi-symbol.toml",
        "1m.toml",
    }
    for path in EXAMPLES:
        config = load_config(path, environ={})
        if config.gp.seed_templates:
            assert Path(config.gp.seed_templates).is_file(), path


def test_datasets_when_relative_file_paths_then_absolute_store_names_kept(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "data").mkdir()
    path = write(
        tmp_path / "configs" / "run.toml",
        '[data]\ndatasets = ["../data/BTC-1h.parquet", "bundled/ETHUSDT-1h", "../data"]\n',
    )

    config = load_config(path, environ={})

    assert config.data.datasets == (
        str((tmp_path / "data" / "BTC-1h.parquet").resolve()),
        "bundled/ETHUSDT-1h",
        str((tmp_path / "data").resolve()),
    )
