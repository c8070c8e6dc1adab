"""What the OpenAPI schema promises: the errors any route may answer, who needs a key, and the streams."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .public import is_open
from .schemas.common import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
BEARER = "bearer"
ERROR_DESCRIPTIONS = {
    400: "The request cannot be used: body not JSON, or rules beyond the schema (limits, field combinations).",
    401: "An API key is needed (once any exists) and none, or a wrong one, was sent.",
    413: "The request body is larger than the limit.",
    415: "The request body is not labelled Content-Type: application/json.",
    422: "The request does not match the schema.",
}


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One Server-Sent Event as Schemathesis and OpenAPI 3.1 read it: its name, and `data` holding JSON."""
    return {"type": "object", "required": ["event", "data"], "properties": {
        "event": {"const": name},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data}}}


CHAT_STREAM = {"content": {"text/event-stream": {"schema": {
    "description": "With stream=true: `delta` events {text}, then `done` (the JSON response) or `error` {error}.",
    "oneOf": [
        _event("delta", {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}),
        _event("done", {"$ref": "#/components/schemas/ChatResult"}),
        _event("error", ERROR_REF),
    ]}}}}
RESPONSE_STREAM = {
    "description": "With `stream`: Server-Sent Events, OpenAI's Responses events from `response.created` to "
                   "`response.completed` (`response.incomplete` when cut short, `response.failed` when it fails after "
                   "its first words).",
    "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["event", "data"], "properties": {
            "event": {"type": "string", "pattern": "^response\\."},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {
                "type": "object", "required": ["type", "sequence_number"],
                "properties": {"type": {"type": "string"}, "sequence_number": {"type": "integer"}}}}}}}}}
COMPLETION_STREAM = {"content": {"text/event-stream": {"schema": {
    "description": "With stream=true: `chat.completion.chunk` objects, an error object if the answer broke off, "
                   "then `[DONE]`.",
    "type": "object", "required": ["data"],
    "properties": {"data": {"anyOf": [
        {"const": "[DONE]"},
        {"type": "string", "contentMediaType": "application/json", "contentSchema": {"anyOf": [
            {"type": "object", "required": ["object", "choices"],
             "properties": {"object": {"const": "chat.completion.chunk"}, "choices": {"type": "array"}}},
            ERROR_REF]}},
    ]}}}}}}


def install(app: FastAPI) -> None:
    """Serve an OpenAPI schema whose error responses and security match what the middleware really does."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            app.openapi_schema = document(schema)
        return app.openapi_schema

    app.openapi = openapi


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the gate's 401, the body limit's 413 and JSON 400/422 as ErrorBody on every operation they reach."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "ErrorBody" not in schemas:
        found = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas["ErrorBody"] = found
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http", "scheme": "bearer",
        "description": "An API key from `posterchat keys create`; needed once any key exists."}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            statuses = {422} if operation.get("parameters") or "requestBody" in operation else set()
            if "requestBody" in operation:
                statuses |= {400, 413, 415}
            if not is_open(path):
                statuses.add(401)
                operation["security"] = [{BEARER: []}, {}]  # {}: servers with no keys yet are open
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status],
                                          "content": {"application/json": {"schema": ERROR_REF}}}
    schemas.pop("HTTPValidationError", None)  # 422s are ErrorBody, not FastAPI's shape
    schemas.pop("ValidationError", None)
    return schema
