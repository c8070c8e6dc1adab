"""Headers every response carries: browsers must not guess content types, nor send this server's URLs elsewhere."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_RAW = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]  # as ASGI carries them


class SecurityHeaders:
    """Pure ASGI middleware adding SECURITY_HEADERS to every response that does not set them itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [header for header in _RAW if header[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
