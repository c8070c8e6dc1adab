"""Request and response bodies of the HTTP API, field for field as the spec names them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..messages import HistoryMessage
from ..poster import Finding, Poster


class Strict(BaseModel):
    """Unknown fields are an error, and so are values of the wrong JSON type (true for 1, "1" for 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["message must be a non-empty string"])


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


class UsageBody(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatRequest(Strict):
    """POST /chat: the spec's fields, plus stored conversations and streaming."""

    message: str | None = Field(None, min_length=1, description="The user's new message (optional with regenerate).",
                                examples=["Hello! I need help with my poster design."])
    conversation_history: list[HistoryMessage] | None = Field(
        None, description="Earlier messages, when the client keeps the conversation itself (the spec's way).")
    conversation_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="Continue a stored conversation; omit both this and conversation_history to start one.")
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    model: str | None = Field(None, min_length=1, max_length=200, description="Model id; default from settings.")
    max_tokens: int | None = Field(None, ge=1, description="Longest answer in tokens.")
    stream: bool = Field(False, description="Answer with Server-Sent Events: delta…, then done (or error).")
    regenerate: bool = Field(False, description="Replace the last turn of the stored conversation with a new answer.")
    poster: Poster | None = Field(None, description="The poster being worked on; measured, and kept with a stored "
                                                     "conversation (later turns reuse the latest one).")
    include_history: bool = Field(
        True, description="false: conversation_history in the answer holds only this turn. With a stored "
                          "conversation the server then reads only the newest messages the model can see, so a "
                          "turn costs the same however long the conversation (GET /conversations/{id} has it all).")

    @model_validator(mode="after")
    def _message_or_regenerate(self) -> "ChatRequest":
        if self.message is None and not self.regenerate:
            raise ValueError("message is required")
        return self


class ChatResponse(BaseModel):
    """The spec's response, plus where it was stored and what it cost."""

    response: str
    conversation_history: list[HistoryMessage]
    model_used: str
    conversation_id: str | None = None
    message_id: int | None = Field(None, description="Id of the stored answer, for feedback.")
    truncated_turns: int = Field(0, description="Oldest turns left out to fit the model's context.")
    usage: UsageBody
    design_notes: list[Finding] = Field([], description="Measured findings on the poster, each with a fix.")


class ResetRequest(Strict):
    conversation_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ResetResponse(BaseModel):
    message: str = "Conversation history reset"
    conversation_history: list[HistoryMessage] = []
    conversation_id: str | None = None


class ConversationSummary(BaseModel):
    id: str
    title: str
    model: str
    created_at: str
    updated_at: str
    message_count: int


class ConversationPage(BaseModel):
    data: list[ConversationSummary]
    has_more: bool
    limit: int
    offset: int


class StoredMessage(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    model: str | None = None
    feedback: int | None = None


class ConversationDetail(ConversationSummary):
    poster: dict[str, Any] | None = None
    messages: list[StoredMessage]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ModelHealth(BaseModel):
    provider: str
    ready: bool


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    models: dict[str, ModelHealth]
