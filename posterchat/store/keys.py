"""Stored API keys: only their SHA-256 hashes, never the keys themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import NotFound
from .cache import ReadCache
from .models import ApiKey, utcnow


@dataclass(frozen=True)
class KeyRecord:
    """What is known about a key, without the key or its hash."""

    id: str
    name: str
    prefix: str
    monthly_budget: float | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _record(row: ApiKey) -> KeyRecord:
    return KeyRecord(row.id, row.name, row.prefix, row.monthly_budget, row.created_at, row.revoked_at)


_KEYS = ApiKey.__table__.c
_FIND = select(_KEYS.id, _KEYS.name, _KEYS.prefix, _KEYS.monthly_budget, _KEYS.created_at,
               _KEYS.revoked_at).where(_KEYS.key_hash == bindparam("key_hash"))


class KeyStore:
    """The api_keys table."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._found = ReadCache()

    def add(self, key_id: str, name: str, key_hash: str, prefix: str, monthly_budget: float | None) -> KeyRecord:
        """Store a new key's hash."""
        row = ApiKey(id=key_id, name=name, key_hash=key_hash, prefix=prefix, monthly_budget=monthly_budget,
                     created_at=utcnow())
        with self.sessions.begin() as session:
            session.add(row)
        return _record(row)

    def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        with self.sessions() as session:
            return [_record(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))]

    def find(self, key_hash: str) -> KeyRecord | None:
        """The key with this hash, revoked or not; read on every request, so cached for a second (store/cache.py)."""
        return self._found.get(key_hash, lambda: self._find(key_hash))

    def _find(self, key_hash: str) -> KeyRecord | None:
        with self.sessions.kw["bind"].connect() as connection:  # a plain connection and columns, for speed
            row = connection.execute(_FIND, {"key_hash": key_hash}).first()
            return _record(row) if row else None

    def any_active(self) -> bool:
        """Whether any key is not revoked."""
        with self.sessions() as session:
            return bool(session.scalar(select(exists().where(ApiKey.revoked_at.is_(None)))))

    def revoke(self, key_id: str) -> KeyRecord:
        """Mark a key revoked (once); unknown ids are NotFound."""
        with self.sessions.begin() as session:
            row = session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"there is no API key with id {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            self._found.forget(row.key_hash)
            return _record(row)
