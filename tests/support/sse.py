"""Reading Server-Sent Events in tests and benchmarks, with httpx-sse."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
from httpx_sse import EventSource


def events(response: httpx.Response) -> Iterator[tuple[str, object]]:
    """(event name, parsed data) for each event of a streaming response."""
    for sse in EventSource(response).iter_sse():
        yield sse.event, sse.data if sse.data == "[DONE]" else json.loads(sse.data)
