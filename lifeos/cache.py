"""Bounded in-memory caches whose lookups show in `/metrics` (`lifeos_cache_lookups_total`
by cache and result), so a hit rate is measured rather than assumed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

from lifeos.metrics import cache_lookup

V = TypeVar("V")


class CountedLRU(Generic[V]):
    """A thread-safe least-recently-used map of at most `maxsize` values, named `name` in
    the metrics. `make` runs outside the lock: two threads missing the same key both make
    it (the same value) rather than one waiting on the other's model call."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self._values: LRUCache[Hashable, V] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._values.get(key)
        cache_lookup(self.name, value is not None)
        return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._values[key] = value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value
