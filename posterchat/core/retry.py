"""The one retry policy: which failures are tried again, how long to wait, and for how many tries (tenacity)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ..errors import PosterchatError

log = logging.getLogger("posterchat.retry")

T = TypeVar("T")
BACKOFF_BASE = 2.0
MAX_DELAY = 30.0
JITTER = 0.25  # up to this fraction of retry_wait is added at random, so clients that failed together spread out


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures (PosterchatError.transient) are retried before an answer starts, with exponential
    backoff from `retry_wait`; a Retry-After wins when given, and one beyond `max_retry_after` is not waited out."""

    max_retries: int = 3
    retry_wait: float = 1.0
    max_retry_after: float = 30.0
    jitter: float = JITTER
    on_retry: Callable[[PosterchatError], None] | None = field(default=None, compare=False)

    def should_retry(self, exc: BaseException) -> bool:
        """Whether `exc` is worth another try under this policy."""
        if not isinstance(exc, PosterchatError) or not exc.transient:
            return False
        return exc.retry_after is None or exc.retry_after <= self.max_retry_after

    def delay(self, state: RetryCallState) -> float:
        """Seconds before the next try: the failure's Retry-After, else exponential backoff with jitter."""
        failure = state.outcome.exception() if state.outcome else None
        retry_after = getattr(failure, "retry_after", None)
        if retry_after is not None:
            return max(0.0, retry_after)
        backoff = wait_exponential_jitter(initial=self.retry_wait, max=MAX_DELAY, exp_base=BACKOFF_BASE,
                                          jitter=self.retry_wait * self.jitter)
        return max(0.0, backoff(state))

    def _before_sleep(self, state: RetryCallState) -> None:
        failure = state.outcome.exception()
        log.debug("retry %d/%d in %.2fs after: %s", state.attempt_number, self.max_retries,
                  state.upcoming_sleep, getattr(failure, "message", failure))
        if self.on_retry:
            self.on_retry(failure)

    def retrying(self) -> AsyncRetrying:
        """tenacity's loop for this policy; the last failure is raised as it is."""
        return AsyncRetrying(stop=stop_after_attempt(self.max_retries + 1), wait=self.delay,
                             retry=retry_if_exception(self.should_retry), before_sleep=self._before_sleep,
                             reraise=True)

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await a fresh `attempt()` until it succeeds or the policy gives up."""
        # The first try runs outside tenacity, whose loop costs ~0.04 ms a call (bench/notes.md): a gateway request
        # that succeeds at once never enters it. A failure worth retrying is replayed as tenacity's own first try,
        # so the tries, waits and logs are the same as when tenacity made it.
        try:
            return await attempt()
        except PosterchatError as exc:
            if not self.should_retry(exc) or self.max_retries < 1:
                raise
            failed: PosterchatError | None = exc
        async for trying in self.retrying():
            with trying:
                if failed is not None:
                    replay, failed = failed, None
                    raise replay
                return await attempt()
        raise AssertionError("tenacity either returns or raises")

    async def open(self, attempt: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """A stream whose opening and first item are retried; a failure after the first item is not."""
        async def first() -> tuple[list[T], AsyncIterator[T]]:
            stream = attempt()
            try:
                return [await anext(stream)], stream
            except StopAsyncIteration:
                return [], stream
            except BaseException:
                await stream.aclose()
                raise

        head, stream = await self.call(first)
        return _chain(head, stream)


async def _chain(head: list[T], stream: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        for item in head:
            yield item
        async for item in stream:
            yield item
    finally:
        await stream.aclose()
