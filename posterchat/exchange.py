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

TAIL_MESSAGES = 128  # the first read of a stored conversation's newest messages, when the whole is not wanted


@dataclass
class Exchange:
    """A turn and where its result goes."""

    turn: Turn
    owner: str
    conversation_id: str | None  # None when the caller keeps the history
    create: bool = False
    replace_last_turn: bool = False
    poster: dict[str, Any] | None = None  # a poster sent with this turn, stored with it
    include_history: bool = True  # False: the answer's conversation_history holds only this turn


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
        include_history: bool = True,
        **options,
    ) -> Exchange:
        """Load what the turn needs and prepare it; nothing is stored yet."""
        if history is not None and conversation_id is not None:
            raise InvalidInput("send either conversation_id or conversation_history, not both")
        if regenerate and conversation_id is None:
            raise InvalidInput("regenerate needs the conversation_id of a stored conversation")
        prefs = await preferences.load(self.store, owner)
        options = preferences.turn_options(prefs, self.service.settings, **options)
        sent = poster.model_dump(mode="json") if poster else None
        notes = {"poster": sent, "include_history": include_history}
        if conversation_id is not None and not include_history:
            return await self._continue_from_tail(owner, conversation_id, message, regenerate, options, notes)
        stored, stored_poster = [], None
        if conversation_id is not None:
            stored, stored_poster = await self.store.read(self.store.conversations.history, owner, conversation_id)
        options["poster"] = await self._poster_view(sent or stored_poster)
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

    async def _continue_from_tail(self, owner: str, conversation_id: str, message: str | None, regenerate: bool,
                                  options: dict[str, Any], notes: dict[str, Any]) -> Exchange:
        """A stored conversation, read from its newest messages back only as far as the model can see.

        The tail read doubles until the turn has to leave messages out (or there are no more), so a turn's cost is
        bounded by the context window, not by the conversation's length.
        """
        limit = TAIL_MESSAGES
        while True:
            stored, stored_poster, total = await self.store.read(self.store.conversations.tail, owner,
                                                                 conversation_id, limit)
            if "poster" not in options:
                options["poster"] = await self._poster_view(notes["poster"] or stored_poster)
            text = message
            if regenerate:
                stored, last_message = _without_last_turn(stored)
                text = message or last_message
            turn = self.service.start(text, stored, trusted_history=True, **options)
            unread = max(0, total - limit)
            if turn.truncated_turns or not unread:
                turn.truncated_turns += unread // 2  # the turns never read were left out too
                return Exchange(turn, owner, conversation_id, replace_last_turn=regenerate, **notes)
            limit *= 2

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
        if not exchange.include_history:
            body["conversation_history"] = body["conversation_history"][-2:]
        return body


def _without_last_turn(history: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """History before the last user message, and that message."""
    for index in range(len(history) - 1, -1, -1):
        if history[index]["role"] == "user":
            return history[:index], history[index]["content"]
    raise InvalidInput("there is no answer to regenerate in this conversation")
