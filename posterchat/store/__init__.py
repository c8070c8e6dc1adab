"""Persistent state: conversations, keys, usage, preferences, responses, through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from anyio import to_thread
from sqlalchemy import Engine

from .conversations import ConversationStore, new_conversation_id
from .db import make_engine, migrate, session_factory
from .keys import KeyStore
from .preferences import PreferenceStore
from .responses import ResponseStore
from .training import TrainingStore
from .usage import UsageStore

__all__ = ["Store", "new_conversation_id", "open_store"]

T = TypeVar("T")


@dataclass
class Store:
    """Every repository over one engine."""

    engine: Engine
    conversations: ConversationStore
    preferences: PreferenceStore
    training: TrainingStore
    keys: KeyStore
    usage: UsageStore
    responses: ResponseStore

    def close(self) -> None:
        self.engine.dispose()

    @property
    def inline_reads(self) -> bool:
        """Whether small reads run on the event loop: SQLite (WAL) answers them without waiting on writers, in less
        time than a hop to a worker thread takes; a networked database is read from a worker thread."""
        return self.engine.dialect.name == "sqlite"

    async def read(self, func: Callable[..., T], *args) -> T:
        """Run a small read (a key, a preferences row) where it is cheapest."""
        if self.inline_reads:
            return func(*args)
        return await to_thread.run_sync(func, *args)


def open_store(url: str, *, run_migrations: bool = True) -> Store:
    """Connect, migrate, and build the repositories."""
    engine = make_engine(url)
    if run_migrations:
        migrate(engine)
    sessions = session_factory(engine)
    return Store(engine=engine, conversations=ConversationStore(sessions), preferences=PreferenceStore(sessions),
                 training=TrainingStore(sessions), keys=KeyStore(sessions), usage=UsageStore(sessions),
                 responses=ResponseStore(sessions))
