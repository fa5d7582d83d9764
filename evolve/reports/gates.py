"""Gates in words: labels, value vs threshold, and one sentence per failed gate with its numbers.

Reads the validated document (:mod:`evolve.promotion.document`): gates are
:class:`GateEvidence` records; the blocks the document model keeps as plain JSON (a candidate's
``statistics``, ``stage``, ``concentration``…) are read with :func:`evolve.reports.text.get`.
A sentence never says "not computed" without the gate's own reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evolve.numbers import finite_or_none
from evolve.promotion.document import CandidateDocument, GateEvidence, PromotionDocument
from evolve.reports.text import NOT_COMPUTED, Kind, fmt, get, label, probability

_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
_NEGATION = {">=": "<", ">": "≤", "<=": ">", "<": "≥", "==": "≠", "!=": "="}

# Gate name → (display label, value kind, why a failure matters; {placeholders} from context).
# A sentence whose placeholders are not all known falls back to the gate's own detail.
GATES: dict[str, tuple[str, Kind, str]] = {
    "dsr": (
        "DSR",
        "probability",
        "the {dsr_sample} Sharpe is not significant once {n_effective} effective trials are "
        "counted (SR0 {sr0} per {periods}, V[SR] {sharpe_variance})",
    ),
    "psr": (
        "PSR",
        "probability",
        "the holdout Sharpe is not significantly above zero over {n_days} {periods}s",
    ),
    "pbo": (
        "PBO",
        "probability",
        "the search's in-sample best lands at or below the out-of-sample median in {pbo_percent} "
        "of {n_combinations} CSCV splits; its selection is overfitted",
    ),
    "spa_flat": (
        "SPA p (vs flat)",
        "probability",
        "the search's best does not beat staying flat once data snooping is accounted for",
    ),
    "spa_buy_and_hold": (
        "SPA p (vs buy-and-hold)",
        "probability",
        "the search's best does not beat buy-and-hold once data snooping is accounted for",
    ),
    "cost_stress": (
        "PSR at stressed costs",
        "probability",
        "the edge does not survive {cost_multiplier}× fees and slippage",
    ),
    "stability": (
        "Perturbation stability",
        "ratio",
        "jittering the constants drops the median score to this fraction of its own; "
        "the strategy sits on a narrow peak",
    ),
    "min_trades": (
        "Holdout trades",
        "count",
        "too few holdout trades to reach the minimum track record length (MinTRL)",
    ),
    "drawdown": (
        "95th-percentile bootstrap drawdown",
        "percent",
        "the resampled drawdown exceeds the risk budget",
    ),
    "concentration": (
        "Holdout PSR without the best month",
        "probability",
        "the profit hangs on one lucky month ({largest_month}) or a few lucky trades",
    ),
    # schema 1-2 documents: the old concentration gate (largest share of P&L, a maximum)
    "concentration_share": (
        "Largest month or regime share of P&L",
        "percent",
        "the profit depends on one month or regime ({largest_month})",
    ),
    "correlation": (
        "Correlation with promoted",
        "ratio",
        "it duplicates the already promoted strategy {correlated_with}",
    ),
    "null_model": (
        "Null-model percentile",
        "probability",
        "searches on random data find holdout Sharpes as good as this one",
    ),
}


def gate_key(gate: GateEvidence) -> str:
    """Return the text table's key of a gate (the old concentration share is told apart)."""
    if gate.name == "concentration" and str(gate.comparison) in ("<=", "<"):
        return "concentration_share"
    return gate.name


def gate_label(name: str) -> str:
    """Return the display label of a gate (its name in words when unknown)."""
    return GATES[name][0] if name in GATES else label(name)


def gate_kind(name: str) -> Kind:
    """Return how a gate's value and threshold are formatted."""
    return GATES[name][1] if name in GATES else "number"


def gate_values(gate: GateEvidence) -> tuple[str, str]:
    """Return the gate's value and threshold formatted alike, with enough digits to differ.

    A probability shows 3 decimals ("> 0.999" rather than 1.000); a value that would read like
    its threshold gets one or two more digits.
    """
    kind = gate_kind(gate_key(gate))
    a, b = finite_or_none(gate.value), finite_or_none(gate.threshold)
    if kind not in ("probability", "ratio", "percent", "signed_percent") or a is None:
        return fmt(gate.value, kind), fmt(gate.threshold, kind)
    digits = {"probability": 3, "ratio": 2}.get(kind, 1)  # one precision per kind, everywhere
    while digits < (3 if kind.endswith("percent") else 4) and (
        _looks_equal(a, b, kind, digits)
        or (kind == "probability" and digits < 3 and _looks_certain(a, digits))
    ):
        digits += 1
    shown = probability(a, digits) if kind == "probability" else fmt(a, kind, digits)
    return shown, fmt(gate.threshold, kind, digits)


def _looks_equal(a: float, b: float | None, kind: Kind, digits: int) -> bool:
    return b is not None and a != b and fmt(a, kind, digits) == fmt(b, kind, digits)


def _looks_certain(a: float, digits: int) -> bool:
    return 0.0 < a < 1.0 and round(a, digits) in (0.0, 1.0)


def comparison_symbol(gate: GateEvidence) -> str:
    """Return the gate's pass condition as a symbol ("≥", "≤", …); "vs" when unknown."""
    return _SYMBOL.get(str(gate.comparison), "vs")


