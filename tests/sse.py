"""Reading Server-Sent Events in tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx


def events(response: httpx.Response) -> Iterator[tuple[str, object]]:
    """(event name, parsed data) for each event of a streaming response; comments are skipped."""
    name, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                raw = "\n".join(data)
                yield name, raw if raw == "[DONE]" else json.loads(raw)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
