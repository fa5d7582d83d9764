"""The one bounded LRU cache: entries evicted least recently used first beyond a byte budget.

Used by the subtree memo (``primitives.interpret.Memo``), the semantic backtest cache
(``fitness.evaluation.semantic``) and the engine's id → result cache. Callers own their key
policy (what to store, when to refuse); this class owns recency, the size accounting and the
hit/miss counters.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["LRUCache"]

V = TypeVar("V")


def _no_bytes(_: object) -> int:
    return 0


class LRUCache(Generic[V]):
    """A least-recently-used map bounded by total bytes and, optionally, by entry count.

    Parameters
    ----------
    max_bytes : int or None
        Byte budget (>= 0): after a store, least recently used entries are evicted until the
        sizes of those kept sum to at most this. A value larger than the budget is not stored.
        None: no byte limit (then ``max_entries`` bounds the cache).
    size_of : callable, optional
        ``size_of(value) -> int`` bytes of one value (e.g. ``ndarray.nbytes``); the default
        counts 0, so only ``max_entries`` bounds the cache.
    max_entries : int, optional
        Entry budget (>= 0); None for no limit beyond the bytes.

    Attributes
    ----------
    hits, misses : int
        Lookups by :meth:`get` that found / did not find their key.
    bytes : int
        Total ``size_of`` of the stored values.
    """

    __slots__ = ("_size_of", "_store", "bytes", "hits", "max_bytes", "max_entries", "misses")

    def __init__(
        self,
        max_bytes: int | None,
        *,
        size_of: Callable[[V], int] = _no_bytes,
        max_entries: int | None = None,
    ) -> None:
        if (max_bytes is not None and max_bytes < 0) or (
            max_entries is not None and max_entries < 0
        ):
            raise ValueError(
                f"LRUCache: max_bytes and max_entries must be >= 0, found {max_bytes} and "
                f"{max_entries}"
            )
        self.max_bytes = max_bytes if max_bytes is not None else sys.maxsize
        self.max_entries = max_entries
        self._size_of = size_of
        self._store: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._store

    def __iter__(self) -> Iterator[Hashable]:
        """Iterate over the keys, least recently used first."""
        return iter(self._store)

    @property
    def hit_rate(self) -> float:
        """Return hits / lookups (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def get(self, key: Hashable) -> V | None:
        """Return the value of ``key`` and mark it most recently used, or None (a miss)."""
        item = self._store.get(key)
        if item is None:
            self.misses += 1
            return None
        self._store.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: Hashable, value: V) -> bool:
        """Store ``value`` as the most recently used entry, then evict beyond the budgets.

        A key already present gets the new value and becomes the most recently used. Returns
        False, storing nothing, when the value alone exceeds ``max_bytes`` or ``max_entries``
        is 0.
        """
        size = int(self._size_of(value))
        if size > self.max_bytes or self.max_entries == 0:
            return False
        previous = self._store.pop(key, None)
        if previous is not None:
            self.bytes -= previous[1]
        self._store[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes or (
            self.max_entries is not None and len(self._store) > self.max_entries
        ):
            _, (_, evicted) = self._store.popitem(last=False)
            self.bytes -= evicted
        return True

    def clear(self, *, reset_counters: bool = True) -> None:
        """Drop every entry; also zero ``hits`` and ``misses`` unless ``reset_counters=False``."""
        self._store.clear()
        self.bytes = 0
        if reset_counters:
            self.hits = 0
            self.misses = 0
