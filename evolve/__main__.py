"""``python -m evolve``."""

from __future__ import annotations

import sys

from evolve.cli.app import main

sys.exit(main())
