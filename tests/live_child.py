"""The live runner as a separate process, for ``kill -9`` tests (``python -m tests.live_child``).

The parent (``benchmarks.faults``) owns the fake venue and its clock; this process holds the
live stack of ``tests.live_stack`` (real ccxt client against ``--url``, the state file at
``--state``) and obeys one command per stdin line, answering on stdout with lines that start
with ``@``:

``step NOW_MS``  set the clock to the venue's ``NOW_MS``, poll once → ``@ok 0|1``
``arm``          the next accepted submit prints ``@submitted CLIENT_ID`` and then hangs (the
                 response is in hand, its outcome not committed) → ``@armed``

At start it prints ``@ready``. The parent kills it with SIGKILL; nothing here cleans up.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests import live_stack
from tests.fake_trading import FakeBinanceTrading

ROOT = Path(__file__).resolve().parents[1]


@dataclass(slots=True)
class RemoteVenue:
    """What ``live_stack.runner`` reads of the venue, seen from another process."""

    base_url: str
    fee_rate: float
    slippage: float
    now_ms: int


def _say(line: str) -> None:
    sys.stdout.write(f"@{line}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.live_child")
    parser.add_argument("--url", required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--now-ms", type=int, required=True)
    parser.add_argument("--fee-rate", type=float, required=True)
    parser.add_argument("--slippage", type=float, required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--timeout-ms", type=int, default=30_000)
    args = parser.parse_args(argv)
    venue = RemoteVenue(args.url, args.fee_rate, args.slippage, args.now_ms)
    armed = {"on": False}

    def hang_after_submit(client_id: str) -> None:
        if armed["on"]:
            _say(f"submitted {client_id}")
            time.sleep(3600.0)  # the parent's SIGKILL ends this process here

    runner = live_stack.runner(
        venue,  # type: ignore[arg-type]
        args.state,
        text=args.text,
        after_submit=hang_after_submit,
        timeout_ms=args.timeout_ms,
    )
    _say("ready")
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "step":
            venue.now_ms = int(rest[0])
            _say(f"ok {int(runner.step_once())}")
        elif command == "arm":
            armed["on"] = True
            _say("armed")
    return 0


class ChildRunner:
    """The parent's handle on one ``python -m tests.live_child`` process.

    Parameters
    ----------
    venue : FakeBinanceTrading
        The running fake venue (its URL, costs and clock are passed to the child).
    state : Path
        The account's state file.
    text : str
        The strategy.
    log : Path
        Where the child's stderr goes.
    """

    def __init__(self, venue: FakeBinanceTrading, state: Path, text: str, log: Path) -> None:
        self._log = log.open("wb")
        command = [
            sys.executable,
            "-m",
            "tests.live_child",
            f"--url={venue.base_url}",
            f"--state={state}",
            f"--now-ms={venue.now_ms}",
            f"--fee-rate={venue.fee_rate!r}",
            f"--slippage={venue.slippage!r}",
            f"--text={text}",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready", 120.0)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("@"):
                self._lines.put(line[1:].strip())

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait(self, timeout_s: float, also: Callable[[], bool] = lambda: False) -> str | None:
        """Return the child's next line, or None as soon as ``also()`` holds (polled)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if also():
                return None
            try:
                return self._lines.get(timeout=0.01)
            except queue.Empty:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    raise RuntimeError(f"the child exited with {code}") from None
        raise TimeoutError(f"no answer from the child in {timeout_s} s")

    def expect(self, word: str, timeout_s: float = 60.0) -> str:
        line = self.wait(timeout_s)
        if line is None or not line.startswith(word):
            raise RuntimeError(f"expected @{word} from the child, found {line!r}")
        return line

    def kill(self) -> None:
        """SIGKILL the child (``kill -9``) and reap it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30.0)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._log.close()


if __name__ == "__main__":
    raise SystemExit(main())
