"""Bodies of the stored-conversation endpoints: listing, reading, feedback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.messages import Strict


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


class FeedbackRequest(Strict):
    rating: Literal["up", "down"] | None = Field(description="up, down, or null to clear the rating.")


class FeedbackResponse(BaseModel):
    conversation_id: str
    message_id: int
    rating: Literal["up", "down"] | None
