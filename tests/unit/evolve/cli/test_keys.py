"""``q`` stops a run after the generation: the key handler, the reader, the no-TTY case."""

from __future__ import annotations

import io
import os
import threading

import pytest

from evolve.cli.keys import KeyReader, QuitKey, quit_on_key, terminal_fd
from evolve.engine.events import CheckpointWritten
from tests.unit.evolve.engine.test_events import generation_event


def test_quit_key_when_q_pressed_then_next_generation_end_interrupts() -> None:
    notices: list[str] = []
    key = QuitKey(lambda: notices.append("stopping"))

    assert key.press("x") is False
    key.emit(generation_event())  # no request yet: nothing happens
    assert key.press("q") is True
    assert key.press("Q") is True
    key.emit(CheckpointWritten(2, "ckpt", 0.1))  # only a generation end stops

    with pytest.raises(KeyboardInterrupt):
        key.emit(generation_event())
    assert notices == ["stopping"]  # one notice however often q is pressed


def test_key_reader_when_pipe_carries_q_then_stop_is_requested() -> None:
    read_fd, write_fd = os.pipe()
    key = QuitKey()
    reader = KeyReader(read_fd, key.press)
    reader.start()
    try:
        os.write(write_fd, b"aq")
        assert key.requested.wait(timeout=5.0)
    finally:
        reader.stop()
        os.close(write_fd)
        os.close(read_fd)
    assert not reader.is_alive()


def test_key_reader_when_input_ends_then_thread_ends() -> None:
    read_fd, write_fd = os.pipe()
    pressed: list[str] = []
    reader = KeyReader(read_fd, pressed.append)
    reader.start()
    os.write(write_fd, b"x")
    os.close(write_fd)
    reader.join(timeout=5.0)
    os.close(read_fd)

    assert not reader.is_alive() and pressed == ["x"]


def test_quit_on_key_when_stdin_is_not_a_terminal_then_no_reader_and_no_effect() -> None:
    read_fd, write_fd = os.pipe()
    before = {t.name for t in threading.enumerate()}
    with os.fdopen(read_fd) as pipe, quit_on_key(stream=pipe) as key:
        os.write(write_fd, b"q")
        assert "evolve-keys" not in {t.name for t in threading.enumerate()} - before
        key.emit(generation_event())  # never fires: nothing reads the pipe
        assert not key.requested.is_set()
    os.close(write_fd)
    assert terminal_fd(io.StringIO()) is None
