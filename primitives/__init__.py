"""Strongly typed, numba-compiled building blocks of strategy expressions (layer 0).

Public API is listed in ``__all__``; anything else is private.
"""

from __future__ import annotations

from primitives.arrays import BoolArray, Float64Array, Int64Array, MarketLike, as_float64
from primitives.cache import LRUCache
from primitives.errors import ExpressionError, MarketInputError, PrimitiveTypeError
from primitives.expression import (
    canonical_text,
    check_tree,
    id_of_canonical,
    parse,
    pretty,
    strategy_id,
    subtree_texts,
    to_text,
)
from primitives.generate import SizeLimits, random_tree
from primitives.interpret import CompiledStrategy, Memo, compile, warmup
from primitives.pset import PSET_VERSION, Constant, build_pset
from primitives.registry import PrimitiveEntry, registry
from primitives.variation import (
    MUTATIONS,
    crossover,
    jitter_constants,
    mutate,
    mutate_constants,
    mutate_point,
    mutate_shrink,
    mutate_subtree,
    series_subtrees,
    structural_similarity,
    subtree_similarity,
)

__all__ = [
    "MUTATIONS",
    "PSET_VERSION",
    "BoolArray",
    "CompiledStrategy",
    "Constant",
    "ExpressionError",
    "Float64Array",
    "Int64Array",
    "LRUCache",
    "MarketInputError",
    "MarketLike",
    "Memo",
    "PrimitiveEntry",
    "PrimitiveTypeError",
    "SizeLimits",
    "as_float64",
    "build_pset",
    "canonical_text",
    "check_tree",
    "compile",
    "crossover",
    "id_of_canonical",
    "jitter_constants",
    "mutate",
    "mutate_constants",
    "mutate_point",
    "mutate_shrink",
    "mutate_subtree",
    "parse",
    "pretty",
    "random_tree",
    "registry",
    "series_subtrees",
    "strategy_id",
    "structural_similarity",
    "subtree_similarity",
    "subtree_texts",
    "to_text",
    "warmup",
]
