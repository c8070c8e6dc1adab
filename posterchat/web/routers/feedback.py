"""POST /conversations/{id}/messages/{message_id}/feedback: thumbs up or down on an answer."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Depends, Path
from .. import deps
from ..schemas.common import ErrorBody
from ..schemas.conversations import FeedbackRequest, FeedbackResponse
from .conversations import NOT_FOUND, ConversationId

router = APIRouter(prefix="/conversations", tags=["conversations"])


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
