"""Bodies of OpenAI's Responses API (/v1/responses), text in and text out.

posterchat answers a response through the Chat Completions path, so a request field that path cannot honour is a
400 naming it, never dropped: fields OpenAI defines are accepted only with the value that asks for nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

# OpenAI's request fields a text-only Chat Completions turn cannot honour, and the values that ask for nothing.
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "tools": (None, []), "tool_choice": (None, "auto", "none"), "truncation": (None, "disabled"),
    "include": (None, []), "background": (None, False), "text": (None, {}, {"format": {"type": "text"}}),
    "service_tier": (None, "auto", "default"), "top_logprobs": (None, 0), "reasoning": (None,),
    "max_tool_calls": (None,), "conversation": (None,), "prompt": (None,), "prompt_cache_key": (None,),
    "prompt_cache_retention": (None,), "prompt_cache_options": (None,), "safety_identifier": (None,),
    "stream_options": (None,), "context_management": (None,), "moderation": (None,), "image": (None,),
    "access_programs": (None,), "background_options": (None,),
}
MetadataKey = Annotated[str, StringConstraints(max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class InputText(Strict):
    """A text part; `output_text` parts come back when a client sends an earlier answer as input."""

    type: Literal["input_text", "output_text"]
    text: str
    annotations: list[dict[str, Any]] | None = None
    logprobs: list[dict[str, Any]] | None = None


class InputMessage(Strict):
    """One message of `input`; its content may be a string."""

    type: Literal["message"] | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: list[InputText] = Field(min_length=1)
    id: str | None = Field(None, max_length=200)
    status: Literal["in_progress", "completed", "incomplete"] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return [{"type": "input_text", "text": value}] if isinstance(value, str) else value


class ResponseRequest(Strict):
    """POST /v1/responses. `input` may be a string (one user message)."""

    model: str | None = Field(None, max_length=200)
    input: list[InputMessage] = Field(min_length=1)
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stream: bool | None = None
    previous_response_id: str | None = Field(None, max_length=64)
    store: bool | None = None
    metadata: dict[MetadataKey, MetadataValue] | None = Field(None, max_length=16)
    user: str | None = Field(None, max_length=256)
    parallel_tool_calls: bool | None = None  # honoured trivially: no tools, so never more than one call
    tools: Any = None
    tool_choice: Any = None
    truncation: Any = None
    include: Any = None
    background: Any = None
    text: Any = None
    service_tier: Any = None
    top_logprobs: Any = None
    reasoning: Any = None
    max_tool_calls: Any = None
    conversation: Any = None
    prompt: Any = None
    prompt_cache_key: Any = None
    prompt_cache_retention: Any = None
    prompt_cache_options: Any = None
    safety_identifier: Any = None
    stream_options: Any = None
    context_management: Any = None
    moderation: Any = None
    image: Any = None
    access_programs: Any = None
    background_options: Any = None

    @field_validator("input", mode="before")
    @classmethod
    def _one_message(cls, value: Any) -> Any:
        return [{"role": "user", "content": value}] if isinstance(value, str) else value

    @field_validator(*NEUTRAL)
    @classmethod
    def _asks_for_nothing(cls, value: Any, info: ValidationInfo) -> Any:
        if value not in NEUTRAL[info.field_name]:
            raise ValueError("not supported by this server's /v1/responses (text in and out, no tools)")
        return value


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] = []
    logprobs: list[dict[str, Any]] = []


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["assistant"] = "assistant"
    content: list[OutputText]


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(BaseModel):
    code: str
    message: str


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseObject(BaseModel):
    """A response, as answered, streamed (inside the lifecycle events) and stored; `facts` is a posterchat extra
    (what posterchat measured for the question), present when there are some."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["in_progress", "completed", "incomplete", "failed"]
    completed_at: int | None = None
    background: bool = False
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = {}
    model: str
    output: list[OutputMessage]
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    store: bool = True
    temperature: float | None = None
    top_p: float | None = None
    text: dict[str, Any] = {"format": {"type": "text"}}
    tool_choice: Literal["auto", "none"] = "auto"
    tools: list[dict[str, Any]] = []
    truncation: Literal["disabled"] = "disabled"
    usage: ResponseUsage | None = None
    user: str | None = None
