"""Dependencies the routers share: the app's services and who is calling."""

from __future__ import annotations

from fastapi import Request

from ..chat import ChatService
from ..exchange import ConversationChat
from ..store import Store

OPEN_OWNER = "public"


def service(request: Request) -> ChatService:
    return request.app.state.service


def store(request: Request) -> Store:
    return request.app.state.store


def conversation_chat(request: Request) -> ConversationChat:
    return request.app.state.conversation_chat


def owner(request: Request) -> str:
    """Who owns what this request stores and reads."""
    return getattr(request.state, "owner", OPEN_OWNER)
