"""Runs the async core from synchronous callers on one long-lived event loop."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

T = TypeVar("T")
_lock = threading.Lock()
_portal: BlockingPortal | None = None
_closers: list[Callable[[], Awaitable[None]]] = []


def _get() -> BlockingPortal:
    """Start the shared portal on first use; it lives until the process exits."""
    global _portal
    with _lock:
        if _portal is None:
            manager = start_blocking_portal()
            _portal = manager.__enter__()

            def stop() -> None:
                for close in reversed(_closers):
                    _portal.call(close)
                manager.__exit__(None, None, None)

            atexit.register(stop)
        return _portal


def close_at_exit(close: Callable[[], Awaitable[None]]) -> None:
    """Run `close` on the portal's loop before it stops at exit (connections opened there close cleanly)."""
    _closers.append(close)


def run(func: Callable[..., Awaitable[T]], *args) -> T:
    """Call an async function from sync code and return its result."""
    return _get().call(func, *args)
