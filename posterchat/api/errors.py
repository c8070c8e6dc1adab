"""Every failure becomes JSON `{"error": {"code", "message"}}` with the right status; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import PosterchatError
from . import contract

log = logging.getLogger("posterchat.api")

HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "rate_limited"}


def error_response(status: int, code: str, message: str, retry_after: float | None = None) -> JSONResponse:
    """The JSON error body, with Retry-After when the client should come back later."""
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
    return JSONResponse({"error": {"code": code, "message": message, "type": code}}, status, headers=headers)


def error_for(exc: PosterchatError) -> JSONResponse:
    """The response for one of posterchat's own errors."""
    return error_response(exc.status, exc.code, exc.message, exc.retry_after)


def describe_validation(exc: RequestValidationError) -> tuple[int, str]:
    """Status and one readable sentence for the first problem in a request body."""
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return 400, "the request body is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    if first.get("type") == "extra_forbidden":
        return 422, f"unknown field {where!r}"
    if first.get("type") == "model_attributes_type":
        return 422, "the request body must be a JSON object"
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    return 422, message if where == "body" else f"{where}: {message}"


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(PosterchatError)
    async def _ours(request: Request, exc: PosterchatError) -> JSONResponse:
        return error_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = describe_validation(exc)
        return error_response(status, "invalid_request", message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(exc.status_code, code, message)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = contract.allowed_methods(request.app, request.scope)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")
