"""Stored conversations: list, read, delete."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query, Response

from .. import deps
from ..schemas.common import ErrorBody
from ..schemas.conversations import ConversationDetail, ConversationPage

router = APIRouter(prefix="/conversations", tags=["conversations"])

ConversationId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
NOT_FOUND = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.get("", response_model=ConversationPage)
async def list_conversations(
    limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=1_000_000),
    owner: str = Depends(deps.owner), store=Depends(deps.store),
) -> ConversationPage:
    """The caller's conversations, newest first."""
    items, has_more = await to_thread.run_sync(lambda: store.conversations.list(owner, limit=limit, offset=offset))
    return ConversationPage(data=items, has_more=has_more, limit=limit, offset=offset)


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=NOT_FOUND)
async def get_conversation(conversation_id: str = ConversationId, owner: str = Depends(deps.owner),
                           store=Depends(deps.store)):
    """A conversation with all its messages and their timestamps."""
    return await to_thread.run_sync(store.conversations.get, owner, conversation_id)


@router.delete("/{conversation_id}", status_code=204, responses=NOT_FOUND)
async def delete_conversation(conversation_id: str = ConversationId, owner: str = Depends(deps.owner),
                              store=Depends(deps.store)) -> Response:
    """Delete a conversation and its messages."""
    await to_thread.run_sync(store.conversations.delete, owner, conversation_id)
    return Response(status_code=204)
