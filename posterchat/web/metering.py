"""Limits and accounting around the model endpoints: the key's budget and rate limits before, usage after."""

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
    """Dependency of the model endpoints: the key's monthly budget, then tokens and requests per minute."""
    services = request.app.state.services
    key = getattr(request.state, "api_key", None)
    if key is not None and key.monthly_budget is not None:
        await to_thread.run_sync(services.meter.check_budget, key)
    if not services.limiter.enabled:
        return
    decision = await services.limiter.admit(_identity(request))
    request.state.rate_limit_headers = decision.headers
    if not decision.allowed:
        raise RateLimited(decision.message, retry_after=decision.retry_after)


async def account(request: Request, model: str, usage: Usage, *, local: bool) -> None:
    """Record a turn's usage for the caller and count its tokens against the limit; never fails the answer."""
    services = request.app.state.services
    try:
        cost = services.usage_writer.write(getattr(request.state, "owner", OPEN_OWNER), model, usage, local=local)
        services.metrics.record_tokens(model, usage, cost)
    except Exception:  # the answer is already the caller's; losing one usage row must not fail it
        log.exception("could not record usage for %s", model)
    await services.limiter.charge(_identity(request), usage.total_tokens)


async def accounted(request: Request, turn, stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """Pass a turn's stream on, and account for it however it ends: finished, stopped, or cut off."""
    try:
        async for item in stream:
            yield item
    finally:
        if turn.started:
            with anyio.CancelScope(shield=True):  # a client that left cancels this request; its tokens still count
                await account(request, turn.model, turn.usage(), local=turn.provider.runs_in_process)


def _identity(request: Request) -> str:
    """Whose limits a request counts against: its key, or its address on an open server."""
    identity = getattr(request.state, "rate_identity", None)
    if identity is None:  # a request the gate did not see, as in tests that build routers alone
        identity = f"ip:{request.client.host if request.client else 'unknown'}"
    return identity
