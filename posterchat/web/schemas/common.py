"""Bodies every part of the API shares: errors and health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str | None = Field(examples=["invalid_request"])
    message: str = Field(examples=["message must be a non-empty string"])
    type: str = Field(examples=["invalid_request_error"], description="OpenAI's error type.")
    param: str | None = Field(None, examples=["message"], description="The request field at fault, if one is.")


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code", "message", "type", "param"}}`."""

    error: ErrorDetail


class ModelHealth(BaseModel):
    provider: str
    ready: bool


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    models: dict[str, ModelHealth]
