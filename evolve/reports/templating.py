"""The one Jinja2 environment of the HTML reports: package templates, autoescaped, strict.

Every page (:mod:`evolve.reports.html_page`, :mod:`evolve.reports.account`) renders through
:data:`ENVIRONMENT`, so text from a document or a state file is escaped by the template and no
Python code writes markup; ready markup (an inline SVG chart) is passed as
:class:`markupsafe.Markup`. Undefined names raise (``StrictUndefined``); the output depends on
the context only, so identical input gives identical bytes.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

ENVIRONMENT = Environment(
    loader=PackageLoader("evolve.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def template_source(name: str) -> str:
    """Return a template file's text unrendered (a stylesheet inlined in a page)."""
    loader = ENVIRONMENT.loader
    assert loader is not None  # set above
    return loader.get_source(ENVIRONMENT, name)[0]