def selection_inputs(
    document: PromotionDocument, candidate: CandidateDocument
) -> tuple[Any, Any, str | None]:
    """Return ``(SR0, V[SR_n], sample)`` the candidate's gated DSR was computed with.

    The selection stage's own SR0 and sample when recorded (schema 3), V[SR_n] of that
    sample (``search.stitched`` for the stitched record); else the run-level values.
    """
    search, extra = document.search, candidate.model_dump()
    sample = get(extra, "stage", "selection", "sample")
    sr0 = get(extra, "stage", "selection", "sr0_daily")
    sr0 = get(extra, "statistics", "sr0") if sr0 is None else sr0
    sr0 = get(search, "expected_max_sharpe") if sr0 is None else sr0
    variance = get(search, "sharpe_variance")
    if sample is not None and sample == get(search, "stitched", "sample"):
        variance = get(search, "stitched", "sharpe_variance")
    return sr0, variance, sample


def _context(document: PromotionDocument, candidate: CandidateDocument) -> dict[str, str]:
    search, extra = document.search, candidate.model_dump()
    sr0, variance, sample = selection_inputs(document, candidate)
    return {
        "dsr_sample": str(sample or "holdout"),
        "n_effective": fmt(get(search, "n_effective"), "count"),
        "sr0": fmt(sr0, "sharpe"),
        "sharpe_variance": fmt(variance, "number"),
        "periods": str(get(search, "periods") or "period"),
        "n_days": fmt(get(extra, "statistics", "n_days"), "count"),
        "pbo_percent": fmt(get(search, "pbo", "value"), "percent", 0),
        "n_combinations": fmt(get(search, "pbo", "n_combinations"), "count"),
        "cost_multiplier": fmt(document.thresholds.get("cost_stress_multiplier"), "number"),
        "largest_month": str(get(extra, "concentration", "largest_month") or NOT_COMPUTED),
        "correlated_with": str(get(extra, "correlation", "with") or NOT_COMPUTED),
    }


def gate_explanation(
    gate: GateEvidence, document: PromotionDocument, candidate: CandidateDocument
) -> str:
    """Return one sentence saying why a failed gate failed, with its value and threshold.

    E.g. "DSR 0.62 < 0.95: the holdout Sharpe is not significant once 412 effective trials are
    counted (SR0 0.142 per day, V[SR] 0.0031)". A value or threshold that could not be
    computed is said with the gate's reason; unknown gates use their ``detail``.
    """
    value, threshold = gate_values(gate)
    name, own = gate_label(gate_key(gate)), gate.reason or gate.detail or "no reason was recorded"
    if finite_or_none(gate.value) is None:
        needs = f"; it must be {comparison_symbol(gate)} {threshold}" if gate.threshold else ""
        return f"{name} not computed: {own}{needs}"
    if finite_or_none(gate.threshold) is None:
        return f"{name} {value} but its threshold could not be computed: {own}"
    head = f"{name} {value} {_NEGATION.get(str(gate.comparison), 'vs')} {threshold}"
    reason = ""
    if gate_key(gate) in GATES:
        reason = GATES[gate_key(gate)][2].format(**_context(document, candidate))
        if NOT_COMPUTED in reason:
            reason = ""
    return f"{head}: {reason or gate.detail or 'the gate failed'}{over_net(gate)}"


def gate_cell(gate: GateEvidence) -> str:
    """Return a failed gate briefly for a table cell: "DSR 0.931 (needs ≥ 0.95)"."""
    value, threshold = gate_values(gate)
    name, why = gate_label(gate_key(gate)), (gate.detail or gate.reason or "no reason recorded")
    if finite_or_none(gate.value) is None:
        return f"{name} not computed ({why.split('; ')[-1]})"
    if finite_or_none(gate.threshold) is None:
        return f"{name} {value}, no threshold ({why.split('; ')[-1]})"
    return f"{name} {value} (needs {comparison_symbol(gate)} {threshold}){over_net(gate)}"


def over_net(gate: GateEvidence) -> str:
    """Return why a share of the net P&L exceeds 100 % (empty when it does not)."""
    value = finite_or_none(gate.value)
    if gate_key(gate) == "concentration_share" and value is not None and value > 1.0:
        return " — a share of the net P&L: above 100 % because other months or regimes lost"
    return ""


def failed_gates(candidate: CandidateDocument) -> list[GateEvidence]:
    """Return the candidate's failed gates in gate order, adding names only in ``failed``."""
    failed = [gate for gate in candidate.gates if not gate.passed]
    named = {gate.name for gate in failed}
    for name in candidate.failed:
        if name not in named:
            failed.append(
                GateEvidence(
                    name=name,
                    value=None,
                    threshold=None,
                    passed=False,
                    reason="listed as failed without a gate record",
                )
            )
    return failed


def _reason_key(name: str, document: PromotionDocument) -> str:
    old_concentration = name == "concentration" and document.schema_version < 3
    return "concentration_share" if old_concentration else name


def verdict(document: PromotionDocument) -> str:
    """Return "N of M candidates promoted"."""
    total = len(document.candidates)
    promoted = sum(1 for c in document.candidates if c.promoted)
    return f"{promoted} of {total} candidate{'s' if total != 1 else ''} promoted"


def failure_reasons(document: PromotionDocument) -> list[str]:
    """Return "DSR failed for 6 of 10 candidates" lines, most frequent first."""
    reasons: Mapping[str, Any] = document.summary.reasons
    total = len(document.candidates)
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return [
        f"{gate_label(_reason_key(name, document))} failed for {count:,} of {total:,} candidates"
        for name, count in ordered
        if count > 0
    ]
