"""Requests and tokens per minute per caller, counted in memory or in Redis with the `limits` library."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from ..config import Settings
from . import windows

log = logging.getLogger("posterchat.ratelimit")

WINDOW_SECONDS = 60
REDIS_TIMEOUT = 2.0  # seconds; a stalled Redis must not stall the chat


@dataclass
class Decision:
    """Whether a request may go ahead, and the X-RateLimit headers that describe the caller's limits."""

    allowed: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    message: str = ""


def storage_uri(redis_url: str) -> str:
    """The `limits` storage URI for a Redis URL: its asyncio client."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


class RateLimiter:
    """Requests per minute in a moving window; tokens per minute in a fixed window, charged after each answer.

    Tokens use a fixed window because a moving window stores one entry per unit counted, and because an
    answer's tokens must be counted in full even when they overshoot the limit.
    """

    def __init__(self, settings: Settings):
        self.storage = None
        if settings.redis_url:  # shared by every instance
            self.storage = storage_from_string(
                storage_uri(settings.redis_url), implementation="redispy", key_prefix=settings.rate_limit_prefix,
                wrap_exceptions=True, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT,
            )
            self.requests = MovingWindowRateLimiter(self.storage)
            self.tokens = FixedWindowRateLimiter(self.storage)
        else:
            self.requests, self.tokens = windows.MovingWindow(), windows.FixedWindow()
        self.rpm = _per_minute(settings.rate_limit_rpm, settings.rate_limit_prefix)
        self.tpm = _per_minute(settings.rate_limit_tpm, settings.rate_limit_prefix)

    @property
    def enabled(self) -> bool:
        return bool(self.rpm or self.tpm)

    async def admit(self, identity: str) -> Decision:
        """Count a request against `identity`'s limits; refuse it when either is used up."""
        try:
            return await self._admit(identity)
        except StorageError as exc:  # a broken counter store must not take the whole API down
            log.warning("rate limits are not enforced: the counter store failed: %s", exc.storage_error)
            return Decision()

    async def _admit(self, identity: str) -> Decision:
        decision = Decision()
        if self.tpm:
            tokens = await self.tokens.get_window_stats(self.tpm, "tokens", identity)
            decision.headers.update(_headers(self.tpm, tokens.remaining, tokens.reset_time, "-Tokens"))
            # X-RateLimit-* describe the requests limit, or the tokens limit when that is the one in force
            if tokens.remaining <= 0 or not self.rpm:
                decision.headers.update(_headers(self.tpm, tokens.remaining, tokens.reset_time))
            if tokens.remaining <= 0:
                return _refused(decision, tokens.reset_time, f"the limit of {self.tpm.amount} tokens per minute "
                                                             "is used up")
        if self.rpm:
            allowed = await self.requests.hit(self.rpm, "requests", identity)
            requests = await self.requests.get_window_stats(self.rpm, "requests", identity)
            decision.headers.update(_headers(self.rpm, requests.remaining, requests.reset_time))
            if not allowed:
                return _refused(decision, requests.reset_time, f"the limit of {self.rpm.amount} requests per "
                                                               "minute is reached")
        return decision

    async def charge(self, identity: str, tokens: int) -> None:
        """Count a finished answer's tokens, even past the limit, so later requests wait."""
        if not self.tpm or tokens <= 0:
            return
        try:
            await self.tokens.hit(self.tpm, "tokens", identity, cost=tokens)
        except StorageError as exc:
            log.warning("tokens were not counted: the counter store failed: %s", exc.storage_error)

    async def check(self) -> bool:
        """Whether the counter store answers."""
        if self.storage is None:
            return True
        try:
            return await self.storage.check()
        except Exception:
            return False


def _per_minute(amount: int, namespace: str) -> RateLimitItemPerMinute | None:
    return RateLimitItemPerMinute(amount, namespace=namespace) if amount else None


def _headers(item: RateLimitItemPerMinute, remaining: int, reset: float, suffix: str = "") -> dict[str, str]:
    """X-RateLimit-Limit, -Remaining and -Reset (Unix time, seconds), optionally for the tokens limit."""
    remaining = max(0, remaining)
    if remaining >= item.amount:  # nothing counted yet: a fresh window would start now
        reset = time.time() + WINDOW_SECONDS
    return {f"X-RateLimit-Limit{suffix}": str(item.amount), f"X-RateLimit-Remaining{suffix}": str(remaining),
            f"X-RateLimit-Reset{suffix}": str(math.ceil(reset))}


def _refused(decision: Decision, reset: float, reason: str) -> Decision:
    decision.allowed = False
    decision.retry_after = max(1.0, reset - time.time())
    decision.message = f"{reason}; retry in {math.ceil(decision.retry_after)} s"
    return decision
