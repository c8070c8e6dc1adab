"""CORS whose refused preflights answer in the API's JSON error shape instead of Starlette's plain text."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ..errors import error_response


class Cors(CORSMiddleware):
    """Starlette's CORS; a disallowed origin, method or header is never reflected and gets a 400 JSON error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = error_response(400, "cors_refused", f"{response.body.decode()} for this server")
        refused.headers.update({k: v for k, v in response.headers.items() if k.lower().startswith(("vary", "access"))})
        return refused
