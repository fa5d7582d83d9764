"""evolve: discover, prove and trade crypto-perpetual strategies by typed genetic programming."""

from __future__ import annotations

__version__ = "0.1.0"
