"""Typed random tree generation (ramped half-and-half) that cannot fail, and size limits.

DEAP's typed ``generate`` raises when a type has no terminal at the depth limit. Here every
type's minimum subtree height and size are computed from the registry once, and a primitive is
only chosen where its cheapest completion still fits under the height cap, so generation
always succeeds. All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from deap import gp

from primitives.pset import Constant, node_of
from primitives.registry import registry
from primitives.types import CONSTANT_SPECS, ROOT_TYPE, SERIES_TYPES, is_series_type

_MAX_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """Bloat control: maximum tree height (root at depth 0) and node count."""

    max_depth: int = 12
    max_nodes: int = 100

    def __post_init__(self) -> None:
        if self.max_depth < MIN_HEIGHT[ROOT_TYPE] or self.max_nodes < MIN_SIZE[ROOT_TYPE]:
            raise ValueError(
                f"SizeLimits(max_depth={self.max_depth}, max_nodes={self.max_nodes}) admits no "
                f"strategy: the smallest needs depth {MIN_HEIGHT[ROOT_TYPE]} and "
                f"{MIN_SIZE[ROOT_TYPE]} nodes"
            )

    def admits(self, tree: gp.PrimitiveTree) -> bool:
        """Return True when ``tree`` is within both limits."""
        return len(tree) <= self.max_nodes and tree.height <= self.max_depth


def _producers() -> tuple[dict[type, list[gp.Primitive]], dict[type, list[gp.Terminal]]]:
    primitives: dict[type, list[gp.Primitive]] = {t: [] for t in SERIES_TYPES}
    terminals: dict[type, list[gp.Terminal]] = {t: [] for t in SERIES_TYPES}
    for item in registry():
        target = terminals if item.arity == 0 else primitives
        target[item.ret_type].append(node_of(item.key))
    return primitives, terminals


PRIMITIVES, TERMINALS = _producers()


def _minimum(combine_size: bool) -> dict[type, int]:
    """Fixed point of the cheapest subtree (height or node count) per type."""
    leaf = 1 if combine_size else 0
    best: dict[type, float] = {t: leaf for t in CONSTANT_SPECS}
    best.update({t: leaf if TERMINALS[t] else np.inf for t in SERIES_TYPES})
    changed = True
    while changed:
        changed = False
        for type_, nodes in PRIMITIVES.items():
            for node in nodes:
                costs = [best[a] for a in node.args]
                cost = 1 + (sum(costs) if combine_size else max(costs))
                if cost < best[type_]:
                    best[type_] = cost
                    changed = True
    if any(not np.isfinite(v) for v in best.values()):  # pragma: no cover - registry bug
        raise RuntimeError(f"some types cannot be generated: {best}")
    return {t: int(v) for t, v in best.items()}


MIN_HEIGHT = _minimum(combine_size=False)
MIN_SIZE = _minimum(combine_size=True)
_PRIMITIVE_HEIGHT = {
    p.name: 1 + max(MIN_HEIGHT[a] for a in p.args) for ps in PRIMITIVES.values() for p in ps
}


def random_constant(type_: type, rng: np.random.Generator) -> Constant:
    """Return a constant of ``type_`` drawn uniformly from its generation grid."""
    grid = CONSTANT_SPECS[type_].grid
    return Constant(grid[int(rng.integers(len(grid)))], type_)


def generate_subtree(
    type_: type, rng: np.random.Generator, height: int, *, full: bool
) -> list[gp.Primitive | gp.Terminal]:
    """Return the prefix node list of a random subtree of ``type_`` of height <= ``height``.

    ``full`` prefers primitives with a series argument until the height cap (DEAP's "full"),
    otherwise every fitting primitive or terminal is equally likely ("grow").
    """
    height = max(height, MIN_HEIGHT[type_])
    nodes: list[gp.Primitive | gp.Terminal] = []
    pending: list[tuple[type, int]] = [(type_, 0)]
    while pending:
        wanted, depth = pending.pop()
        if wanted in CONSTANT_SPECS:
            nodes.append(random_constant(wanted, rng))
            continue
        room = height - depth
        fitting = [p for p in PRIMITIVES[wanted] if _PRIMITIVE_HEIGHT[p.name] <= room]
        if full:
            deep = [p for p in fitting if any(is_series_type(a) for a in p.args)]
            choices: list[gp.Primitive | gp.Terminal] = deep or fitting or TERMINALS[wanted]
        else:
            choices = [*fitting, *TERMINALS[wanted]]
        node = choices[int(rng.integers(len(choices)))]
        nodes.append(node)
        if node.arity:
            # children pushed in reverse so they are generated (and listed) left to right
            pending.extend((arg, depth + 1) for arg in reversed(node.args))
    return nodes


def _smallest_subtree(type_: type, rng: np.random.Generator) -> list[gp.Primitive | gp.Terminal]:
    if type_ in CONSTANT_SPECS:
        return [random_constant(type_, rng)]
    if TERMINALS[type_]:
        terminals = TERMINALS[type_]
        return [terminals[int(rng.integers(len(terminals)))]]
    cheapest = [
        p for p in PRIMITIVES[type_] if 1 + sum(MIN_SIZE[a] for a in p.args) == MIN_SIZE[type_]
    ]
    node = cheapest[int(rng.integers(len(cheapest)))]
    nodes: list[gp.Primitive | gp.Terminal] = [node]
    for arg in node.args:
        nodes.extend(_smallest_subtree(arg, rng))
    return nodes


def random_tree(
    rng: np.random.Generator,
    *,
    min_depth: int = 2,
    max_depth: int = 6,
    limits: SizeLimits | None = None,
    root_type: type = ROOT_TYPE,
) -> gp.PrimitiveTree:
    """Return a random well-typed tree by ramped half-and-half; never fails.

    The height is drawn uniformly from ``[min_depth, max_depth]`` (raised to the root type's
    minimum), then "full" or "grow" with equal probability. Trees beyond ``limits`` are
    redrawn; after 50 attempts the smallest tree of the type is returned.

    Parameters
    ----------
    rng
        The only source of randomness: the same generator state gives the same tree.
    min_depth, max_depth
        Height range (root at depth 0), ``1 <= min_depth <= max_depth``.
    limits
        Size limits the tree must satisfy (default ``SizeLimits()``).
    root_type
        Type of the root, ``Position`` for strategies (other series types for subtrees).

    Raises
    ------
    ValueError
        If the depth range is empty.
    """
    if not 1 <= min_depth <= max_depth:
        raise ValueError(
            f"random_tree: expected 1 <= min_depth <= max_depth, found {min_depth}, {max_depth}"
        )
    limits = limits if limits is not None else SizeLimits()
    max_depth = min(max_depth, limits.max_depth)
    for _ in range(_MAX_ATTEMPTS):
        height = int(rng.integers(min_depth, max(min_depth, max_depth) + 1))
        full = bool(rng.random() < 0.5)
        tree = gp.PrimitiveTree(generate_subtree(root_type, rng, height, full=full))
        if limits.admits(tree):
            return tree
    return gp.PrimitiveTree(_smallest_subtree(root_type, rng))
