"""Brokers: the paper broker fills by the backtest's own per-bar step."""

from __future__ import annotations

from execution.broker.paper import BarResult, LegResult, PaperBroker, SubAccount, client_order_id

__all__ = ["BarResult", "LegResult", "PaperBroker", "SubAccount", "client_order_id"]
