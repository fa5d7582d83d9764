"""Exchange access, paper and live execution (layer 3). The only package that imports ccxt."""

from __future__ import annotations

from execution.errors import ExchangeError, ExchangeInputError, PaperError, TemporaryExchangeError
from execution.exchange.client import ExchangeClient, MarketInfo, RetryPolicy
from execution.exchange.fetch import FetchProgress, fetch_dataset

__all__ = [
    "ExchangeClient",
    "ExchangeError",
    "ExchangeInputError",
    "FetchProgress",
    "MarketInfo",
    "PaperError",
    "RetryPolicy",
    "TemporaryExchangeError",
    "fetch_dataset",
]
