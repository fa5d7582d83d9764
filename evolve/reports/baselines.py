"""Baselines over the same holdout: what buy-and-hold (and funding carry, when the document
carries it) earned on the days the candidates were judged on.

Schema 2 documents carry each candidate's daily ``curve`` and the ``buy_and_hold`` curve over
the whole timeline, and the holdout's calendar span in ``segments``. The buy-and-hold line is
derived from those with the formulas the promoter uses for candidates (total return =
last / first equity − 1; annualised Sharpe of the daily returns by ``fitness.stats``, √365),
so a candidate and the baseline are compared on one footing. A document-level ``baselines``
block (``{"buy_and_hold": {...}, "funding_carry": {...}}`` with ``holdout_return``,
``holdout_sharpe`` and ``max_drawdown``), if the promoter writes one, is used as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolve.numbers import finite_or_none
from evolve.promotion import replays
from evolve.promotion.document import CandidateDocument, PromotionDocument
from evolve.reports.text import elements, get, objects


@dataclass(frozen=True, slots=True)
class HoldoutLine:
    """One equity line restricted to the holdout: return, annualised Sharpe, max drawdown."""

    name: str
    holdout_return: float | None
    holdout_sharpe: float | None
    max_drawdown: float | None
    n_days: int
    source: str


def holdout_span(document: PromotionDocument) -> tuple[float, float] | None:
    """Return the holdout's ``[start_ms, stop_ms)`` from the document's segments, or None."""
    for segment in objects(document.model_dump().get("segments")):
        if get(segment, "kind") == "holdout":
            start, stop = (
                finite_or_none(get(segment, "start_ms")),
                finite_or_none(get(segment, "stop_ms")),
            )
            if start is not None and stop is not None and stop > start:
                return start, stop
    return None


def holdout_line(
    name: str, block: object, span: tuple[float, float], source: str
) -> HoldoutLine | None:
    """Return the statistics of an equity ``curve`` block over ``span``, or None if unusable."""
    times = [finite_or_none(v) for v in elements(get(block, "timestamp_ms"))]
    equity = [finite_or_none(v) for v in elements(get(block, "equity"))]
    if not times or len(times) != len(equity):
        return None
    # equity at the holdout's start is the last mark at or before it; then every mark inside
    start, stop = span
    inside = [
        e
        for t, e in zip(times, equity, strict=True)
        if t is not None and e is not None and start <= t <= stop
    ]
    before = [
        e
        for t, e in zip(times, equity, strict=True)
        if t is not None and e is not None and t < start
    ]
    marks = np.asarray(([before[-1]] if before else []) + inside, dtype=np.float64)
    if marks.size < 3 or np.any(marks <= 0.0):
        return None
    # the promoter's own baseline summary: one Sharpe, one drawdown, one return formula
    block = replays.baseline_block(marks[1:] / marks[:-1] - 1.0, source)
    return HoldoutLine(
        name,
        block["holdout_return"],
        block["holdout_sharpe"],
        block["max_drawdown"],
        block["n_days"],
        source,
    )


def _given(document: PromotionDocument, key: str, name: str) -> HoldoutLine | None:
    block = (document.baselines or {}).get(key)
    if block is None:
        return None
    return HoldoutLine(
        name,
        finite_or_none(block.holdout_return),
        finite_or_none(block.holdout_sharpe),
        finite_or_none(block.max_drawdown),
        block.n_days,
        block.detail or "promotion.json baselines",
    )


def baselines(document: PromotionDocument) -> tuple[list[HoldoutLine], list[str]]:
    """Return the baseline lines over the holdout and, for each missing one, why it is missing."""
    lines: list[HoldoutLine] = []
    missing: list[str] = []
    span = holdout_span(document)
    hold = _given(document, "buy_and_hold", "buy and hold")
    if hold is None and span is not None:
        for candidate in document.candidates:
            block = candidate.model_dump().get("buy_and_hold")
            hold = holdout_line(
                "buy and hold", block, span, "equal-weight buy and hold of the run's symbols"
            )
            if hold is not None:
                break
    if hold is not None:
        lines.append(hold)
    else:
        missing.append("buy and hold: the document has no holdout segment or no buy-and-hold curve")
    carry = _given(document, "funding_carry", "funding carry")
    if carry is not None:
        lines.append(carry)
    else:
        missing.append(
            f"funding carry: promotion.json (schema {document.schema_version}) carries no "
            "funding-carry baseline"
        )
    return lines, missing


def candidate_line(document: PromotionDocument, candidate: CandidateDocument) -> HoldoutLine | None:
    """Return a candidate's own curve over the holdout, by the same formulas as the baselines."""
    span = holdout_span(document)
    if span is None:
        return None
    extra = candidate.model_dump()
    line = holdout_line(
        candidate.id, extra.get("curve"), span, "the candidate's daily equity curve"
    )
    if line is None:
        return None
    # the promoter's own holdout numbers where it wrote them (one value per quantity)
    given_return = finite_or_none(get(extra, "statistics", "holdout_return"))
    given_sharpe = finite_or_none(get(extra, "statistics", "holdout_annual_sharpe"))
    return HoldoutLine(
        line.name,
        line.holdout_return if given_return is None else given_return,
        line.holdout_sharpe if given_sharpe is None else given_sharpe,
        line.max_drawdown,
        line.n_days,
        line.source,
    )


def daily_max_drawdown(document: PromotionDocument, candidate: CandidateDocument) -> float | None:
    """Return the maximum drawdown of the candidate's daily holdout curve (as the baselines')."""
    line = candidate_line(document, candidate)
    return None if line is None else line.max_drawdown
