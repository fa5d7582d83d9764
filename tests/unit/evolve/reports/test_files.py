"""Report files: atomic writes of report.html and promotion.md, regeneration from promotion.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.errors import INPUT_ERRORS, EvidenceError
from evolve.promotion.document import PromotionDocument
from evolve.reports.files import read_evidence, regenerate_reports, write_reports
from evolve.reports.html_page import render_html
from evolve.reports.markdown import render_markdown
from populations.errors import RunDirError
from tests.unit.evolve.promotion.evidence_fixture import make_evidence


def test_write_reports_when_run_dir_exists_then_both_files_match_the_renderers(
    tmp_path: Path,
) -> None:
    evidence = make_evidence()

    html_path, markdown_path = write_reports(tmp_path, evidence)

    assert (html_path, markdown_path) == (tmp_path / "report.html", tmp_path / "promotion.md")
    document = PromotionDocument.model_validate(evidence)
    assert html_path.read_text("utf-8") == render_html(document)
    assert markdown_path.read_text("utf-8") == render_markdown(document)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["promotion.md", "report.html"]


def test_write_reports_when_run_dir_missing_then_run_dir_error_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-run"

    with pytest.raises(RunDirError, match="no-such-run: not a directory"):
        write_reports(missing, make_evidence())


def test_regenerate_reports_when_only_promotion_json_then_same_bytes_as_direct_write(
    tmp_path: Path,
) -> None:
    direct, regenerated = tmp_path / "direct", tmp_path / "run"
    direct.mkdir()
    regenerated.mkdir()
    evidence = make_evidence(with_null_model=True)
    write_reports(direct, evidence)
    (regenerated / "promotion.json").write_text(json.dumps(evidence, indent=2), "utf-8")

    html_path, markdown_path = regenerate_reports(regenerated)
    first = (html_path.read_bytes(), markdown_path.read_bytes())
    regenerate_reports(regenerated)

    assert first == ((direct / "report.html").read_bytes(), (direct / "promotion.md").read_bytes())
    assert (html_path.read_bytes(), markdown_path.read_bytes()) == first


def test_read_evidence_when_promotion_json_missing_then_says_to_run_promote(
    tmp_path: Path,
) -> None:
    with pytest.raises(EvidenceError, match=r"promotion\.json: not found.*evolve promote"):
        read_evidence(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"run_id": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"schema_version": 99}', "schema_version is 99, newer than this evolve reads"),
    ],
)
def test_read_evidence_when_file_is_unusable_then_evidence_error_names_file_and_fix(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "promotion.json").write_text(content, "utf-8")

    with pytest.raises(EvidenceError, match=message) as caught:
        read_evidence(tmp_path)

    assert str(tmp_path / "promotion.json") in str(caught.value)
    assert isinstance(caught.value, ValueError)  # an input error: the CLI exits 2


def _write_bad(tmp_path: Path, damage: object) -> Path:
    evidence = make_evidence()
    damage(evidence)  # type: ignore[operator]
    (tmp_path / "promotion.json").write_text(json.dumps(evidence), "utf-8")
    return tmp_path / "promotion.json"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda e: e.pop("decisions"), r"field decisions: field required, found nothing"),
        (
            lambda e: e["decisions"][0]["gates"][0].pop("passed"),
            r"field decisions\[0\]\.gates\[0\]\.passed: field required",
        ),
        (
            lambda e: e["candidates"][1]["gates"][2].update(value="high"),
            r"field candidates\[1\]\.gates\[2\]\.value: .*found 'high'",
        ),
        (
            lambda e: e["decisions"][1].update(promoted="yes"),
            r"field decisions\[1\]\.promoted: .*found 'yes'",
        ),
        (
            lambda e: e["decisions"][0]["gates"][0].update(detail="extra"),
            r"field decisions\[0\]\.gates\[0\]\.detail: extra inputs are not permitted",
        ),
    ],
    ids=[
        "missing-decisions",
        "missing-passed",
        "value-not-a-number",
        "promoted-not-bool",
        "extra-key",
    ],
)
def test_read_evidence_when_a_field_is_malformed_then_evidence_error_names_file_and_field(
    tmp_path: Path, damage: object, message: str
) -> None:
    path = _write_bad(tmp_path, damage)

    with pytest.raises(EvidenceError, match=message) as caught:
        read_evidence(tmp_path)

    assert str(path) in str(caught.value) and "evolve promote" in str(caught.value)
    assert isinstance(caught.value, INPUT_ERRORS)


def test_read_evidence_when_valid_then_typed_document_with_design_decisions(
    tmp_path: Path,
) -> None:
    evidence = make_evidence()
    (tmp_path / "promotion.json").write_text(json.dumps(evidence), "utf-8")

    document = read_evidence(tmp_path)

    assert [d.id for d in document.decisions] == [d["id"] for d in evidence["decisions"]]
    assert document.candidates[1].gates[0].passed is evidence["candidates"][1]["gates"][0]["passed"]
