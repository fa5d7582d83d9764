"""Joining a Ray cluster: where the token comes from, and one message per kind of failure."""

from __future__ import annotations

import socket
import types
from pathlib import Path

import pytest

from fitness.errors import ParallelConfigError, RayConnectionError
from fitness.evaluation import ray_connect
from fitness.evaluation.ray_connect import connection_error, probe_address, token_source


class AuthenticationError(Exception):
    """Stands in for ``ray.exceptions.AuthenticationError``."""


FAKE_RAY = types.SimpleNamespace(
    exceptions=types.SimpleNamespace(AuthenticationError=AuthenticationError)
)


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as e:
            raise outer from e
    except Exception as e:
        return e


def test_token_source_when_env_path_or_home_file_then_first_in_rays_order(tmp_path: Path) -> None:
    (tmp_path / ".ray").mkdir()
    assert token_source({}, tmp_path) is None
    (tmp_path / ".ray" / "auth_token").write_text("t")
    assert token_source({}, tmp_path) == str(tmp_path / ".ray" / "auth_token")
    assert token_source({"RAY_AUTH_TOKEN_PATH": "/x"}, tmp_path) == "RAY_AUTH_TOKEN_PATH=/x"
    assert token_source({"RAY_AUTH_TOKEN": "abc", "RAY_AUTH_TOKEN_PATH": "/x"}) == "RAY_AUTH_TOKEN"


def test_enable_token_auth_when_token_and_no_mode_then_token_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    refreshed: list[bool] = []
    monkeypatch.setattr(ray_connect, "_refresh_ray_config", lambda: refreshed.append(True))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    assert ray_connect.enable_token_auth() is None
    monkeypatch.setenv("RAY_AUTH_TOKEN", "abc")
    assert ray_connect.enable_token_auth() == "RAY_AUTH_TOKEN"
    assert ray_connect.os.environ["RAY_AUTH_MODE"] == "token" and refreshed == [True]
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # an explicit mode is respected
    assert ray_connect.enable_token_auth() is None


def test_probe_address_when_nothing_listens_then_ray_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RayConnectionError, match=rf"no Ray cluster at 127.0.0.1:{port}"):
        probe_address(f"127.0.0.1:{port}")
    with pytest.raises(ParallelConfigError, match="expected host:port"):
        probe_address("head-node")
    probe_address("auto")  # left to Ray


def test_connection_error_when_auth_version_or_other_then_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "wrong")
    auth = _chained(ConnectionError("Failed to connect"), AuthenticationError("InvalidAuthToken"))
    version = RuntimeError("Version mismatch: The cluster was started with:\n Ray: 2.9.0")

    rejected = str(connection_error("h:1", auth, FAKE_RAY))
    mismatch = str(connection_error("h:1", version, FAKE_RAY))
    other = str(connection_error("h:1", ConnectionError("boom\ndetail"), FAKE_RAY))

    assert (
        "requires token authentication and the token from RAY_AUTH_TOKEN was rejected" in rejected
    )
    assert "Version mismatch: The cluster was started with:; install the same Ray" in mismatch
    assert other.startswith("could not join the Ray cluster at h:1: ConnectionError: boom;")
    assert "\n" not in rejected + mismatch + other
