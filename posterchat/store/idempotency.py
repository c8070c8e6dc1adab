"""Idempotency records: a claim row per (owner, key), then the first answer, shared by every instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .models import IdempotentRequest


@dataclass(frozen=True)
class IdempotencyRow:
    """A record as read: `stamp` is the stored created_at, exactly as the database returns it (in UTC)."""

    fingerprint: str
    response: dict[str, Any] | None
    stamp: datetime



class IdempotencyStore:
    """Atomic claims (the primary key decides who runs a request), heartbeats, answers and expiry."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    @staticmethod
    def _row(owner: str, key: str):
        return (IdempotentRequest.owner == owner) & (IdempotentRequest.key == key)

    def claim(self, owner: str, key: str, fingerprint: str, now: datetime) -> bool:
        """Insert a pending record; False when someone else already holds the key."""
        try:
            with self.sessions.begin() as session:
                session.add(IdempotentRequest(owner=owner, key=key, fingerprint=fingerprint, created_at=now))
        except IntegrityError:
            return False
        return True

    def read(self, owner: str, key: str) -> IdempotencyRow | None:
        with self.sessions() as session:
            found = session.execute(
                select(IdempotentRequest.fingerprint, IdempotentRequest.response, IdempotentRequest.created_at)
                .where(self._row(owner, key))
            ).first()
        return IdempotencyRow(*found) if found else None

    def take_over(self, owner: str, key: str, seen: datetime, fingerprint: str, now: datetime) -> bool:
        """Claim a record whose holder stopped refreshing it (compare-and-swap on its stamp)."""
        with self.sessions.begin() as session:
            done = session.execute(
                update(IdempotentRequest)
                .where(self._row(owner, key), IdempotentRequest.created_at == seen)
                .values(fingerprint=fingerprint, response=null(), created_at=now)  # SQL NULL, not JSON null
            )
        return done.rowcount == 1

    def refresh(self, owner: str, key: str, stamp: datetime, now: datetime) -> bool:
        """Move a pending claim's stamp forward; False when it is no longer ours."""
        with self.sessions.begin() as session:
            done = session.execute(
                update(IdempotentRequest)
                .where(self._row(owner, key), IdempotentRequest.created_at == stamp,
                       IdempotentRequest.response.is_(None))
                .values(created_at=now)
            )
        return done.rowcount == 1

    def answer(self, session: Session, owner: str, key: str, stamps: list[datetime], response: dict[str, Any],
               now: datetime) -> bool:
        """Store the answer on our pending claim (stamped with one of `stamps`), in the caller's transaction."""
        done = session.execute(
            update(IdempotentRequest)
            .where(self._row(owner, key), IdempotentRequest.created_at.in_(stamps),
                   IdempotentRequest.response.is_(None))
            .values(response=response, created_at=now)
        )
        return done.rowcount == 1

    def release(self, owner: str, key: str, stamp: datetime) -> None:
        """Delete our claim if it is still pending, so a retry can run the request."""
        with self.sessions.begin() as session:
            session.execute(delete(IdempotentRequest).where(
                self._row(owner, key), IdempotentRequest.created_at == stamp, IdempotentRequest.response.is_(None)))

    def forget(self, owner: str, key: str, seen: datetime) -> None:
        """Delete an expired record, unless it changed since it was read."""
        with self.sessions.begin() as session:
            session.execute(delete(IdempotentRequest).where(self._row(owner, key),
                                                            IdempotentRequest.created_at == seen))

    def purge(self, before: datetime) -> int:
        """Delete every record last touched before `before`; returns how many."""
        with self.sessions.begin() as session:
            return session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < before)).rowcount
