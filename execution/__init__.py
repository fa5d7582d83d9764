"""Exchange access, paper and live execution (layer 3). The only package that imports ccxt."""

from __future__ import annotations

from execution.errors import ExchangeError, TemporaryExchangeError

__all__ = ["ExchangeError", "TemporaryExchangeError"]
