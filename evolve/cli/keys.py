"""``q`` in the live view: stop the run after the generation in progress (exit 3, resumable).

On a terminal ``evolve run`` puts stdin in cbreak mode (keys arrive one at a time, unechoed;
Ctrl-C still raises SIGINT) and a daemon thread reads them without blocking the run. ``q``
only sets a flag: the :class:`QuitKey` sink, handed ``GenerationCompleted`` after that
generation's checkpoint is written, then raises :class:`KeyboardInterrupt` — the engine's own
Ctrl-C path (:meth:`evolve.engine.loop.Engine.run`): ``run.json`` says ``interrupted``, the
generation just written is safe, the CLI prints the resume command and exits 3. The terminal
mode is restored when the run ends, however it ends. When stdin is not a terminal (CI, a pipe,
a test) nothing is read and nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from evolve.engine.events import Event, GenerationCompleted

QUIT_KEYS = frozenset("qQ")
_POLL_SECONDS = 0.1


class QuitKey:
    """An event sink that turns a pressed ``q`` into an interrupt after the generation.

    Parameters
    ----------
    on_request : callable, optional
        Called once, from the reader thread, when ``q`` is first pressed (a notice on screen).
    """

    def __init__(self, on_request: Callable[[], None] | None = None) -> None:
        self.requested = threading.Event()
        self._on_request = on_request

    def press(self, key: str) -> bool:
        """Handle one key; return whether it asked to stop (``q`` or ``Q``)."""
        if key not in QUIT_KEYS:
            return False
        if not self.requested.is_set():
            self.requested.set()
            if self._on_request is not None:
                self._on_request()
        return True

    def emit(self, event: Event) -> None:
        """Raise :class:`KeyboardInterrupt` at the first generation end after ``q``."""
        if isinstance(event, GenerationCompleted) and self.requested.is_set():
            raise KeyboardInterrupt

    def close(self) -> None:
        """Nothing to release (the reader is stopped by :func:`quit_on_key`)."""


class KeyReader(threading.Thread):
    """Read single bytes from ``fd`` (polling, so :meth:`stop` ends it) into ``on_key``."""

    def __init__(self, fd: int, on_key: Callable[[str], Any]) -> None:
        super().__init__(name="evolve-keys", daemon=True)
        self.fd = fd
        self.on_key = on_key
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], _POLL_SECONDS)
                if not ready:
                    continue
                data = os.read(self.fd, 1)
            except (OSError, ValueError):  # the descriptor closed under us
                return
            if not data:  # end of input
                return
            self.on_key(data.decode("utf-8", errors="replace"))

    def stop(self) -> None:
        """Ask the thread to end and wait for it (at most a second)."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=1.0)


def terminal_fd(stream: IO[str] | None) -> int | None:
    """Return the descriptor of ``stream`` when it is a terminal, else None."""
    try:
        fd = stream.fileno() if stream is not None else -1
    except (AttributeError, OSError, ValueError):  # pytest's captured stdin, a StringIO
        return None
    return fd if fd >= 0 and os.isatty(fd) else None


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def quit_on_key(
    on_request: Callable[[], None] | None = None, stream: IO[str] | None = None
) -> Iterator[QuitKey]:
    """Yield a :class:`QuitKey` sink fed by ``stream`` (default stdin) when it is a terminal.

    On a terminal: cbreak mode and a reader thread for the duration, the previous terminal
    mode restored on exit. Otherwise the sink never fires.
    """
    key = QuitKey(on_request)
    fd = terminal_fd(sys.stdin if stream is None else stream)
    if fd is None or os.name != "posix":
        yield key
        return
    with _cbreak(fd):
        reader = KeyReader(fd, key.press)
        reader.start()
        try:
            yield key
        finally:
            reader.stop()
