"""Server-Sent Events: answers start streaming only once the first chunk has arrived."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

PING_SECONDS = 15
SEP = "\r\n"


async def primed(stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """Wait for the first chunk here, so failures before it still get a proper HTTP status."""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        return _rest([], stream)
    return _rest([first], stream)


async def _rest(head: list[str], stream: AsyncIterator[str]) -> AsyncIterator[str]:
    for item in head:
        yield item
    async for item in stream:
        yield item


def event(name: str | None, data: Any) -> dict[str, str]:
    """One SSE event with a JSON payload (or a raw string)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return {"event": name, "data": payload} if name else {"data": payload}


def encode(item: dict[str, str]) -> bytes:
    """One event on the wire: `event:` (when named), one `data:` line per line of data, then a blank line."""
    lines = [f"event: {item['event']}"] if item.get("event") else []
    lines += [f"data: {line}" for line in item["data"].split("\n")]
    return (SEP.join(lines) + SEP + SEP).encode()


class EventStream(Response):
    """A text/event-stream response that costs little per event (it sends thousands per second under load).

    Events are encoded and sent as they come; a comment goes out every `ping` seconds to keep proxies from closing
    an idle stream; a client that disconnects cancels `events`, which stops generation.
    """

    def __init__(self, events: AsyncIterator[dict[str, str]], ping: float = PING_SECONDS,
                 headers: dict[str, str] | None = None):
        self.events, self.ping, self.background = events, ping, None
        self.status_code, self.media_type = 200, "text/event-stream"
        self.raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"connection", b"keep-alive")]
        self.raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                             for name, value in (headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with anyio.create_task_group() as group:
            async def stream() -> None:
                async for item in self.events:
                    await send({"type": "http.response.body", "body": encode(item), "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()

            async def keep_alive() -> None:
                while True:
                    await anyio.sleep(self.ping)
                    comment = f": ping - {datetime.now(UTC)}{SEP}{SEP}".encode()
                    await send({"type": "http.response.body", "body": comment, "more_body": True})

            async def disconnected() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(stream)
            group.start_soon(disconnected)
            if self.ping > 0:
                group.start_soon(keep_alive)
        if self.background is not None:  # e.g. settling an Idempotency-Key, after a finished or abandoned stream
            await self.background()


def sse(events: AsyncIterator[dict[str, str]]) -> EventStream:
    """A streaming response; a client that disconnects cancels `events`, which stops generation."""
    return EventStream(events, ping=PING_SECONDS, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
