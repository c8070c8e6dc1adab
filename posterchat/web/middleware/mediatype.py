"""Request bodies must be JSON: any other Content-Type gets a 415 JSON error before the route runs.

Without this a form or text/plain body reaches validation and is refused as "not a JSON object", which misleads
a caller whose body is JSON but whose client (curl -d, an HTML form) labelled it otherwise.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json(content_type: str) -> bool:
    """application/json, or a +json type such as application/merge-patch+json."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodies:
    """Pure ASGI middleware refusing non-JSON request bodies with 415."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            headers = Headers(scope=scope)
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if has_body and not is_json(headers.get("content-type", "")):
                response = error_response(415, "unsupported_media_type",
                                          "send the request body as JSON, with Content-Type: application/json")
                return await response(scope, receive, send)
        await self.app(scope, receive, send)
