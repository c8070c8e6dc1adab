"""POST /conversations/{id}/messages/{message_id}/feedback: thumbs up or down on an answer."""

from __future__ import annotations

from typing import Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from . import deps
from .conversations import NOT_FOUND, ConversationId
from .schemas import ErrorBody, Strict

router = APIRouter(prefix="/conversations", tags=["conversations"])


class FeedbackRequest(Strict):
    rating: Literal["up", "down"] | None = Field(description="up, down, or null to clear the rating.")


class FeedbackResponse(BaseModel):
    conversation_id: str
    message_id: int
    rating: Literal["up", "down"] | None


@router.post("/{conversation_id}/messages/{message_id}/feedback", response_model=FeedbackResponse,
             responses={**NOT_FOUND, 400: {"model": ErrorBody}})
async def rate_message(
    body: FeedbackRequest,
    conversation_id: str = ConversationId,
    message_id: int = Path(ge=1, le=2**31 - 1),
    owner: str = Depends(deps.owner),
    store=Depends(deps.store),
) -> FeedbackResponse:
    """Rate one of the caller's assistant answers; liked answers feed `posterchat export --only-liked`."""
    await to_thread.run_sync(store.training.rate, owner, conversation_id, message_id, body.rating)
    return FeedbackResponse(conversation_id=conversation_id, message_id=message_id, rating=body.rating)
