"""Persistent state: conversations, keys, usage, preferences, through SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from .conversations import ConversationStore, new_conversation_id
from .db import make_engine, migrate, session_factory

__all__ = ["Store", "new_conversation_id", "open_store"]


@dataclass
class Store:
    """Every repository over one engine."""

    engine: Engine
    conversations: ConversationStore

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, run_migrations: bool = True) -> Store:
    """Connect, migrate, and build the repositories."""
    engine = make_engine(url)
    if run_migrations:
        migrate(engine)
    sessions = session_factory(engine)
    return Store(engine=engine, conversations=ConversationStore(sessions))
