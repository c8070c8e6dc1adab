"""Rate-limit windows in this process's memory, with the `limits` strategies' interface.

`limits` counts in Redis, shared by every instance. Its in-memory storage keeps an object per request in a list that
every hit shifts and a timer thread copies every 10 ms: at a gateway's rate, with a high limit, ~0.1 ms of each
request and ~170 bytes per request of the last minute (bench/notes.md). These keep a deque of hit times per caller
(moving window) and one count per caller (fixed window): the same answers, in constant time per hit.
"""

from __future__ import annotations

import time
from collections import deque

from limits import RateLimitItem
from limits.util import WindowStats

SWEEP_SECONDS = 60.0  # how often callers with nothing left in their window are forgotten


def _key(item: RateLimitItem, identifiers: tuple[str, ...]) -> tuple:
    """The caller's counter for this limit (limits' own `key_for` builds a string: 4 µs a call, several a request)."""
    return (item.amount, item.multiples, item.GRANULARITY.seconds, *identifiers)


class MovingWindow:
    """`limits`' moving window: at most `amount` hits in any span of the item's length, counted per caller."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._swept = time.monotonic()

    def _live(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> deque[float]:
        """The caller's hits still inside the window, oldest first."""
        self._sweep(item)
        hits = self._hits.setdefault(_key(item, identifiers), deque())
        cutoff = time.time() - item.get_expiry()
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def _sweep(self, item: RateLimitItem) -> None:
        """Forget the callers with nothing left in the window, once every SWEEP_SECONDS."""
        if time.monotonic() - self._swept < SWEEP_SECONDS:
            return
        self._swept = time.monotonic()
        cutoff = time.time() - item.get_expiry()
        self._hits = {key: hits for key, hits in self._hits.items() if hits and hits[-1] > cutoff}

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count `cost` hits if they fit in the window; whether they did."""
        hits = self._live(item, identifiers)
        if len(hits) + cost > item.amount:
            return False
        hits.extend([time.time()] * cost)
        return True

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the oldest hit leaves the window, and how many more fit now."""
        hits = self._live(item, identifiers)
        start = hits[0] if hits else time.time()
        return WindowStats(start + item.get_expiry(), item.amount - len(hits))


class FixedWindow:
    """`limits`' fixed window: a count per caller that starts with its first hit and clears when the window ends."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window end, count)
        self._swept = time.monotonic()

    def _sweep(self) -> None:
        """Forget the callers whose window has ended, once every SWEEP_SECONDS."""
        if time.monotonic() - self._swept < SWEEP_SECONDS:
            return
        self._swept, now = time.monotonic(), time.time()
        self._counts = {key: window for key, window in self._counts.items() if window[0] > now}

    def _current(self, item: RateLimitItem, key: str) -> tuple[float, int]:
        end, count = self._counts.get(key, (0.0, 0))
        if end <= time.time():
            return time.time() + item.get_expiry(), 0
        return end, count

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count `cost`, even past the limit; whether the count is still within it."""
        self._sweep()
        key = _key(item, identifiers)
        end, count = self._current(item, key)
        self._counts[key] = (end, count + cost)
        return count + cost <= item.amount

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the window ends, and how much of the limit is left."""
        end, count = self._current(item, _key(item, identifiers))
        return WindowStats(end, max(0, item.amount - count))
