"""promotion.json schema 3: clusters and stages validated at the I/O edge."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from evolve.errors import EvidenceError
from evolve.promotion.document import validate_document

PATH = Path("run/promotion.json")
GATE = {"name": "dsr", "value": 0.5, "threshold": 0.05, "passed": True}
STAGE = {
    "selection": {
        "sample": "validation",
        "dsr": 0.5,
        "sharpe_daily": 0.3,
        "n_days": 55,
        "sr0_daily": 0.2,
    },
    "confirmation": {
        "sample": "holdout",
        "psr": 0.999,
        "alpha": 0.05,
        "corrected_alpha": 0.025,
        "n_clusters": 2,
        "method": "holm",
    },
}


def _document() -> dict[str, Any]:
    candidates = [
        {"id": i, "rank": r, "promoted": True, "gates": [GATE], "failed": [], "cluster": c,
         "stage": STAGE}
        for i, r, c in (("a", 1, 0), ("b", 2, 1), ("c", 3, 0))
    ]  # fmt: skip
    return {
        "schema_version": 3,
        "run_id": "run",
        "thresholds": {},
        "search": {},
        "clusters": [
            {"id": 0, "representative": "a", "members": ["a", "c"]},
            {"id": 1, "representative": "b", "members": ["b"]},
        ],
        "candidates": candidates,
        "summary": {"n_candidates": 3, "n_promoted": 3, "promoted": ["a", "b", "c"],
                    "reasons": {}},
        "decisions": [{"id": c["id"], "promoted": True, "gates": [GATE]} for c in candidates],
    }  # fmt: skip


def test_validate_document_when_schema_3_complete_then_clusters_and_stages_kept() -> None:
    document = validate_document(_document(), PATH)

    assert document.clusters is not None and document.clusters[0].members == ["a", "c"]
    assert document.candidates[2].stage is not None
    assert document.candidates[2].stage.confirmation.corrected_alpha == 0.025


def test_validate_document_when_schema_3_without_clusters_then_evidence_error() -> None:
    data = _document()
    del data["clusters"]

    with pytest.raises(EvidenceError, match="clusters: required from schema_version 3"):
        validate_document(data, PATH)


def test_validate_document_when_candidate_names_wrong_cluster_then_evidence_error() -> None:
    data = copy.deepcopy(_document())
    data["candidates"][2]["cluster"] = 1

    with pytest.raises(EvidenceError, match=r"candidates\[2\].cluster"):
        validate_document(data, PATH)


def test_validate_document_when_stage_method_unknown_then_names_the_field() -> None:
    data = copy.deepcopy(_document())
    data["candidates"][0]["stage"]["confirmation"]["method"] = "bonferroni"

    with pytest.raises(EvidenceError, match=r"candidates\[0\]\.stage\.confirmation\.method"):
        validate_document(data, PATH)


def test_validate_document_when_schema_2_without_clusters_then_still_valid() -> None:
    data = _document()
    data["schema_version"] = 2
    del data["clusters"]
    for candidate in data["candidates"]:
        del candidate["cluster"], candidate["stage"]

    assert validate_document(data, PATH).clusters is None
