"""The in-memory rate-limit windows answer as `limits`' own strategies do, hit for hit, on one scripted clock."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from posterchat.core import windows

# (seconds since the start, cost of the hit): bursts, just past a window's edge (limits counts a hit exactly 60 s
# old as inside when hitting but not in its stats; real clocks never land there), a cost beyond what is left, quiet
SCRIPT = [(0, 1), (0.5, 1), (10, 1), (10, 1), (30, 2), (59.9, 1), (60.01, 1), (60.4, 1), (61, 3), (70, 1), (90, 1),
          (119.9, 1), (121, 2), (200, 1), (200, 4), (200.1, 1), (259, 1), (400, 5)]


@pytest.mark.parametrize(("ours", "theirs"), [(windows.MovingWindow, MovingWindowRateLimiter),
                                              (windows.FixedWindow, FixedWindowRateLimiter)])
def test_the_same_answers_as_limits(monkeypatch, ours, theirs):
    clock = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    item = RateLimitItemPerMinute(4, namespace="test")
    mine, reference = ours(), theirs(MemoryStorage())
    for seconds, cost in SCRIPT:
        clock[0] = 1_700_000_000.0 + seconds
        for caller in ("key:a", "key:b") if seconds < 100 else ("key:a",):
            allowed = asyncio.run(mine.hit(item, "requests", caller, cost=cost))
            assert allowed == reference.hit(item, "requests", caller, cost=cost), (seconds, caller)
            stats, expected = (asyncio.run(mine.get_window_stats(item, "requests", caller)),
                               reference.get_window_stats(item, "requests", caller))
            assert stats.remaining == expected.remaining, (seconds, caller)
            if expected.remaining < item.amount:  # an empty window has no reset time of its own
                assert stats.reset_time == pytest.approx(expected.reset_time), (seconds, caller)


def test_callers_with_nothing_left_in_the_window_are_forgotten(monkeypatch):
    clock = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr(windows, "SWEEP_SECONDS", 0.0)
    item = RateLimitItemPerMinute(4)
    moving, fixed = windows.MovingWindow(), windows.FixedWindow()
    for caller in ("ip:1", "ip:2", "ip:3"):
        asyncio.run(moving.hit(item, caller))
        asyncio.run(fixed.hit(item, caller))
    clock[0] += 61
    asyncio.run(moving.hit(item, "ip:4"))
    asyncio.run(fixed.hit(item, "ip:4"))
    assert len(moving._hits) == 1 and len(fixed._counts) == 1
