"""Who may call: API keys on every endpoint but the open ones, and the rate-limit headers on the way out."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import Unauthorized
from ..deps import OPEN_OWNER
from ..errors import error_for
from ..public import is_open
from .headers import add_headers, encoded

log = logging.getLogger("posterchat.web")


class Gate:
    """Pure ASGI middleware: the caller must bring a valid key while keys exist; rate-limit headers go out."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        try:
            key = await scope["app"].state.services.auth.authenticate(Headers(scope=scope).get("authorization"))
        except Unauthorized as exc:
            log.info("refused %s %s: %s", scope["method"], scope["path"], exc.message)
            response = error_for(exc)
            response.headers["WWW-Authenticate"] = 'Bearer realm="posterchat"'
            return await response(scope, receive, send)
        client = scope.get("client")
        state["owner"] = key.id if key else OPEN_OWNER
        state["api_key"] = key
        state["rate_identity"] = f"key:{key.id}" if key else f"ip:{client[0] if client else 'unknown'}"

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get("rate_limit_headers"):
                add_headers(message, encoded(state["rate_limit_headers"]))  # no response sets these itself
            await send(message)

        await self.app(scope, receive, send_with_limits)
