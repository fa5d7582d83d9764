"""Crash-safe file writes: temp file in the target's directory, fsync, rename, fsync the directory.

Every layer that persists something (data store, checkpoints, lineage, hall of fame, specs)
writes through here, so a kill -9 at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def atomic_write(target: Path, write: Callable[[Path], object], *, sync_dir: bool = False) -> None:
    """Write ``target`` atomically: ``write(temp_path)``, fsync, then rename over ``target``.

    Parameters
    ----------
    target : Path
        Final path; its directory must exist.
    write : callable
        Writes the complete content to the temporary path it is given (its result is ignored).
    sync_dir : bool
        Also fsync the directory so the rename itself survives a power loss.
    """
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        write(temp)
        descriptor = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(target.parent)


def write_text_atomic(target: Path, text: str, *, sync_dir: bool = True) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically."""
    atomic_write(target, lambda path: path.write_text(text, "utf-8"), sync_dir=sync_dir)


def write_bytes_atomic(target: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``target`` atomically."""
    atomic_write(target, lambda path: path.write_bytes(data), sync_dir=sync_dir)


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry (a completed rename) to disk; a no-op where unsupported."""
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
