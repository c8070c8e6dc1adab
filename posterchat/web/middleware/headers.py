"""Headers every response carries: browsers must not guess content types, nor send this server's URLs elsewhere."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def encoded(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI carries them: lower-case names, latin-1 bytes."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def add_headers(message: Message, raw: list[tuple[bytes, bytes]], *, keep_existing: bool = False) -> None:
    """Append encoded headers to an http.response.start message, without MutableHeaders' lookup per header; with
    `keep_existing`, not those the response already sets (as MutableHeaders.setdefault)."""
    headers = message.get("headers", ())
    if keep_existing:
        present = {name for name, _ in headers}
        raw = [header for header in raw if header[0] not in present]
    message["headers"] = [*headers, *raw]


_SECURITY_RAW = encoded(SECURITY_HEADERS)


class SecurityHeaders:
    """Pure ASGI middleware adding SECURITY_HEADERS to every response that does not set them itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message, _SECURITY_RAW, keep_existing=True)
            await send(message)

        await self.app(scope, receive, send_with_headers)
