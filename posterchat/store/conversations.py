"""Stored conversations: a turn appends two messages in one transaction, never rewriting history."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import Conflict, NotFound
from .models import Conversation, Message, utcnow

TITLE_CHARS = 80


def new_conversation_id() -> str:
    """128 random bits, hex: unguessable and safe in any URL."""
    return secrets.token_hex(16)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True)
class Tail:
    """A stored conversation's newest messages, oldest first, and what a turn needs to know about the rest."""

    messages: list[dict[str, str]]
    poster: dict[str, Any] | None
    total: int  # messages in all
    last_id: int | None  # the newest message's id


@dataclass(frozen=True)
class NewTurn:
    """A turn to store: the user's message and the answer, with what produced it."""

    owner: str
    conversation_id: str
    user_text: str
    answer: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    poster: dict[str, Any] | None = None
    create: bool = False
    replaces_after: int | None = None  # regenerate: the newest message id when it began; the last turn is replaced


def _summary(conversation: Conversation, count: int) -> dict[str, Any]:
    return {
        "id": conversation.id, "title": conversation.title, "model": conversation.model,
        "created_at": _iso(conversation.created_at), "updated_at": _iso(conversation.updated_at),
        "message_count": count,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id, "role": message.role, "content": message.content,
        "created_at": _iso(message.created_at), "model": message.model, "feedback": message.feedback,
    }


# Read on every turn, through a plain connection selecting columns: at 600 messages an ORM session took six
# times as long (bench/notes.md, long conversations).
_CONVERSATION = select(Conversation.owner, Conversation.poster,
                       select(func.count()).select_from(Message).where(Message.conversation_id == Conversation.id)
                       .scalar_subquery().label("messages")).where(Conversation.id == bindparam("id"))
_HISTORY = (select(Message.role, Message.content, Message.id).where(Message.conversation_id == bindparam("id"))
            .order_by(Message.id))
_TAIL = (select(Message.role, Message.content, Message.id).where(Message.conversation_id == bindparam("id"))
         .order_by(Message.id.desc()).limit(bindparam("limit")))


class ConversationStore:
    """Conversations and their messages, scoped to an owner: another owner's conversation is not found."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def _get(self, session: Session, owner: str, conversation_id: str) -> Conversation:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.owner != owner:
            raise NotFound(f"conversation {conversation_id!r} was not found")
        return conversation

    def tail(self, owner: str, conversation_id: str, limit: int | None = None) -> Tail:
        """The newest `limit` messages (all with None) in order, with the latest poster and the count."""
        with self.sessions.kw["bind"].connect() as connection:
            found = connection.execute(_CONVERSATION, {"id": conversation_id}).first()
            if found is None or found.owner != owner:
                raise NotFound(f"conversation {conversation_id!r} was not found")
            if limit is None:
                rows = connection.execute(_HISTORY, {"id": conversation_id}).all()
            else:
                rows = connection.execute(_TAIL, {"id": conversation_id, "limit": limit}).all()[::-1]
        return Tail([{"role": role, "content": content} for role, content, _ in rows], found.poster, found.messages,
                    rows[-1].id if rows else None)

    def append_turn(self, turn: NewTurn, also: Callable[[Session, int], None] | None = None) -> tuple[int, int]:
        """Add a turn's two messages in one transaction (creating the conversation if asked); return their ids.

        A regenerate replaces the last turn only if nothing was added since it began (else Conflict, nothing
        changed). `also(session, answer_id)` runs last inside the same transaction, to store more with the turn.
        """
        now = utcnow()
        with self.sessions.begin() as session:
            if turn.create:
                session.add(Conversation(id=turn.conversation_id, owner=turn.owner, model=turn.model,
                                         title=turn.user_text[:TITLE_CHARS].strip(), created_at=now, updated_at=now))
                session.flush()
            values = {"updated_at": now, "model": turn.model}
            if turn.poster is not None:
                values["poster"] = turn.poster
            # The update comes first: it takes the conversation's write lock (row lock on PostgreSQL, the database's
            # on SQLite), so the checks below see every turn committed before this one.
            changed = session.execute(update(Conversation).where(Conversation.id == turn.conversation_id,
                                                                 Conversation.owner == turn.owner).values(**values))
            if changed.rowcount != 1:
                raise NotFound(f"conversation {turn.conversation_id!r} was not found")
            if turn.replaces_after is not None:
                self._drop_last_turn(session, turn.conversation_id, turn.replaces_after)
            user = Message(conversation_id=turn.conversation_id, role="user", content=turn.user_text, created_at=now)
            assistant = Message(conversation_id=turn.conversation_id, role="assistant", content=turn.answer,
                                model=turn.model, prompt_tokens=turn.prompt_tokens,
                                completion_tokens=turn.completion_tokens, created_at=now)
            session.add_all([user, assistant])
            session.flush()
            if also is not None:
                also(session, assistant.id)
            return user.id, assistant.id

    def _drop_last_turn(self, session: Session, conversation_id: str, newest: int) -> None:
        """Delete the last user message and everything after it, if `newest` is still the newest message."""
        now_newest = session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
        if now_newest != newest:
            raise Conflict("the conversation changed while the answer was regenerated; nothing was replaced")
        last_user = session.scalar(
            select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.role == "user")
        )
        if last_user is not None:
            session.execute(delete(Message).where(Message.conversation_id == conversation_id, Message.id >= last_user))

    def get(self, owner: str, conversation_id: str) -> dict[str, Any]:
        """One conversation with all its messages and timestamps."""
        with self.sessions() as session:
            conversation = self._get(session, owner, conversation_id)
            messages = [_message(m) for m in conversation.messages]
            return {**_summary(conversation, len(messages)), "poster": conversation.poster, "messages": messages}

    def list(self, owner: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        """A page of the owner's conversations, newest first, and whether more follow."""
        counts = (select(Message.conversation_id, func.count().label("n")).group_by(Message.conversation_id)
                  .subquery())
        query = (
            select(Conversation, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == Conversation.id)
            .where(Conversation.owner == owner)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(limit + 1).offset(offset)
        )
        with self.sessions() as session:
            rows = session.execute(query).all()
        return [_summary(c, n) for c, n in rows[:limit]], len(rows) > limit

    def reset(self, owner: str, conversation_id: str) -> None:
        """Remove every message, keeping the conversation."""
        with self.sessions.begin() as session:
            self._get(session, owner, conversation_id)
            session.execute(delete(Message).where(Message.conversation_id == conversation_id))
            session.execute(update(Conversation).where(Conversation.id == conversation_id)
                            .values(updated_at=utcnow(), poster=None))

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete a conversation and its messages."""
        with self.sessions.begin() as session:
            conversation = self._get(session, owner, conversation_id)
            session.execute(delete(Message).where(Message.conversation_id == conversation_id))
            session.delete(conversation)
