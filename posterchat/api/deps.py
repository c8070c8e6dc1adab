"""Dependencies the routers share: the app's services and who is calling."""

from __future__ import annotations

from fastapi import Request

from ..chat import ChatService
from ..exchange import ConversationChat
from ..store import Store

OPEN_OWNER = "public"

# These are async though they only read: FastAPI runs a plain `def` dependency in a worker thread, a hop each.
async def service(request: Request) -> ChatService:
    return request.app.state.service


async def store(request: Request) -> Store:
    return request.app.state.store


async def conversation_chat(request: Request) -> ConversationChat:
    return request.app.state.conversation_chat


async def owner(request: Request) -> str:
    """Who owns what this request stores and reads."""
    return getattr(request.state, "owner", OPEN_OWNER)
