"""Read a TOML file into plain tables, mapping every failure to one ``ConfigError`` line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from evolve.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    """Return the tables of the TOML file at ``path``.

    Raises
    ------
    ConfigError
        Naming the file when it is missing, unreadable or not valid TOML.
    """
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: no such configuration file; pass an existing TOML file") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the configuration ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
