"""The risk engine: one check before every order (Allowed or Denied with a reason); drawdowns."""

from __future__ import annotations

from execution.risk.engine import (
    ALERT,
    CAUTION,
    EMERGENCY,
    NORMAL,
    Allowed,
    Denied,
    OrderRequest,
    RiskContext,
    RiskLimits,
    check_order,
    drawdown_level,
    load_limits,
)

__all__ = [
    "ALERT",
    "CAUTION",
    "EMERGENCY",
    "NORMAL",
    "Allowed",
    "Denied",
    "OrderRequest",
    "RiskContext",
    "RiskLimits",
    "check_order",
    "drawdown_level",
    "load_limits",
]
