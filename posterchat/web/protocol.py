"""uvicorn's httptools protocol with a limit on the request head's size and a deadline for it to arrive.

httptools buffers a header of any size (a 200 MB one was accepted), and a connection that sends its head slowly,
or nothing at all, is never closed. This protocol counts the bytes of the head as they arrive and answers 431 once
they pass `POSTERCHAT_MAX_HEADER_BYTES`, and closes a connection whose head is not complete within
`POSTERCHAT_HEADER_TIMEOUT` seconds of the connection's start or of the request's first byte (408). Idle
keep-alive connections are closed by uvicorn's own `timeout_keep_alive`. It is passed to uvicorn as
`http="posterchat.web.protocol:GuardedHttpTools"` by `posterchat serve` (cli/serve.py), for every worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..config import get_settings
from .errors import error_response


def refusal(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response in the API's JSON error shape that closes the connection."""
    body = error_response(status, code, message).body
    head = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    return STATUS_LINE[status] + head + body


class GuardedHttpTools(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized request heads (431) and slow or silent ones (408)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.head_timeout = settings.header_timeout
        self.head_bytes = 0
        self.reading_head = True  # until a head is complete, and again once its body is read
        self.head_done = False  # a head was completed by the chunk being parsed
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self.reading_head  # the chunk that ends a body is not a head, even though one may follow it
        if counting:
            self._arm()  # a new request's first bytes (uvicorn's keep-alive timer stops here)
        self.head_done = False
        super().data_received(data)
        if counting and self.reading_head and not self.head_done and not self.transport.is_closing():
            self.head_bytes += len(data)  # read chunks are at most 256 KiB, so the buffer stays bounded
            if self.head_bytes > self.max_head_bytes:
                self._refuse(431, "request_header_fields_too_large", self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.reading_head, self.head_bytes, self.head_done = False, 0, True
        self._disarm()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size <= self.max_head_bytes:
            return super().on_headers_complete()
        answer = error_response(431, "request_header_fields_too_large", self._too_large())  # a whole head in one read
        answer.headers["Connection"] = "close"
        app, self.app = self.app, answer
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _too_large(self) -> str:
        return f"the request head is larger than the limit of {self.max_head_bytes} bytes"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head = True

    def _arm(self) -> None:
        if self.head_deadline is None:
            self.head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.reading_head and not self.transport.is_closing():
            self._refuse(408, "request_timeout",
                         f"the request head did not arrive within {self.head_timeout:g} seconds")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer without reading any more, and close (a response already under way is just cut off)."""
        self._disarm()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(refusal(status, code, message))
        self.transport.close()
