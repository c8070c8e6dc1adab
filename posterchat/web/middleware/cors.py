"""CORS whose refused preflights answer in the API's JSON error shape instead of Starlette's plain text, and which
keeps pages without an origin (`Origin: null`: a file, a sandboxed frame on any site) away from stored data.

Any website can make a `null`-origin page, so `null` is allowed (POSTERCHAT_CORS_ORIGINS) only where nothing
stored is read or changed: the spec's `/chat` and `/chat/reset` with the conversation kept by the page, and the
model list, health and poster checks the page also uses (docs/security.md).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ...errors import PosterchatError
from ..errors import error_response

NULL_ORIGIN_PATHS = frozenset({"/chat", "/chat/reset", "/v1/models", "/health", "/poster/check"})
NULL_ORIGIN = "null_origin"  # scope["state"] key: True for a null-origin request, "refused" once a route refuses it
NULL_REFUSAL = ("a page without an origin (opened from a file, or in a sandboxed frame) may only chat with the "
                "conversation it keeps itself (conversation_history), not with stored conversations, preferences "
                "or usage; open the chat page from this server instead")


def is_null_origin(scope: Scope) -> bool:
    """Whether the request comes from a page whose origin is opaque (`Origin: null`)."""
    return any(name == b"origin" and value.strip() == b"null" for name, value in scope["headers"])


def refuse_stored_data_to_null_origin(scope: Scope, uses_stored_data: bool) -> None:
    """Routes that serve null origins call this; a request touching stored data gets 403, with no CORS grant."""
    state = scope.get("state", {})
    if uses_stored_data and state.get(NULL_ORIGIN):
        state[NULL_ORIGIN] = "refused"
        raise PosterchatError(NULL_REFUSAL, status=403, code="origin_refused")


class Cors(CORSMiddleware):
    """Starlette's CORS; a disallowed origin, method or header is never reflected and gets a 400 JSON error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_null_origin(scope):
            if scope["path"] not in NULL_ORIGIN_PATHS:
                return await error_response(403, "origin_refused", NULL_REFUSAL)(scope, receive, send)
            scope.setdefault("state", {})[NULL_ORIGIN] = True
        await super().__call__(scope, receive, send)

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        if not scope.get("state", {}).get(NULL_ORIGIN):
            return await super().simple_response(scope, receive, send, request_headers)

        async def grant_unless_refused(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["state"][NULL_ORIGIN] == "refused":
                return await send(message)  # refused by a route: not readable by the page either
            await self.send(message, send, request_headers)

        await self.app(scope, receive, grant_unless_refused)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = error_response(400, "cors_refused", f"{response.body.decode()} for this server")
        refused.headers.update({k: v for k, v in response.headers.items() if k.lower().startswith(("vary", "access"))})
        return refused
