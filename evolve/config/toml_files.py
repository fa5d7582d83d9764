"""Read a TOML file into plain tables, mapping every failure to one ``ConfigError`` line."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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


Model = TypeVar("Model", bound=BaseModel)


def section_table(values: Mapping[str, Any], section: str, where: str) -> dict[str, Any]:
    """Return the ``[section]`` table of a parsed TOML file (empty when absent).

    Raises
    ------
    ConfigError
        When ``section`` is not a table; the message names ``where``.
    """
    table = values.get(section, {})
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"{where}: [{section}] must be a table of thresholds, found {type(table).__name__}"
        )
    return dict(table)


def validate_section(
    model: type[Model], values: Mapping[str, Any], section: str, where: str
) -> Model:
    """Return ``model`` validated from one TOML table's values.

    Raises
    ------
    ConfigError
        One message naming ``where`` and ``section.key``: an unknown key (with the known
        ones), or a bad value (with what was found); a table-level rule names the table.
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as e:
        item = e.errors()[0]
        key = ".".join(str(part) for part in item["loc"]) or "(table)"
        if item["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields)
            raise ConfigError(
                f"{where}: unknown key {section}.{key}; expected one of: {known}"
            ) from e
        message = str(item["msg"]).removeprefix("Value error, ")
        if key == "(table)":
            raise ConfigError(f"{where}: [{section}]: {message}") from e
        raise ConfigError(
            f"{where}: {section}.{key}: {message}, found {item.get('input')!r}"
        ) from e
