"""Typed variation operators: subtree crossover, four mutations, constant jitter, similarity.

Every operator takes a ``numpy.random.Generator`` (never the global ``random``), returns new
trees of the input's class and leaves its inputs untouched. Offspring that break the
``SizeLimits`` are replaced by a copy of their parent (DEAP's ``staticLimit`` rule), so the
output always type-checks and respects the limits when the inputs do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from deap import gp

from primitives.expression import parse, subtree_texts
from primitives.generate import (
    MIN_HEIGHT,
    PRIMITIVES,
    TERMINALS,
    SizeLimits,
    generate_subtree,
    random_constant,
)
from primitives.pset import Constant
from primitives.types import CONSTANT_SPECS, clamped_constant, is_series_type

MUTATIONS = ("subtree", "point", "shrink", "constants")
INTERNAL_NODE_BIAS = 0.9  # Koza: crossover points are internal nodes 90 % of the time
_ATTEMPTS = 10


def _copy(
    tree: gp.PrimitiveTree, nodes: Sequence[gp.Primitive | gp.Terminal] | None = None
) -> gp.PrimitiveTree:
    return type(tree)(list(tree if nodes is None else nodes))


def _pick(rng: np.random.Generator, items: Sequence[int]) -> int:
    return items[int(rng.integers(len(items)))]


def _depths(tree: gp.PrimitiveTree) -> list[int]:
    depths: list[int] = []
    stack = [0]
    for node in tree:
        depth = stack.pop()
        depths.append(depth)
        stack.extend([depth + 1] * node.arity)
    return depths


def _replace(
    tree: gp.PrimitiveTree, index: int, nodes: Sequence[gp.Primitive | gp.Terminal]
) -> list[gp.Primitive | gp.Terminal]:
    span = tree.searchSubtree(index)
    return [*tree[: span.start], *nodes, *tree[span.stop :]]


def _crossover_point(
    tree: gp.PrimitiveTree, candidates: list[int], rng: np.random.Generator
) -> int:
    internal = [i for i in candidates if tree[i].arity > 0]
    if internal and rng.random() < INTERNAL_NODE_BIAS:
        return _pick(rng, internal)
    return _pick(rng, candidates)


def crossover(
    a: gp.PrimitiveTree, b: gp.PrimitiveTree, rng: np.random.Generator, limits: SizeLimits
) -> tuple[gp.PrimitiveTree, gp.PrimitiveTree]:
    """Swap two random subtrees of the same type between ``a`` and ``b`` (typed crossover).

    Roots are never chosen. A child beyond ``limits`` is replaced by a copy of its parent.
    Return two new trees; when the parents share no type, copies of the parents.
    """
    types_b: dict[type, list[int]] = {}
    for i in range(1, len(b)):
        types_b.setdefault(b[i].ret, []).append(i)
    candidates_a = [i for i in range(1, len(a)) if a[i].ret in types_b]
    if not candidates_a:
        return _copy(a), _copy(b)
    i = _crossover_point(a, candidates_a, rng)
    j = _crossover_point(b, types_b[a[i].ret], rng)
    span_a, span_b = a.searchSubtree(i), b.searchSubtree(j)
    child_a = _copy(a, [*a[: span_a.start], *b[span_b], *a[span_a.stop :]])
    child_b = _copy(b, [*b[: span_b.start], *a[span_a], *b[span_b.stop :]])
    return (
        child_a if limits.admits(child_a) else _copy(a),
        child_b if limits.admits(child_b) else _copy(b),
    )


def mutate_subtree(
    tree: gp.PrimitiveTree,
    rng: np.random.Generator,
    limits: SizeLimits,
    max_subtree_depth: int = 4,
) -> gp.PrimitiveTree:
    """Replace a random subtree by a new random subtree of the same type ("grow").

    The new subtree is at most ``max_subtree_depth`` high and the result stays in ``limits``.
    """
    depths = _depths(tree)
    for _ in range(_ATTEMPTS):
        index = int(rng.integers(len(tree)))
        type_ = tree[index].ret
        room = min(limits.max_depth - depths[index], max_subtree_depth)
        height = int(rng.integers(MIN_HEIGHT[type_], max(MIN_HEIGHT[type_], room) + 1))
        child = _copy(tree, _replace(tree, index, generate_subtree(type_, rng, height, full=False)))
        if limits.admits(child):
            return child
    return _copy(tree)


def _alternatives(node: gp.Primitive | gp.Terminal) -> list[gp.Primitive | gp.Terminal]:
    if isinstance(node, Constant):
        return []
    if node.arity == 0:
        return [t for t in TERMINALS[node.ret] if t.name != node.name]
    return [
        p for p in PRIMITIVES[node.ret] if p.name != node.name and list(p.args) == list(node.args)
    ]


def mutate_point(tree: gp.PrimitiveTree, rng: np.random.Generator) -> gp.PrimitiveTree:
    """Replace one node by another of identical signature (or a constant by a new grid value).

    Return a copy of ``tree`` unchanged when no node has an alternative after 10 draws.
    """
    for _ in range(_ATTEMPTS):
        index = int(rng.integers(len(tree)))
        node = tree[index]
        nodes = list(tree)
        if isinstance(node, Constant):
            grid = [v for v in CONSTANT_SPECS[node.ret].grid if v != node.value]
            if not grid:
                continue
            nodes[index] = Constant(grid[int(rng.integers(len(grid)))], node.ret)
            return _copy(tree, nodes)
        options = _alternatives(node)
        if options:
            nodes[index] = options[int(rng.integers(len(options)))]
            return _copy(tree, nodes)
    return _copy(tree)


def mutate_shrink(tree: gp.PrimitiveTree, rng: np.random.Generator) -> gp.PrimitiveTree:
    """Replace a random primitive by one of its strict descendants of the same type (hoist).

    Always shrinks; return an unchanged copy when no primitive has such a descendant.
    """
    choices: list[tuple[int, int]] = []
    for i, node in enumerate(tree):
        if node.arity == 0:
            continue
        span = tree.searchSubtree(i)
        choices.extend((i, j) for j in range(i + 1, span.stop) if tree[j].ret is node.ret)
    if not choices:
        return _copy(tree)
    i, j = choices[int(rng.integers(len(choices)))]
    return _copy(tree, _replace(tree, i, tree[tree.searchSubtree(j)]))


def _jittered(
    node: Constant, rng: np.random.Generator, scale: float, additive: bool, min_scale: float = 0.0
) -> Constant:
    spec = CONSTANT_SPECS[node.ret]
    if min_scale > 0.0:
        # perturbation probe: a move of at least min_scale, up or down with equal odds
        sign = 1.0 if rng.random() < 0.5 else -1.0
        factor = 1.0 + sign * rng.uniform(min_scale, scale)
    else:
        factor = 1.0 + rng.uniform(-scale, scale)
    shift = rng.uniform(-1.0, 1.0) * spec.jitter_unit if additive else 0.0
    return Constant(clamped_constant(node.ret, node.value * factor + shift), node.ret)


def mutate_constants(
    tree: gp.PrimitiveTree, rng: np.random.Generator, scale: float = 0.2
) -> gp.PrimitiveTree:
    """Jitter one random constant: ``v * U(1 - scale, 1 + scale) + U(-1, 1) * unit``.

    The additive unit (``ConstantSpec.jitter_unit``) lets levels at 0 move; categorical
    constants (hour, weekday) are redrawn from their grid. Return a copy when there is none.
    """
    indices = [i for i, node in enumerate(tree) if isinstance(node, Constant)]
    if not indices:
        return _copy(tree)
    index = _pick(rng, indices)
    node = tree[index]
    nodes = list(tree)
    if CONSTANT_SPECS[node.ret].is_jitterable:
        nodes[index] = _jittered(node, rng, scale, additive=True)
    else:
        nodes[index] = random_constant(node.ret, rng)
    return _copy(tree, nodes)


def jitter_constants(
    tree: gp.PrimitiveTree, rng: np.random.Generator, scale: float, *, min_scale: float = 0.0
) -> gp.PrimitiveTree:
    """Return a copy with every window and level multiplied by a factor in [1 - s, 1 + s].

    Each constant draws its own factor; values are rounded to their type's precision and
    clamped to its legal range (windows stay integers >= 1). Hours and weekdays are categorical
    and left unchanged. Used by the fitness layer's parameter-perturbation probe.

    With ``min_scale > 0`` each factor is ``1 ± U(min_scale, scale)`` instead (a random sign
    per constant, then the magnitude): every constant moves by at least ``min_scale`` before
    rounding. ``min_scale = 0`` (the default) keeps the plain ``U(1 - s, 1 + s)`` draw.

    Raises
    ------
    ValueError
        If ``scale`` is not in [0, 1) or ``min_scale`` not in [0, scale].
    """
    if not 0.0 <= scale < 1.0:
        raise ValueError(f"jitter_constants: scale must be in [0, 1), found {scale}")
    if not 0.0 <= min_scale <= scale:
        raise ValueError(
            f"jitter_constants: min_scale must be in [0, scale={scale}], found {min_scale}"
        )
    nodes = list(tree)
    for i, node in enumerate(nodes):
        if isinstance(node, Constant) and CONSTANT_SPECS[node.ret].is_jitterable:
            nodes[i] = _jittered(node, rng, scale, additive=False, min_scale=min_scale)
    return _copy(tree, nodes)


def mutate(
    tree: gp.PrimitiveTree,
    rng: np.random.Generator,
    kind: str,
    limits: SizeLimits | None = None,
) -> gp.PrimitiveTree:
    """Apply the mutation named ``kind`` (one of ``MUTATIONS``) and return the new tree.

    Raises
    ------
    ValueError
        If ``kind`` is unknown.
    """
    limits = limits if limits is not None else SizeLimits()
    if kind == "subtree":
        return mutate_subtree(tree, rng, limits)
    if kind == "point":
        child = mutate_point(tree, rng)
    elif kind == "shrink":
        child = mutate_shrink(tree, rng)
    elif kind == "constants":
        child = mutate_constants(tree, rng)
    else:
        raise ValueError(f"unknown mutation {kind!r}; expected one of {', '.join(MUTATIONS)}")
    return child if limits.admits(child) else _copy(tree)


def series_subtrees(tree: gp.PrimitiveTree | str) -> Counter[str]:
    """Return the multiset of a tree's series subtree texts (constants are not series).

    Compute it once per tree when comparing one tree with many (``subtree_similarity``).
    """
    tree = parse(tree) if isinstance(tree, str) else tree
    texts = subtree_texts(tree)
    return Counter(text for node, text in zip(tree, texts, strict=True) if is_series_type(node.ret))


def subtree_similarity(first: Counter[str], second: Counter[str]) -> float:
    """Return the multiset Jaccard similarity of two ``series_subtrees`` results, in [0, 1].

    |A ∩ B| / |A ∪ B| with |A ∪ B| = |A| + |B| - |A ∩ B| (multiset sizes: integers, so the
    result is exactly what ``Counter``'s ``&`` and ``|`` give, without building either).
    """
    if len(second) < len(first):
        first, second = second, first
    common = sum(min(count, second[text]) for text, count in first.items() if text in second)
    union = sum(first.values()) + sum(second.values()) - common
    return common / union if union else 1.0


def structural_similarity(a: gp.PrimitiveTree | str, b: gp.PrimitiveTree | str) -> float:
    """Return the Jaccard similarity of the multisets of series subtree texts, in [0, 1].

    1.0 for identical strategies, 0.0 when they share no subtree (not even ``close``).
    """
    return subtree_similarity(series_subtrees(a), series_subtrees(b))
