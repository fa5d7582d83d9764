"""Print the README's primitive table from ``primitives.registry()`` (tests keep them in sync).

python scripts/primitive_table.py
"""

from __future__ import annotations

import primitives


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


if __name__ == "__main__":
    print(primitive_table())
