"""Scale-out on a real two-node Ray cluster (two ``ray start`` daemons on this machine, one CPU
each, token authentication on): ``evolve run --ray-address`` gives the local run's hall of
fame to the last byte; a missing cluster or a missing token is one message and exit code 2.

Every daemon runs in its own session (process group) with its own temp dir and ports, and the
whole group is killed at teardown, even on failure, so no Ray process outlives the test and
the other Ray instances on the machine are never touched (no ``ray stop``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.test_run_cli import run_evolve, write_config

pytest.importorskip("ray")
pytestmark = pytest.mark.ray

RAY = Path(sys.executable).with_name("ray")
JOIN_TIMEOUT_SECONDS = 45


@dataclass(frozen=True, slots=True)
class Cluster:
    address: str
    token: str
    environ: dict[str, str]  # a driver's environment: the token, but no RAY_AUTH_MODE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_node(arguments: list[str], log: Path, environ: dict[str, str]) -> subprocess.Popen:
    command = [str(RAY), "start", "--block", "--num-cpus", "1", "--disable-usage-stats"]
    command += ["--dashboard-agent-listen-port", str(_free_port())]
    command += ["--metrics-export-port", str(_free_port()), *arguments]
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole at teardown
        )


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # daemons re-parented to init die a moment later
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _wait_for_two_nodes(address: str, environ: dict[str, str], logs: list[Path]) -> None:
    probe = (
        "import ray, sys, time\n"
        f"ray.init(address={address!r}, logging_level='ERROR')\n"
        "deadline = time.monotonic() + 30\n"
        "while sum(n['Alive'] for n in ray.nodes()) < 2 and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) == 2 else 1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**environ, "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
        timeout=JOIN_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        tails = "\n".join(log.read_text()[-2000:] for log in logs)
        pytest.fail(f"the two-node cluster did not come up:\n{done.stderr[-2000:]}\n{tails}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    # Ray's session sockets live under --temp-dir and a Unix socket path has <= 107 bytes: a
    # short directory of its own, removed at teardown
    short = Path(tempfile.mkdtemp(prefix="evr-", dir="/tmp"))
    home = root / "home"  # no ~/.ray/auth_token: the token comes from the environment only
    home.mkdir()
    token = secrets.token_hex(16)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    base |= {"HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
    nodes_environ = base | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head_arguments = ["--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    head_arguments += ["--include-dashboard", "false", "--dashboard-port", str(_free_port())]
    logs = [root / "head.log", root / "worker.log"]
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(
            _start_node([*head_arguments, "--temp-dir", str(short / "h")], logs[0], nodes_environ)
        )
        nodes.append(
            _start_node(
                ["--address", address, "--temp-dir", str(short / "w")], logs[1], nodes_environ
            )
        )
        _wait_for_two_nodes(address, base | {"RAY_AUTH_TOKEN": token}, logs)
        yield Cluster(address, token, base | {"RAY_AUTH_TOKEN": token})
    finally:
        for node in nodes:
            _kill_group(node)
        shutil.rmtree(short, ignore_errors=True)


def _evolve_with(environ: dict[str, str], *argv: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m evolve ARGV`` with exactly this environment (output piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "evolve", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_run_when_two_node_cluster_then_hall_of_fame_bytes_equal_local_run(
    cluster: Cluster, tmp_path: Path
) -> None:
    config = write_config(tmp_path, generations=2)
    common = ("run", "--config", str(config), "--workers")
    no_token = {k: v for k, v in cluster.environ.items() if k != "RAY_AUTH_TOKEN"}
    # the token-less join waits out Ray's retries (~20 s): run it beside the two real runs
    rejected = _evolve_with(
        no_token, *common, "2", "--run-dir", str(tmp_path / "rejected" / "run"),
        "--ray-address", cluster.address, cwd=tmp_path,
    )  # fmt: skip
    on_cluster = _evolve_with(
        cluster.environ, *common, "2", "--run-dir", str(tmp_path / "cluster" / "run"),
        "--ray-address", cluster.address, cwd=tmp_path,
    )  # fmt: skip
    local = run_evolve(*common, "1", "--run-dir", str(tmp_path / "local" / "run"), cwd=tmp_path)
    out, err = on_cluster.communicate(timeout=120)
    _rejected_out, rejected_err = rejected.communicate(timeout=120)

    assert local.returncode == 0, local.stderr
    assert on_cluster.returncode == 0, err
    assert "2 worker(s)" in out  # two actors of one CPU each: one on each node
    # same run-dir name ("run"): the hall of fame records the run id
    local_hall = (tmp_path / "local" / "run" / "hall_of_fame.json").read_bytes()
    assert (tmp_path / "cluster" / "run" / "hall_of_fame.json").read_bytes() == local_hall
    assert rejected.returncode == 2, rejected_err
    assert "requires token authentication and no token was found" in rejected_err
    assert "RAY_AUTH_TOKEN" in rejected_err and "Traceback" not in rejected_err


def test_run_when_no_cluster_at_address_then_one_message_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, generations=1)
    address = f"127.0.0.1:{_free_port()}"  # nothing listens there

    done = run_evolve(
        "run", "--config", str(config), "--run-dir", str(tmp_path / "run"),
        "--ray-address", address, cwd=tmp_path, timeout=60,
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert f"evolve: error: no Ray cluster at {address}" in done.stderr
    assert "Traceback" not in done.stderr and "ray start --head" in done.stderr
