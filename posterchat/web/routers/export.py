"""GET /conversations/{id}/export: a conversation as JSON, Markdown or fine-tuning JSONL."""

from __future__ import annotations

from typing import Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request, Response

from ...core import export
from .. import deps
from .conversations import NOT_FOUND, ConversationId

router = APIRouter(prefix="/conversations", tags=["conversations"])

DOWNLOADS = {"content": {content_type.split(";")[0]: {"schema": {"type": "string"}}
                         for content_type, _ in export.FORMATS.values()}}


@router.get("/{conversation_id}/export", responses={**NOT_FOUND, 200: DOWNLOADS})
async def export_conversation(
    request: Request,
    conversation_id: str = ConversationId,
    format: Literal["json", "markdown", "jsonl"] = Query("json", description="json, markdown or jsonl (fine-tuning)."),
    owner: str = Depends(deps.owner),
    store=Depends(deps.store),
) -> Response:
    """Download a conversation; `jsonl` is one line in OpenAI's chat fine-tuning format."""
    conversation = await to_thread.run_sync(store.conversations.get, owner, conversation_id)
    text = export.render(conversation, format, request.app.state.services.settings.system_message)
    disposition = f'attachment; filename="{export.filename(conversation_id, format)}"'
    return Response(text.encode("utf-8"), media_type=export.FORMATS[format][0],
                    headers={"Content-Disposition": disposition})
