"""Print the README's primitive table from ``primitives.registry()`` (tests keep them in sync).

python scripts/primitive_table.py
"""

from __future__ import annotations

import argparse
import sys

import primitives

EPILOG = """\
examples:
  python scripts/primitive_table.py              print the table (Markdown)
  python scripts/primitive_table.py > table.md   then paste it between README.md's
                                                 primitive-table markers
  evolve primitives                              the same language in the terminal"""


def primitive_table() -> str:
    """Return the Markdown table of every expression name, its forms and what it computes."""
    forms: dict[str, list[primitives.PrimitiveEntry]] = {}
    for entry in primitives.registry():
        forms.setdefault(entry.name, []).append(entry)
    lines = ["| name | signature | what it computes |", "|---|---|---|"]
    for name, entries in forms.items():
        signatures = "<br>".join(
            f"({', '.join(t.__name__ for t in e.arg_types)}) → {e.ret_type.__name__}"
            if e.arg_types
            else f"→ {e.ret_type.__name__}"
            for e in entries
        )
        doc = entries[0].doc
        if len(entries) > 1:  # overloaded: one form per dimension, picked by argument types
            doc = f"{doc} One form per dimension; the argument types pick it."
        lines.append(f"| `{name}` | {signatures} | {doc} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python scripts/primitive_table.py",
        description=(
            "Print the README's primitive table (every expression name, its signatures and what\n"
            "it computes) from primitives.registry(); tests/unit/test_docs.py fails until the\n"
            "README's copy between its primitive-table markers equals this output."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(primitive_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
