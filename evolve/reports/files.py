"""Write the review report files of a run: report.html and promotion.md, from promotion.json.

``evolve promote`` calls :func:`write_reports` with the evidence it just wrote; ``evolve report
RUN`` calls :func:`regenerate_reports`, which needs nothing but ``RUN/promotion.json``. Both
files are written atomically (temp file, fsync, rename), so a crash leaves the old or the new.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evolve.promotion.document import PromotionDocument, load_document, validate_document
from evolve.promotion.evidence import EVIDENCE_FILE
from evolve.reports.html_page import render_html
from evolve.reports.markdown import render_markdown
from fitness.data.atomic import write_text_atomic
from populations.errors import RunDirError

HTML_FILE = "report.html"
MARKDOWN_FILE = "promotion.md"


def write_reports(
    run_dir: Path, evidence: PromotionDocument | Mapping[str, Any]
) -> tuple[Path, Path]:
    """Render the evidence and write ``run_dir/report.html`` and ``run_dir/promotion.md``.

    Parameters
    ----------
    run_dir : Path
        An existing run directory.
    evidence : PromotionDocument or Mapping
        The promotion evidence document (what ``promotion.json`` holds); a mapping is
        validated first, so both commands render only a valid document.

    Returns
    -------
    tuple of Path
        The HTML report and the Markdown summary, in that order.

    Raises
    ------
    RunDirError
        If ``run_dir`` is not a directory.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(
            f"{run_dir}: not a directory; the review report is written into an existing run "
            "directory (pass the directory `evolve run` created)"
        )
    html_path, markdown_path = run_dir / HTML_FILE, run_dir / MARKDOWN_FILE
    if not isinstance(evidence, PromotionDocument):
        evidence = validate_document(dict(evidence), run_dir / EVIDENCE_FILE)
    # Render both before writing either, so a rendering bug never leaves a mismatched pair
    html, markdown = render_html(evidence), render_markdown(evidence)
    write_text_atomic(html_path, html)
    write_text_atomic(markdown_path, markdown)
    return html_path, markdown_path


def read_evidence(run_dir: Path) -> PromotionDocument:
    """Return ``run_dir/promotion.json`` validated (``promotion.document.load_document``).

    Raises
    ------
    EvidenceError
        A :class:`RunDirError` (exit code 2): the file is missing, not JSON, malformed (the
        message names the field), or has a newer ``schema_version``.
    """
    return load_document(Path(run_dir))


def regenerate_reports(run_dir: Path) -> tuple[Path, Path]:
    """Rewrite report.html and promotion.md of ``run_dir`` from its promotion.json alone.

    Raises
    ------
    RunDirError
        See :func:`read_evidence` and :func:`write_reports`.
    """
    return write_reports(Path(run_dir), read_evidence(Path(run_dir)))
