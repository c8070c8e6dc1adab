"""Feedback on answers, and stored conversations read out for exports and fine-tuning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InvalidInput, NotFound
from .conversations import ConversationStore
from .models import Conversation, Message

RATINGS = {"up": 1, "down": -1, None: None}


class TrainingStore:
    """Ratings on assistant messages, and every owner's conversations for the operator's exports."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self.conversations = ConversationStore(sessions)

    def rate(self, owner: str, conversation_id: str, message_id: int, rating: str | None) -> None:
        """Store thumbs up (1), down (-1) or none (NULL) on one of the owner's assistant answers."""
        with self.sessions.begin() as session:
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, conversation_id)
            if (conversation is None or conversation.owner != owner or message is None
                    or message.conversation_id != conversation_id):
                raise NotFound(f"message {message_id} was not found in conversation {conversation_id!r}")
            if message.role != "assistant":
                raise InvalidInput("only assistant messages can be rated")
            session.execute(update(Message).where(Message.id == message_id).values(feedback=RATINGS[rating]))

    def conversation_ids(self, since: datetime | None = None) -> list[tuple[str, str]]:
        """(owner, id) of every conversation updated at or after `since`, oldest first."""
        query = select(Conversation.owner, Conversation.id).order_by(Conversation.updated_at, Conversation.id)
        if since is not None:
            query = query.where(Conversation.updated_at >= since)
        with self.sessions() as session:
            return [(owner, cid) for owner, cid in session.execute(query).all()]

    def iter_conversations(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every conversation (with messages) updated since `since`, one at a time to keep memory flat."""
        for owner, conversation_id in self.conversation_ids(since):
            try:
                yield {**self.conversations.get(owner, conversation_id), "owner": owner}
            except NotFound:  # deleted while the export ran
                continue
