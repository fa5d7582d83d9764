"""``evolve primitives``: the strategy language, from ``primitives.registry()`` (never a copy)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from evolve.cli.options import paragraph

if TYPE_CHECKING:
    from primitives import PrimitiveEntry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evolve primitives`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "primitives",
        help="list the strategy language: primitives, signatures, types, descriptions",
        description=paragraph(
            "List every primitive and terminal of the strategy language with its typed "
            "signature, category and description, then the legal range of each constant "
            "type. Comparisons appear once per dimension; expressions write the name and the "
            "parser picks the form from the argument types."
        ),
        epilog="examples:\n  evolve primitives\n  evolve primitives --category price\n"
        "  evolve primitives --search rsi",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--category", metavar="CAT", help="only this category (e.g. price)")
    parser.add_argument(
        "--search", metavar="WORD", help="only primitives whose name or description has WORD"
    )
    parser.set_defaults(handler=primitives_command)


def signature(entry: PrimitiveEntry) -> str:
    """Return ``name(Type, ...) -> Type`` (a terminal is ``name -> Type``)."""
    arguments = ", ".join(kind.__name__ for kind in entry.arg_types)
    call = f"{entry.name}({arguments})" if entry.arg_types else entry.name
    return f"{call} -> {entry.ret_type.__name__}"


def selected(
    entries: list[PrimitiveEntry], category: str | None, search: str | None
) -> list[PrimitiveEntry]:
    """Return the entries of ``category`` whose name or description contains ``search``."""
    word = (search or "").lower()
    return [
        entry
        for entry in entries
        if (category is None or entry.category == category)
        and (not word or word in entry.name.lower() or word in entry.doc.lower())
    ]


def primitives_command(args: argparse.Namespace) -> int:
    """List the strategy language (``evolve primitives``)."""
    from rich.table import Table

    from evolve.cli.runs import console
    from evolve.errors import UsageError
    from primitives import registry
    from primitives.types import CONSTANT_SPECS

    entries = registry()
    categories = sorted({entry.category for entry in entries})
    if args.category is not None and args.category not in categories:
        raise UsageError(
            f"--category: unknown category {args.category!r}; expected one of "
            f"{', '.join(categories)}"
        )
    chosen = selected(entries, args.category, args.search)
    out = console()
    table = Table(
        title=f"strategy language ({len(chosen)} of {len(entries)})", title_justify="left"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("signature", no_wrap=True)
    table.add_column("category")
    table.add_column("description", overflow="fold")
    for entry in chosen:
        table.add_row(entry.name, signature(entry), entry.category, entry.doc)
    out.print(table)
    constants = Table(title="constant types (legal range)", title_justify="left")
    for header in ("type", "range", "kind"):
        constants.add_column(header)
    for kind, spec in CONSTANT_SPECS.items():
        constants.add_row(
            kind.__name__,
            f"{spec.minimum:g} … {spec.maximum:g}",
            "integer" if spec.is_integer else f"{spec.decimals} decimals",
        )
    out.print(constants)
    return 0
