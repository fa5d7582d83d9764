"""Joining an existing Ray cluster: its authentication token, and one clear error when it fails.

This module never imports ``ray`` (``fitness.evaluation.batch`` is the only importer and passes
the module in), so the import-linter contract "ray only in batch" holds.

Token authentication, as the installed Ray (2.5x–2.6x) implements it: a cluster started with
``RAY_AUTH_MODE=token`` (or by ``ray start --head`` when a token already exists on the head)
rejects every client without its token. Ray reads the token from, in order, the environment
variable ``RAY_AUTH_TOKEN``, the file named by ``RAY_AUTH_TOKEN_PATH``, and the file
``~/.ray/auth_token``; but a ``ray.init(address=...)`` with an explicit address sends it only
when ``RAY_AUTH_MODE=token`` is set. :func:`enable_token_auth` sets that mode whenever a token
is available and the mode is unset, so joining a token cluster needs only the token (a client
in token mode still joins a cluster without authentication: Ray ignores the header there).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fitness.errors import RayConnectionError

AUTH_MODE = "RAY_AUTH_MODE"
TOKEN_VARIABLE = "RAY_AUTH_TOKEN"
TOKEN_PATH_VARIABLE = "RAY_AUTH_TOKEN_PATH"
PROBE_TIMEOUT_SECONDS = 5.0

_TOKEN_HELP = (
    f"put the cluster's token in {TOKEN_VARIABLE}, or in a file named by {TOKEN_PATH_VARIABLE}, "
    "or in ~/.ray/auth_token (the head node's token: `ray get-auth-token` on the head prints it)"
)


def token_source(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """Return where Ray will find an authentication token (a short description), or None.

    Parameters
    ----------
    environ : dict, optional
        The environment to inspect (default ``os.environ``).
    home : Path, optional
        The home directory (default ``Path.home()``).
    """
    if environ is None:
        environ = os.environ
    if environ.get(TOKEN_VARIABLE, "").strip():
        return TOKEN_VARIABLE
    path = environ.get(TOKEN_PATH_VARIABLE, "").strip()
    if path:
        return f"{TOKEN_PATH_VARIABLE}={path}"
    default = (Path.home() if home is None else home) / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def enable_token_auth() -> str | None:
    """Set ``RAY_AUTH_MODE=token`` for this process when a token exists and no mode is set.

    Returns the token's source (see :func:`token_source`) when token mode is on, else None.
    When ``ray`` is already imported its cached configuration is refreshed, since Ray reads
    the mode once per process.
    """
    mode = os.environ.get(AUTH_MODE)
    if mode is not None:
        return token_source() if mode.lower() == "token" else None
    source = token_source()
    if source is None:
        return None
    os.environ[AUTH_MODE] = "token"
    _refresh_ray_config()
    return source


def _refresh_ray_config() -> None:
    """Make an already imported Ray re-read its configuration (as Ray does on a mode switch)."""
    raylet = sys.modules.get("ray._raylet")
    config = getattr(raylet, "Config", None)
    if config is not None:
        config.initialize("")


def probe_address(address: str, timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Fail fast when nothing listens at ``host:port`` (Ray itself retries for a minute).

    ``"auto"`` and ``ray://`` addresses are left to Ray.

    Raises
    ------
    RayConnectionError
        If the address is not ``host:port`` or the TCP connection fails.
    """
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayConnectionError(
            f"--ray-address / run.ray_address: expected host:port (the head node's GCS address, "
            f"e.g. 10.0.0.5:6379), 'auto' or ray://host:port, found {address!r}"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_seconds):
            pass
    except OSError as e:
        raise RayConnectionError(
            f"no Ray cluster at {address} ({e.strerror or type(e).__name__}): start one with "
            f"`ray start --head --port {port}` on that host, or check the address and firewall"
        ) from e


def connection_error(address: str, error: BaseException, ray: Any) -> RayConnectionError:
    """Translate what ``ray.init(address=...)`` raised into one clear message.

    Recognised: token authentication failures, a Ray or Python version mismatch between the
    driver and the cluster, a ``ray://`` address without ``ray[client]``, and anything else
    Ray calls a connection error.
    """
    chain = _causes(error)
    text = " ".join(str(e) for e in chain)
    auth_error = getattr(getattr(ray, "exceptions", None), "AuthenticationError", ())
    if any(isinstance(e, auth_error) for e in chain) or "InvalidAuthToken" in text:
        source = token_source()
        found = f"the token from {source} was rejected" if source else "no token was found"
        return RayConnectionError(
            f"could not join the Ray cluster at {address}: it requires token authentication "
            f"and {found}; {_TOKEN_HELP}"
        )
    if "Version mismatch" in text:
        detail = next(str(e) for e in chain if "Version mismatch" in str(e))
        return RayConnectionError(
            f"could not join the Ray cluster at {address}: {_first_line(detail)}; install the "
            "same Ray and Python versions on the driver and every node"
        )
    if "ray[client]" in text:
        return RayConnectionError(
            f"could not join {address}: ray:// addresses need `pip install 'ray[client]'`; or "
            "run evolve on a cluster node with the head's host:port address"
        )
    return RayConnectionError(
        f"could not join the Ray cluster at {address}: {type(error).__name__}: "
        f"{_first_line(str(error))}; check that `ray status --address {address}` works here"
    )


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else "(no message)"
