"""What the HTML templates render: plain frozen records of text, tables, charts and facts.

The renderers build these from the validated document; the Jinja2 templates
(``evolve/reports/templates``) turn them into HTML with autoescaping, so no Python code writes
markup. A chart is the one piece of ready markup (:class:`markupsafe.Markup` of matplotlib's
SVG, see :mod:`evolve.reports.charts.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: text, optionally a link to an anchor on the page, code, or a CSS class."""

    text: str
    href: str = ""
    code: bool = False
    css: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """A table; columns listed in ``numeric`` align right; ``wide`` tables scroll sideways."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    numeric: Sequence[int] = ()
    row_classes: Sequence[str] = ()
    table_id: str = ""
    kind: Literal["table"] = "table"

    @property
    def has_missing(self) -> bool:
        """Return whether a cell is "not computed" (rendered "—", explained under the table)."""
        return any(cell.text == "not computed" for row in self.rows for cell in row)


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph (``note``: the muted explanatory style)."""

    text: str
    css: str = "note"
    element_id: str = ""
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class Items:
    """A bulleted list of sentences."""

    items: Sequence[str]
    kind: Literal["items"] = "items"


@dataclass(frozen=True, slots=True)
class Figure:
    """An inline SVG chart (and the charts beside it, when several share a row)."""

    charts: Sequence[Markup]
    kind: Literal["figure"] = "figure"


@dataclass(frozen=True, slots=True)
class Facts:
    """A definition list of ``(name, value, as_code)``."""

    facts: Sequence[tuple[str, str, bool]]
    element_id: str = ""
    kind: Literal["facts"] = "facts"


Part = Table | Text | Items | Figure | Facts


@dataclass(frozen=True, slots=True)
class Block:
    """A titled block with a stable element id (``<block>-<candidate anchor>``)."""

    block_id: str
    title: str
    parts: Sequence[Part] = field(default_factory=tuple)
    css: str = "block"


def cells(*values: str) -> list[Cell]:
    """Return plain text cells."""
    return [Cell(value) for value in values]
