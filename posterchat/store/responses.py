"""Stored responses of the Responses API: the response object as sent, and the conversation it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from .models import Base, utcnow
from .types import UTCDateTime


class StoredResponse(Base):
    """One response, owned by an API key (or the open server); `messages` is the conversation through its answer."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_responses_owner_created", "owner", "created_at"),)


@dataclass(frozen=True)
class ResponseRecord:
    """A stored response as read."""

    body: dict[str, Any]
    messages: list[dict[str, Any]]


class ResponseStore:
    """Add and read responses; an id belongs to its owner alone."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def add(self, owner: str, body: dict[str, Any], messages: list[dict[str, Any]],
            also: Callable[[Session], None] | None = None) -> None:
        """Store a response; `also(session)` runs in the same transaction (an Idempotency-Key's answer)."""
        with self.sessions.begin() as session:
            session.add(StoredResponse(id=body["id"], owner=owner, body=body, messages=messages))
            if also is not None:
                also(session)

    def get(self, owner: str, response_id: str) -> ResponseRecord | None:
        """The owner's response with this id, or None (also when another owner has it)."""
        with self.sessions() as session:
            found = session.execute(
                select(StoredResponse.body, StoredResponse.messages)
                .where(StoredResponse.id == response_id, StoredResponse.owner == owner)
            ).first()
        return ResponseRecord(*found) if found else None
