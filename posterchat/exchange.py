"""A /chat exchange: history from the store or the caller, the turn, then storing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from . import preferences
from .chat import ChatService, Turn
from .errors import InvalidInput
from .poster import Poster
from .poster.assistant import PosterView
from .store import Store, new_conversation_id


@dataclass
class Exchange:
    """A turn and where its result goes."""

    turn: Turn
    owner: str
    conversation_id: str | None  # None when the caller keeps the history
    create: bool = False
    replace_last_turn: bool = False
    poster: dict[str, Any] | None = None  # a poster sent with this turn, stored with it


class ConversationChat:
    """Chats that continue stored conversations, or the caller's own history."""

    def __init__(self, service: ChatService, store: Store):
        self.service = service
        self.store = store

    async def begin(
        self,
        owner: str,
        message: str | None,
        *,
        history: list[dict[str, Any]] | None = None,
        conversation_id: str | None = None,
        regenerate: bool = False,
        poster: Poster | None = None,
        **options,
    ) -> Exchange:
        """Load what the turn needs and prepare it; nothing is stored yet."""
        if history is not None and conversation_id is not None:
            raise InvalidInput("send either conversation_id or conversation_history, not both")
        if regenerate and conversation_id is None:
            raise InvalidInput("regenerate needs the conversation_id of a stored conversation")
        prefs = await preferences.load(self.store, owner)
        options = preferences.turn_options(prefs, self.service.settings, **options)
        stored, stored_poster = [], None
        if conversation_id is not None:
            stored, stored_poster = await self.store.read(self.store.conversations.history, owner, conversation_id)
        sent = poster.model_dump(mode="json") if poster else None
        options["poster"] = await self._poster_view(sent or stored_poster)
        notes = {"poster": sent}
        if history is not None:
            return Exchange(self.service.start(message, history, **options), owner, None, **notes)
        if conversation_id is None:
            return Exchange(self.service.start(message, [], **options), owner, new_conversation_id(), create=True,
                            **notes)
        if regenerate:
            stored, last_message = _without_last_turn(stored)
            message = message or last_message
        turn = self.service.start(message, stored, trusted_history=True, **options)
        return Exchange(turn, owner, conversation_id, replace_last_turn=regenerate, **notes)

    async def _poster_view(self, poster: dict[str, Any] | None) -> PosterView | None:
        """Measure the poster off the event loop (the checks are CPU work)."""
        return await to_thread.run_sync(self.service.measure_poster, poster) if poster else None

    async def commit(self, exchange: Exchange, record: Callable[[Session | None, dict], None] | None = None
                     ) -> dict[str, Any]:
        """Store the finished turn (both messages in one transaction) and return the response body.

        `record(session, body)` stores the response body too, in the turn's transaction (an Idempotency-Key's).
        """
        result = exchange.turn.result()
        body = {**result.as_dict(), "conversation_id": exchange.conversation_id, "message_id": None}

        def also(session: Session, answer_id: int) -> None:
            body["message_id"] = answer_id
            if record is not None:
                record(session, body)

        if exchange.conversation_id is None and record is not None:
            await to_thread.run_sync(record, None, body)
        if exchange.conversation_id is not None:
            _, answer_id = await to_thread.run_sync(lambda: self.store.conversations.append_turn(
                exchange.owner, exchange.conversation_id, exchange.turn.user_message, result.response,
                model=result.model_used, prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens, create=exchange.create,
                replace_last_turn=exchange.replace_last_turn, poster=exchange.poster, also=also,
            ))
            body["message_id"] = answer_id
        return body


def _without_last_turn(history: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """History before the last user message, and that message."""
    for index in range(len(history) - 1, -1, -1):
        if history[index]["role"] == "user":
            return history[:index], history[index]["content"]
    raise InvalidInput("there is no answer to regenerate in this conversation")
