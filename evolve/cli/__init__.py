"""The ``evolve`` command line: parser, commands, exit codes (DESIGN §5) and the terminal UI.

The only part of ``evolve`` that imports ``rich`` and, lazily inside command functions,
``execution``.
"""

from __future__ import annotations

from evolve.cli.app import main

__all__ = ["main"]
