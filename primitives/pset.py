"""The DEAP typed primitive set built from the registry, typed constant nodes and PSET_VERSION.

The primitive set is built once, from ``registry.py`` only: no ``creator.create``, no ephemeral
constants registered in DEAP's module globals. Typed constants are ``Constant`` terminals whose
DEAP return type is their constant type (``Window``, ``OscLevel``…); their text is canonical
(``format_constant``), so ``str(tree)`` is the canonical strategy text.
"""

from __future__ import annotations

import hashlib

from deap import gp

from primitives.registry import PrimitiveEntry, registry
from primitives.types import (
    CONSTANT_SPECS,
    ROOT_TYPE,
    canonical_constant,
    format_constant,
    is_series_type,
)

# Bump when the language changes in a way the registry table cannot see (parser, semantics)
LANGUAGE_REVISION = 1


# ignore[misc] below: deap ships no types: gp.Terminal is Any (disallow_subclassing_any)
class Constant(gp.Terminal):  # type: ignore[misc]
    """A typed numeric leaf (window, level, multiplier…) printed in canonical form."""

    __slots__ = ()

    def __init__(self, value: int | float, ret: type) -> None:
        super().__init__(canonical_constant(ret, value), False, ret)

    def format(self) -> str:
        return format_constant(self.ret, self.value)


def _build_pset() -> gp.PrimitiveSetTyped:
    pset = gp.PrimitiveSetTyped("evolve", [], ROOT_TYPE)
    for item in registry():
        if item.arity == 0:
            pset.addTerminal(item.name, item.ret_type, name=item.key)
        else:
            # nodes are keyed uniquely (``gt_price``) but print their expression name (``gt``)
            pset.addPrimitive(item, list(item.arg_types), item.ret_type, name=item.key)
            slots = ", ".join(f"{{{i}}}" for i in range(item.arity))
            pset.mapping[item.key].seq = f"{item.name}({slots})"
    return pset


def _version() -> str:
    lines = [f"language {LANGUAGE_REVISION}"]
    for item in registry():
        lines.append(
            f"{item.signature} market={item.market_inputs} fixed={item.fixed} "
            f"stateful={item.is_stateful} hidden={item.hidden} kernel_args={item.kernel_args} "
            f"kernel_version={item.version}"
        )
    for type_, spec in CONSTANT_SPECS.items():
        lines.append(f"{type_.__name__} {spec.minimum}..{spec.maximum} decimals={spec.decimals}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


PSET: gp.PrimitiveSetTyped = _build_pset()
PSET_VERSION: str = _version()
_ENTRIES: dict[str, PrimitiveEntry] = {item.key: item for item in registry()}
_NAMED: dict[str, tuple[gp.Primitive | gp.Terminal, ...]] = {}
for _item in registry():
    _NAMED[_item.name] = (*_NAMED.get(_item.name, ()), PSET.mapping[_item.key])


def build_pset() -> gp.PrimitiveSetTyped:
    """Return the typed primitive set of the language (root type ``Position``).

    Constants are not registered in it (they are ``Constant`` nodes); use this package's
    ``random_tree`` and variation operators, not DEAP's ``genFull``/``mutUniform``.
    """
    return PSET


def node_of(key: str) -> gp.Primitive | gp.Terminal:
    """Return the shared DEAP node (primitive or market terminal) of the entry ``key``."""
    return PSET.mapping[key]


def nodes_named(name: str) -> tuple[gp.Primitive | gp.Terminal, ...]:
    """Return the DEAP nodes written ``name`` in expressions (overloads), in table order."""
    return _NAMED.get(name, ())


def expression_names() -> list[str]:
    """Return every name an expression may use (for suggestions in error messages)."""
    return list(_NAMED)


def entry_of(node: gp.Primitive | gp.Terminal) -> PrimitiveEntry | None:
    """Return the registry entry of a node, or None for a ``Constant``."""
    if isinstance(node, Constant):
        return None
    return _ENTRIES[node.name]


def is_constant_node(node: gp.Primitive | gp.Terminal) -> bool:
    """Return True for typed constant leaves."""
    return isinstance(node, Constant)


def is_series_node(node: gp.Primitive | gp.Terminal) -> bool:
    """Return True for nodes producing a per-bar series (everything except constants)."""
    return is_series_type(node.ret)
