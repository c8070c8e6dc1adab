"""Stored preferences: one JSON document per owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker

from .cache import ReadCache
from .db import dialect_insert
from .models import Preferences, utcnow

_GET = select(Preferences.__table__.c.data).where(Preferences.__table__.c.owner == bindparam("owner"))


class PreferenceStore:
    """Read, replace and clear an owner's preferences."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._saved = ReadCache()

    def get(self, owner: str) -> dict[str, Any] | None:
        """The owner's preferences document, or None when none is saved; read on every chat, so cached a second."""
        return self._saved.get(owner, lambda: self._get(owner))

    def _get(self, owner: str) -> dict[str, Any] | None:
        with self.sessions.kw["bind"].connect() as connection:  # a plain connection, for speed
            return connection.execute(_GET, {"owner": owner}).scalar()

    def put(self, owner: str, data: dict[str, Any]) -> None:
        """Replace the owner's preferences; two writers at once leave one of the two documents whole."""
        with self.sessions.begin() as session:
            insert = dialect_insert(session.bind.dialect.name)
            statement = insert(Preferences).values(owner=owner, data=data, updated_at=utcnow())
            session.execute(statement.on_conflict_do_update(
                index_elements=[Preferences.owner],
                set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
            ))
        self._saved.forget(owner)

    def delete(self, owner: str) -> None:
        """Forget the owner's preferences."""
        with self.sessions.begin() as session:
            session.execute(delete(Preferences).where(Preferences.owner == owner))
        self._saved.forget(owner)
