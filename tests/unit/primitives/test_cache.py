"""The one bounded LRU cache (primitives.cache): byte bound, entry bound, recency, counters."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from primitives import LRUCache


def _array_cache(max_bytes: int, **kwargs: int) -> LRUCache[np.ndarray]:
    return LRUCache(max_bytes, size_of=lambda a: int(a.nbytes), **kwargs)


def test_lru_cache_when_over_byte_budget_then_least_recently_used_evicted_first() -> None:
    cache = _array_cache(3 * 80)  # three arrays of 10 float64
    for key in "abc":
        cache.put(key, np.zeros(10))
    cache.get("a")  # "b" is now the least recently used

    cache.put("d", np.zeros(10))

    assert list(cache) == ["c", "a", "d"] and cache.bytes == 240 and len(cache) == 3


def test_lru_cache_when_value_larger_than_budget_then_not_stored() -> None:
    cache = _array_cache(100)
    cache.put("small", np.zeros(5))

    stored = cache.put("big", np.zeros(20))

    assert stored is False and list(cache) == ["small"] and cache.bytes == 40


def test_lru_cache_when_one_big_value_then_evicts_as_many_as_needed() -> None:
    cache = _array_cache(100)
    for key in "abcde":
        cache.put(key, np.zeros(2))  # 16 bytes each: 80 bytes

    cache.put("big", np.zeros(10))  # 80 bytes: only "e" (16) fits beside it

    assert list(cache) == ["e", "big"] and cache.bytes == 96


def test_lru_cache_when_entry_budget_then_oldest_entries_dropped() -> None:
    cache: LRUCache[int] = LRUCache(None, max_entries=2)
    for key, value in zip("abc", (1, 2, 3), strict=True):
        cache.put(key, value)

    assert list(cache) == ["b", "c"] and cache.get("a") is None and cache.get("c") == 3


def test_lru_cache_when_key_stored_again_then_value_replaced_and_most_recent() -> None:
    cache = _array_cache(1_000)
    cache.put("a", np.zeros(10))
    cache.put("b", np.zeros(10))

    cache.put("a", np.ones(5))

    assert list(cache) == ["b", "a"] and cache.bytes == 120
    assert np.array_equal(cache.get("a"), np.ones(5))  # type: ignore[arg-type]


def test_lru_cache_when_lookups_then_hits_misses_and_rate_counted() -> None:
    cache: LRUCache[str] = LRUCache(None)
    assert cache.hit_rate == 0.0
    cache.put("a", "x")

    results = [cache.get("a"), cache.get("b"), cache.get("a")]

    assert results == ["x", None, "x"] and (cache.hits, cache.misses) == (2, 1)
    assert cache.hit_rate == pytest.approx(2 / 3)


def test_lru_cache_when_cleared_then_empty_and_counters_reset_unless_kept() -> None:
    cache = _array_cache(1_000)
    cache.put("a", np.zeros(3))
    cache.get("a")
    cache.get("z")

    cache.clear(reset_counters=False)
    assert (len(cache), cache.bytes, cache.hits, cache.misses) == (0, 0, 1, 1)
    cache.clear()
    assert (cache.hits, cache.misses) == (0, 0)


def test_lru_cache_when_zero_entry_budget_then_stores_nothing() -> None:
    cache: LRUCache[int] = LRUCache(None, max_entries=0)

    assert cache.put("a", 1) is False and len(cache) == 0


@pytest.mark.parametrize(("max_bytes", "max_entries"), [(-1, None), (10, -1)])
def test_lru_cache_when_negative_budget_then_value_error(
    max_bytes: int, max_entries: int | None
) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        LRUCache(max_bytes, max_entries=max_entries)


def test_lru_cache_when_pickled_then_same_entries_and_order() -> None:
    cache: LRUCache[int] = LRUCache(None, max_entries=3)
    for key, value in zip("abc", (1, 2, 3), strict=True):
        cache.put(key, value)

    copy = pickle.loads(pickle.dumps(cache))

    assert list(copy) == ["a", "b", "c"] and copy.get("b") == 2
