"""Server-Sent Events (sse-starlette): answers start streaming only once the first chunk has arrived."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from sse_starlette import EventSourceResponse

T = TypeVar("T")
PING_SECONDS = 15
SEP = "\r\n"


async def primed(stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """Wait for the first item here, so failures before it still get a proper HTTP status."""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        return _rest([], stream)
    return _rest([first], stream)


async def _rest(head: list[T], stream: AsyncIterator[T]) -> AsyncIterator[T]:
    for item in head:
        yield item
    async for item in stream:
        yield item


def event(name: str | None, data: Any) -> dict[str, str]:
    """One SSE event with a JSON payload (or a raw string)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return {"event": name, "data": payload} if name else {"data": payload}


def sse(events: AsyncIterator[dict[str, str]]) -> EventSourceResponse:
    """A text/event-stream response (sse-starlette): a comment every PING_SECONDS keeps proxies from closing an
    idle stream, and a client that disconnects cancels `events`, which stops generation."""
    return EventSourceResponse(events, ping=PING_SECONDS, sep=SEP)
