"""The one retry layer: which failures are retried and how long to wait."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable

import anyio

from .errors import PosterchatError, UpstreamError

log = logging.getLogger("posterchat.retry")

BACKOFF_FACTOR = 2.0
MAX_DELAY = 30.0
JITTER = 0.25  # delays vary by up to ±25%


class Retryable(UpstreamError):
    """A transient upstream failure that may succeed when tried again."""

    def __init__(self, cause: PosterchatError):
        super().__init__(cause.message, retry_after=cause.retry_after)
        self.cause = cause


def delay(attempt: int, retry_wait: float, retry_after: float | None = None, jitter: float = 0.0) -> float:
    """Seconds to wait before retry number `attempt` (1-based); Retry-After wins when given."""
    if retry_after is not None:
        return max(0.0, retry_after)
    base = min(MAX_DELAY, retry_wait * BACKOFF_FACTOR ** (attempt - 1))
    return max(0.0, base * (1 + jitter))


async def retrying(
    attempt_stream: Callable[[], AsyncIterator],
    *,
    max_retries: int,
    retry_wait: float,
    max_retry_after: float,
    on_retry: Callable[[PosterchatError], None] | None = None,
) -> AsyncIterator:
    """Yield from a fresh stream per attempt, retrying Retryable failures raised before the first item."""
    attempt = 0
    while True:
        started = False
        try:
            async for item in attempt_stream():
                started = True
                yield item
            return
        except Retryable as exc:
            cause = exc.cause
            too_long = cause.retry_after is not None and cause.retry_after > max_retry_after
            if started or attempt >= max_retries or too_long:
                raise cause from None
            attempt += 1
            wait = delay(attempt, retry_wait, cause.retry_after, random.uniform(-JITTER, JITTER))
            log.debug("retry %d/%d in %.2fs after: %s", attempt, max_retries, wait, cause.message)
            if on_retry:
                on_retry(cause)
            await anyio.sleep(wait)
