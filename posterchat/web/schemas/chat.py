"""Bodies of /chat/reset (those of /chat are core's ChatRequest and ChatResult)."""

from __future__ import annotations

from pydantic import Field

from ...core.messages import HistoryMessage, Strict


class ResetRequest(Strict):
    conversation_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ResetResponse(Strict):
    message: str = "Conversation history reset"
    conversation_history: list[HistoryMessage] = []
    conversation_id: str | None = None
