"""Shares of the holdout P&L that cannot exceed 100 %: a month's or regime's share of the profit.

A share of the *net* P&L exceeds 100 % whenever other months lose (a +8.7 % month in a +1 %
holdout "supplies 869.5 %") and means nothing when the net is negative. The report states a
month's or regime's P&L as its share of the gross profit — the sum of the profitable months
(regimes) — which lies in [0, 100 %], and states the net P&L beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evolve.numbers import finite_or_none
from evolve.reports.blocks import Table, cells
from evolve.reports.text import fmt, get, objects


def profit_shares(pnls: Sequence[float]) -> list[float | None]:
    """Return each P&L's share of the gross profit (0 for losses); None when nothing profited.

    Every share is in [0, 1] and the shares of the profitable entries sum to 1.
    """
    gross = sum(p for p in pnls if p > 0.0)
    if gross <= 0.0:
        return [None for _ in pnls]
    return [max(p, 0.0) / gross for p in pnls]


def _pairs(rows: list[Any], key: str) -> list[tuple[str, float]]:
    pairs = []
    for row in rows:
        pnl = finite_or_none(get(row, "pnl"))
        if pnl is not None:
            pairs.append((str(get(row, key) or "?"), pnl))
    return pairs


def concentration_parts(block: Any) -> tuple[list[str], Table | None]:
    """Return the sentences on the monthly P&L and the regime table of a concentration block."""
    months = _pairs(objects(get(block, "monthly_pnl")), "month")
    sentences = []
    if months:
        net = sum(p for _, p in months)
        shares = profit_shares([p for _, p in months])
        n_profitable = sum(1 for _, p in months if p > 0.0)
        if shares[0] is None:
            sentences.append(
                f"No holdout month was profitable: net P&L {fmt(net, 'signed_percent')} of equity "
                f"over {len(months)} months."
            )
        else:
            best = max(range(len(months)), key=lambda i: (months[i][1], months[i][0]))
            gross = sum(p for _, p in months if p > 0.0)
            sentences.append(
                f"Largest month {months[best][0]} made {fmt(months[best][1], 'signed_percent')} of "
                f"equity: {fmt(shares[best], 'percent')} of the {fmt(gross, 'signed_percent')} "
                f"earned in the {n_profitable} profitable of {len(months)} months (net P&L "
                f"{fmt(net, 'signed_percent')})."
            )
    else:
        sentences.append("Monthly P&L is absent from promotion.json.")
    regimes = objects(get(block, "regimes"))
    pairs = _pairs(regimes, "regime")
    if not pairs:
        return sentences, None
    shares = profit_shares([p for _, p in pairs])
    rows = [
        cells(
            name,
            fmt(pnl, "signed_percent"),
            fmt(get(regime, "n_bars"), "count").replace("not computed", "—"),
            fmt(share, "percent") if share is not None else "no profitable regime",
        )
        for (name, pnl), share, regime in zip(pairs, shares, regimes, strict=False)
    ]
    window = finite_or_none(get(block, "volatility_window_days"))
    title = "regime" + (f" (volatility over {window:g} days)" if window is not None else "")
    table = Table([title, "P&L", "bars", "share of the profit"], rows, numeric=(1, 2, 3))
    return sentences, table
