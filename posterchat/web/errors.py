"""Every failure becomes JSON `{"error": {"code", "message", ...}}` with the right status; never a traceback.

On /v1 the body is OpenAI's own error shape (`message`, `type`, `param`, `code`) and a request that does not
validate is a 400, as OpenAI answers it, so SDK users get the exceptions their code expects.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from ..errors import PosterchatError
from .schemas.common import ErrorBody, ErrorDetail
from .middleware.headers import SECURITY_HEADERS

log = logging.getLogger("posterchat.web")

HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "rate_limited"}
INTERNAL = "Something went wrong on the server; it has been logged."
OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
                415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_exceeded"}


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """`{"error": {...}}` for a status, as a response body or a stream's last event."""
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return ErrorBody(error=ErrorDetail(code=code, message=message, type=kind, param=param)).model_dump()


def stream_error(exc: Exception) -> dict[str, Any]:
    """The error event that ends a stream whose status line went out long ago."""
    if isinstance(exc, PosterchatError):
        return error_body(exc.status, exc.code, exc.message, exc.param)
    log.error("the answer stream failed", exc_info=exc)
    return error_body(500, "internal_error", INTERNAL)


def error_response(status: int, code: str, message: str, retry_after: float | None = None,
                   param: str | None = None) -> JSONResponse:
    """The JSON error body, with Retry-After when the client should come back later."""
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
    return JSONResponse(error_body(status, code, message, param), status, headers=headers)


def error_for(exc: PosterchatError) -> JSONResponse:
    """The response for one of posterchat's own errors; the official SDKs, which retry every 5xx, are told not to
    retry one that trying again cannot fix (their `x-should-retry` header)."""
    response = error_response(exc.status, exc.code, exc.message, exc.retry_after, exc.param)
    if exc.status >= 500 and not exc.transient:
        response.headers["x-should-retry"] = "false"
    return response


def describe_validation(exc: RequestValidationError) -> tuple[int, str, str | None]:
    """Status, one readable sentence and the field at fault, for the first problem in a request."""
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return 400, "the request body is not valid JSON", None
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or None
    if first.get("type") == "extra_forbidden":
        return 422, f"unknown field {where!r}", where
    if first.get("type") == "model_attributes_type" or (first.get("type") == "model_type" and where is None):
        return 422, "the request body must be a JSON object", None
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    return 422, message if where is None else f"{where}: {message}", where


def allowed_methods(app: Any, scope: Scope) -> str:
    """Every method some route serves at this path (Starlette's own 405 names only the first route's)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "__none__"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(PosterchatError)
    async def _ours(request: Request, exc: PosterchatError) -> JSONResponse:
        return error_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message, param = describe_validation(exc)
        if request.url.path.startswith("/v1/"):
            status = 400
        return error_response(status, "invalid_request", message, param=param)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(exc.status_code, code, message)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request.app, request.scope)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = error_response(500, "internal_error", INTERNAL)
        response.headers.update(SECURITY_HEADERS)  # answered outside every middleware
        return response
