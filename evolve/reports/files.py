"""Write the review report files of a run: report.html and promotion.md, from promotion.json.

``evolve promote`` calls :func:`write_reports` with the evidence it just wrote; ``evolve report
RUN`` calls :func:`regenerate_reports`, which needs nothing but ``RUN/promotion.json``. Both
files are written atomically (temp file, fsync, rename), so a crash leaves the old or the new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evolve.promotion.evidence import EVIDENCE_FILE
from evolve.reports.html_page import render_html
from evolve.reports.markdown import render_markdown
from fitness.data.atomic import write_text_atomic
from populations.errors import RunDirError

HTML_FILE = "report.html"
MARKDOWN_FILE = "promotion.md"
SCHEMA_VERSION = 1


def write_reports(run_dir: Path, evidence: Mapping[str, Any]) -> tuple[Path, Path]:
    """Render the evidence and write ``run_dir/report.html`` and ``run_dir/promotion.md``.

    Parameters
    ----------
    run_dir : Path
        An existing run directory.
    evidence : Mapping
        The promotion evidence document (what ``promotion.json`` holds).

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
    # Render both before writing either, so a rendering bug never leaves a mismatched pair
    html, markdown = render_html(evidence), render_markdown(evidence)
    write_text_atomic(html_path, html)
    write_text_atomic(markdown_path, markdown)
    return html_path, markdown_path


def read_evidence(run_dir: Path) -> dict[str, Any]:
    """Return the parsed ``run_dir/promotion.json``.

    Raises
    ------
    RunDirError
        If the file is missing, is not a JSON object, or has a newer ``schema_version``.
    """
    path = Path(run_dir) / EVIDENCE_FILE
    if not path.is_file():
        raise RunDirError(
            f"{path}: not found; this run has no promotion evidence yet "
            f"(run `evolve promote --run-dir {run_dir}` first)"
        )
    try:
        evidence = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunDirError(
            f"{path}: not valid JSON ({e}); re-run `evolve promote --run-dir {run_dir}` to "
            "rewrite it"
        ) from e
    if not isinstance(evidence, dict):
        raise RunDirError(
            f"{path}: expected a JSON object, found {type(evidence).__name__}; re-run "
            f"`evolve promote --run-dir {run_dir}` to rewrite it"
        )
    version = evidence.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise RunDirError(
            f"{path}: field schema_version is {version}, newer than this evolve reads "
            f"({SCHEMA_VERSION}); upgrade evolve to render it"
        )
    return evidence


def regenerate_reports(run_dir: Path) -> tuple[Path, Path]:
    """Rewrite report.html and promotion.md of ``run_dir`` from its promotion.json alone.

    Raises
    ------
    RunDirError
        See :func:`read_evidence` and :func:`write_reports`.
    """
    return write_reports(Path(run_dir), read_evidence(Path(run_dir)))
