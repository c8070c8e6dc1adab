"""A short-lived cache for the reads made on every request: the caller's API key and preferences."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache

T = TypeVar("T")

READ_CACHE_SECONDS = 1.0  # how long another instance's change may go unseen: a revoked key works up to this long
READ_CACHE_ENTRIES = 10_000


class ReadCache:
    """Values loaded from the database, kept for READ_CACHE_SECONDS; this process's own writes forget them at once."""

    def __init__(self, seconds: float = READ_CACHE_SECONDS, entries: int = READ_CACHE_ENTRIES,
                 timer: Callable[[], float] = time.monotonic):
        self._cache: TTLCache | None = TTLCache(entries, seconds, timer) if seconds > 0 else None
        self._lock = threading.Lock()  # reads also run on worker threads (PostgreSQL)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value for `key`, or `load()`'s, which is then cached."""
        if self._cache is None:
            return load()
        with self._lock:
            try:  # one lookup: between `key in` and `[key]` the entry could expire (a KeyError, a 500)
                return self._cache[key]
            except KeyError:
                pass
        value = load()
        with self._lock:
            self._cache[key] = value
        return value

    def forget(self, key: Hashable) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.pop(key, None)
