"""Configuration: the run's frozen pydantic model, the promotion gauntlet's, the lifecycle's,
and TOML reading.

``RunConfig`` is composed of each package's section, loaded from TOML, overridden by
``EVOLVE_*`` variables and flags, and written back resolved (DESIGN §4).
"""

from __future__ import annotations

from evolve.config.lifecycle_config import LifecycleSettings, load_lifecycle_config
from evolve.config.promotion_config import PromotionConfig, load_promotion_config
from evolve.config.run_config import (
    NON_RESULT_KEYS,
    DataConfig,
    GPConfig,
    RunConfig,
    absolute_datasets,
    environment_overrides,
    load_config,
    read_resolved_config,
)

__all__ = [
    "NON_RESULT_KEYS",
    "DataConfig",
    "GPConfig",
    "LifecycleSettings",
    "PromotionConfig",
    "RunConfig",
    "absolute_datasets",
    "environment_overrides",
    "load_config",
    "load_lifecycle_config",
    "load_promotion_config",
    "read_resolved_config",
]
