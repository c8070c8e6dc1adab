"""A /chat exchange: history from the store or the caller, the turn, then storing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..poster.assistant import PosterView
from ..store import Store, new_conversation_id
from ..store.conversations import NewTurn, Tail
from .chat import ChatService, ChatTurn
from .messages import ChatRequest, ChatResult, HistoryMessage
from . import preferences
from .preferences import Preferences

TAIL_MESSAGES = 128  # the first read of a stored conversation's newest messages, when the whole is not wanted


@dataclass
class Exchange:
    """A turn and where its result goes."""

    turn: ChatTurn
    owner: str
    conversation_id: str | None  # None when the caller keeps the history
    create: bool = False
    replaces_after: int | None = None  # regenerate: the newest message id when it began
    poster: dict[str, Any] | None = None  # a poster sent with this turn, stored with it
    include_history: bool = True  # False: the answer's conversation_history holds only this turn


class ConversationChat:
    """Chats that continue stored conversations, or the caller's own history."""

    def __init__(self, service: ChatService, store: Store):
        self.service = service
        self.store = store

    async def begin(self, owner: str, body: ChatRequest, *, stored_preferences: bool = True) -> Exchange:
        """Load what the turn needs and prepare it; nothing is stored yet. Without `stored_preferences` the owner's
        saved preferences stay out of the turn (a caller that must not learn them)."""
        if body.conversation_history is not None and body.conversation_id is not None:
            raise InvalidInput("send either conversation_id or conversation_history, not both")
        if body.regenerate and body.conversation_id is None:
            raise InvalidInput("regenerate needs the conversation_id of a stored conversation")
        prefs = await self.store.read(preferences.load, self.store, owner) if stored_preferences else None
        sent = body.poster.model_dump(mode="json") if body.poster else None
        where = {"owner": owner, "poster": sent, "include_history": body.include_history}
        if body.conversation_id is None:
            chat = body.chat(history=body.conversation_history or [])
            turn = self.service.start(chat, prefs=prefs, poster=await self._poster_view(sent))
            if body.conversation_history is not None:
                return Exchange(turn, conversation_id=None, **where)
            return Exchange(turn, conversation_id=new_conversation_id(), create=True, **where)
        limit = TAIL_MESSAGES if not body.include_history else None
        while True:  # a tail read doubles until the turn has to leave messages out, or there are no more
            tail = await self.store.read(self.store.conversations.tail, owner, body.conversation_id, limit)
            unread = max(0, tail.total - len(tail.messages))
            turn = await self._continue(body, tail, prefs, unread // 2)
            if limit is None or turn.truncated_turns > unread // 2 or not unread:
                return Exchange(turn, conversation_id=body.conversation_id,
                                replaces_after=tail.last_id if body.regenerate else None, **where)
            limit *= 2

    async def _continue(self, body: ChatRequest, tail: Tail, prefs: Preferences | None, unread_turns: int
                        ) -> ChatTurn:
        """The turn that continues a stored conversation (or replaces its last turn, for a regenerate)."""
        history = [HistoryMessage.model_construct(**message) for message in tail.messages]
        message = body.message
        if body.regenerate:
            history, last_message = _without_last_turn(history)
            message = message or last_message
        poster = await self._poster_view(body.poster.model_dump(mode="json") if body.poster else tail.poster)
        return self.service.start(body.chat(message, history), prefs=prefs, poster=poster, unread_turns=unread_turns)

    async def _poster_view(self, poster: dict[str, Any] | None) -> PosterView | None:
        """Measure the poster off the event loop (the checks are CPU work)."""
        return await to_thread.run_sync(self.service.measure_poster, poster) if poster else None

    async def commit(self, exchange: Exchange, record: Callable[[Session | None, ChatResult], None] | None = None
                     ) -> ChatResult:
        """Store the finished turn (both messages in one transaction) and return the response body.

        `record(session, result)` stores the response too, in the turn's transaction (an Idempotency-Key's).
        """
        result = exchange.turn.result()
        result.conversation_id = exchange.conversation_id

        def also(session: Session, answer_id: int) -> None:
            result.message_id = answer_id
            if record is not None:
                record(session, result)

        if exchange.conversation_id is None and record is not None:
            await to_thread.run_sync(record, None, result)
        if exchange.conversation_id is not None:
            usage = result.usage
            turn = NewTurn(exchange.owner, exchange.conversation_id, exchange.turn.chat.message, result.response,
                           model=result.model_used, prompt_tokens=usage.prompt_tokens,
                           completion_tokens=usage.completion_tokens, poster=exchange.poster, create=exchange.create,
                           replaces_after=exchange.replaces_after)
            _, result.message_id = await to_thread.run_sync(self.store.conversations.append_turn, turn, also)
        if not exchange.include_history:
            result.conversation_history = result.conversation_history[-2:]
        return result


def _without_last_turn(history: list[HistoryMessage]) -> tuple[list[HistoryMessage], str]:
    """History before the last user message, and that message."""
    for index in range(len(history) - 1, -1, -1):
        if history[index].role == "user":
            return history[:index], history[index].content
    raise InvalidInput("there is no answer to regenerate in this conversation")
