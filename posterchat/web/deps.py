"""Dependencies the routers share: the app's services and who is calling."""

from __future__ import annotations

from fastapi import Request

from ..core.chat import ChatService
from ..core.conversations import ConversationChat
from ..store import Store
from .services import Services

OPEN_OWNER = "public"


# These are async though they only read: FastAPI runs a plain `def` dependency in a worker thread, a hop each.
async def services(request: Request) -> Services:
    return request.app.state.services


async def service(request: Request) -> ChatService:
    return request.app.state.services.chat


async def store(request: Request) -> Store:
    return request.app.state.services.store


async def conversation_chat(request: Request) -> ConversationChat:
    return request.app.state.services.conversations


async def owner(request: Request) -> str:
    """Who owns what this request stores and reads."""
    return owner_of(request)


def owner_of(request: Request) -> str:
    """`owner` for a route that reads it itself (each FastAPI dependency costs ~20 µs; the gateway's hot route)."""
    return getattr(request.state, "owner", OPEN_OWNER)
