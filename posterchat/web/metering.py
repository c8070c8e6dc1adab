"""Limits and accounting around the model endpoints: rate limits and the key's budget before, usage after.

A turn is held against its key's budget at its worst-case cost before it runs, and settled (its usage stored, its
hold released) however it ends: answered, stopped, cut off, or left by the client. A turn that never began uses
nothing and only lets go of its hold.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TypeVar

import anyio
from anyio import to_thread
from fastapi import Request

from ..errors import RateLimited
from ..providers import Usage
from .deps import OPEN_OWNER

log = logging.getLogger("posterchat.web")
T = TypeVar("T")


async def metered(request: Request) -> None:
    """Dependency of the model endpoints: tokens and requests per minute."""
    services = request.app.state.services
    if not services.limiter.enabled:
        return
    decision = await services.limiter.admit(_identity(request))
    request.state.rate_limit_headers = decision.headers
    if not decision.allowed:
        raise RateLimited(decision.message, retry_after=decision.retry_after)


async def hold(request: Request, turn) -> str | None:
    """Hold the turn's worst-case cost against the caller's budget (None without one); 429 once it is spent."""
    key = getattr(request.state, "api_key", None)
    if key is None or key.monthly_budget is None:
        return None
    meter = request.app.state.services.meter
    return await to_thread.run_sync(lambda: meter.hold(key, turn.model, turn.worst(),
                                                       local=turn.provider.runs_in_process))


async def settle(request: Request, turn, held: str | None) -> None:
    """Account for a turn that began, or let go of the hold of one that did not."""
    if turn.started:
        await account(request, turn.model, turn.usage(), local=turn.provider.runs_in_process, held=held)
    else:
        request.app.state.services.usage_writer.release(held)


async def account(request: Request, model: str, usage: Usage, *, local: bool, held: str | None = None) -> None:
    """Record a turn's usage for the caller and count its tokens against the limit; never fails the answer."""
    services = request.app.state.services
    try:
        cost = services.usage_writer.write(getattr(request.state, "owner", OPEN_OWNER), model, usage, local=local,
                                           hold=held)
        services.metrics.record_tokens(model, usage, cost)
    except Exception:  # the answer is already the caller's; losing one usage row must not fail it
        log.exception("could not record usage for %s", model)
    await services.limiter.charge(_identity(request), usage.total_tokens)


async def accounted(request: Request, turn, stream: AsyncIterator[T], held: str | None = None) -> AsyncIterator[T]:
    """Pass a turn's stream on, and settle it however it ends: finished, stopped, or cut off."""
    try:
        async for item in stream:
            yield item
    finally:
        with anyio.CancelScope(shield=True):  # a client that left cancels this request; its tokens still count
            await settle(request, turn, held)


def _identity(request: Request) -> str:
    """Whose limits a request counts against: its key, or its address on an open server."""
    identity = getattr(request.state, "rate_identity", None)
    if identity is None:  # a request the gate did not see, as in tests that build routers alone
        identity = f"ip:{request.client.host if request.client else 'unknown'}"
    return identity
