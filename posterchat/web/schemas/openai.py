"""Bodies of the OpenAI-compatible endpoints.

A request is checked only where posterchat owns the decision (routing, sizes, the roles it maps); every other
field, documented or not, goes to the model server as the client sent it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Passed(BaseModel):
    """Fields posterchat does not know are kept, and passed on unchanged."""

    model_config = ConfigDict(extra="allow", strict=True)


class CompletionMessage(Passed):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class CompletionRequest(Passed):
    """POST /v1/chat/completions."""

    model: str | None = Field(None, max_length=200)
    messages: list[CompletionMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    n: int | None = Field(None, ge=1, le=128)


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(Passed):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class Choice(Passed):
    index: int = 0
    message: AssistantMessage
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class Completion(Passed):
    """A non-streamed answer, as the model server gave it."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    default: bool = Field(False, description="Whether this is the server's default model (a posterchat extra).")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
