"""Gates in words: value vs threshold with one precision, reasons for what was not computed."""

from __future__ import annotations

from typing import Any

from evolve.promotion.document import CandidateDocument, GateEvidence, PromotionDocument
from evolve.reports.gates import (
    failed_gates,
    failure_reasons,
    gate_cell,
    gate_explanation,
    gate_values,
    verdict,
)
from tests.unit.evolve.promotion.evidence_fixture import (
    make_evidence,
    make_rejecting_evidence,
    stitched_block,
)


def _document(evidence: dict[str, Any] | None = None) -> PromotionDocument:
    return PromotionDocument.model_validate(evidence or make_evidence())


def _gate(name: str, value: float | None, threshold: float | None, **extra: Any) -> GateEvidence:
    return GateEvidence(name=name, value=value, threshold=threshold, passed=False, **extra)


def test_gate_explanation_when_dsr_fails_then_value_threshold_and_effective_trials() -> None:
    document = _document()
    rejected = document.candidates[1]
    gate = next(g for g in rejected.gates if g.name == "dsr")

    assert gate_explanation(gate, document, rejected) == (
        "DSR 0.620 < 0.950: the holdout Sharpe is not significant once 412 effective trials are "
        "counted (SR0 0.142 per day, V[SR] 0.0031)"
    )


def test_gate_explanation_when_maximum_gate_fails_then_greater_than_and_percentages() -> None:
    document = _document()
    rejected = document.candidates[1]
    gate = next(g for g in rejected.gates if g.name == "concentration")

    assert gate_explanation(gate, document, rejected) == (
        "Largest month or regime share of P&L 62.0% > 50.0%: the profit depends on one month "
        "or regime (2025-08)"
    )


def test_gate_explanation_when_value_missing_then_the_gates_reason_and_condition() -> None:
    gate = _gate("stability", None, 0.7, comparison=">=", reason="no perturbation probe ran")
    document = _document()

    text = gate_explanation(gate, document, document.candidates[1])

    assert (
        text == "Perturbation stability not computed: no perturbation probe ran; it must be ≥ 0.70"
    )


def test_gate_explanation_when_threshold_missing_then_says_so_with_the_reason() -> None:
    gate = _gate("min_trades", 190, None, comparison=">=", detail="per-trade SR <= 0")
    document = _document()

    text = gate_explanation(gate, document, document.candidates[1])

    assert text == "Holdout trades 190 but its threshold could not be computed: per-trade SR <= 0"
    assert "not computed" not in gate_cell(gate) and "per-trade SR <= 0" in gate_cell(gate)


def test_gate_explanation_when_unknown_gate_then_detail_is_the_reason() -> None:
    gate = _gate("max_leverage", 3.5, 2.0, comparison="<=", detail="peak gross leverage")
    document = _document()

    assert gate_explanation(gate, document, document.candidates[1]) == (
        "max leverage 3.5 > 2: peak gross leverage"
    )


def test_gate_values_when_probability_then_three_decimals_never_six() -> None:
    assert gate_values(_gate("psr", 0.9993, 0.95)) == ("0.999", "0.950")
    assert gate_values(_gate("dsr", 0.62, 0.95)) == ("0.620", "0.950")
    assert gate_values(_gate("dsr", 3.1e-07, 0.95)) == ("< 0.001", "0.950")
    assert gate_values(_gate("dsr", 0.9999991, 0.95)) == ("> 0.999", "0.950")
    assert gate_values(_gate("dsr", 0.9499, 0.95)) == ("0.9499", "0.9500")
    assert gate_values(_gate("drawdown", 0.3004, 0.3)) == ("30.04%", "30.00%")


def test_gate_cell_when_share_above_one_then_explained_as_share_of_net() -> None:
    cell = gate_cell(_gate("concentration", 8.695, 0.5, comparison="<="))

    assert cell.startswith("Largest month or regime share of P&L 869.5% (needs ≤ 50.0%)")
    assert "above 100 % because other months or regimes lost" in cell


def test_failed_gates_when_failed_lists_a_gate_without_entry_then_it_is_added_with_reason() -> None:
    candidate = CandidateDocument.model_validate(
        {
            "id": "x",
            "rank": 1,
            "promoted": False,
            "gates": [
                {"name": "dsr", "value": None, "threshold": 0.95, "passed": False},
                {"name": "psr", "value": 1.0, "threshold": 0.95, "passed": True},
            ],
            "failed": ["dsr", "pbo"],
        }
    )

    failed = failed_gates(candidate)

    assert [g.name for g in failed] == ["dsr", "pbo"] and failed[1].reason


def test_verdict_and_reasons_when_fixture_then_counts_per_gate() -> None:
    document = _document()

    assert verdict(document) == "1 of 2 candidates promoted"
    assert "DSR failed for 1 of 2 candidates" in failure_reasons(document)


def test_failure_reasons_when_nothing_promoted_then_most_frequent_first() -> None:
    assert failure_reasons(_document(make_rejecting_evidence()))[0] == (
        "PBO failed for 2 of 2 candidates"
    )


def _with_stage(sample: str) -> dict[str, Any]:
    evidence = make_evidence()
    evidence["search"]["stitched"] = stitched_block()
    evidence["candidates"][1]["stage"] = {
        "selection": {
            "sample": sample,
            "dsr": 0.62,
            "sharpe_daily": 0.2,
            "n_days": 291,
            "sr0_daily": 0.19,
        },
        "confirmation": {
            "sample": "holdout",
            "psr": 0.9,
            "alpha": 0.05,
            "corrected_alpha": 0.05,
            "n_clusters": 1,
            "method": "holm",
        },
    }
    return evidence


def test_gate_explanation_when_selection_on_stitched_record_then_its_sr0_and_variance() -> None:
    document = _document(_with_stage("discovery+validation"))
    rejected = document.candidates[1]
    gate = next(g for g in rejected.gates if g.name == "dsr")

    assert gate_explanation(gate, document, rejected) == (
        "DSR 0.620 < 0.950: the discovery+validation Sharpe is not significant once 412 "
        "effective trials are counted (SR0 0.190 per day, V[SR] 0.0033)"
    )


def test_gate_explanation_when_selection_on_validation_then_the_validation_variance() -> None:
    document = _document(_with_stage("validation"))
    rejected = document.candidates[1]
    gate = next(g for g in rejected.gates if g.name == "dsr")

    assert gate_explanation(gate, document, rejected).endswith("V[SR] 0.0031)")
