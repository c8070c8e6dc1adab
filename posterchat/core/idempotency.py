"""Idempotency-Key on /chat: a repeated request gets the first answer instead of running a second turn.

The `idempotency` table is the lock, so this holds across instances sharing a database: inserting the
(owner, key) row claims the request; whoever finds the row taken waits for its answer. The holder keeps the
claim fresh while it runs, stores the answer in the same transaction as the turn, and deletes the claim if
the turn fails, so a retry can run it. A claim not refreshed for STALE_SECONDS belonged to an instance that
died, and the next request with the key takes it over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
from anyio import to_thread
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from ..errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidInput
from ..store.idempotency import IdempotencyStore
from ..store.models import utcnow

log = logging.getLogger("posterchat.idempotency")

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 128
KEY_PATTERN = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_KEY_CHARS}}}")
POLL_SECONDS = 0.1  # how often a waiting request looks for the answer
HEARTBEAT_SECONDS = 5.0  # how often a running request refreshes its claim
STALE_SECONDS = 30.0  # a claim this old without a refresh is abandoned
WAIT_SECONDS = 600.0  # longest a repeat waits for the first request before giving up with 409
PURGE_SECONDS = 3600.0  # how often expired records are deleted

OPENAPI = {"parameters": [{
    "name": HEADER, "in": "header", "required": False,
    "description": "Send the same key again (with the same body) to get the first answer instead of a second turn.",
    "schema": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$", "maxLength": MAX_KEY_CHARS},
}]}


def check_key(raw: str | None) -> str | None:
    """The header's key, or None without one; InvalidInput when it is too long or has unsafe characters."""
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise InvalidInput(f"the {HEADER} header must be 1 to {MAX_KEY_CHARS} letters, digits, '_', '.', ':' or '-'")
    return raw


def fingerprint(body: dict[str, Any]) -> str:
    """SHA-256 of the request body in canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    """The stored answer to an earlier request with the same key."""

    body: dict[str, Any]


@dataclass
class Claim:
    """This request holds the key: run the turn, `record` its answer with the turn, and always `settle`."""

    records: IdempotencyStore
    owner: str
    key: str
    stamp: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: datetime | None = None  # the stamp a refresh is writing
    _answered: bool = False
    _heartbeat: asyncio.Task | None = None

    def start(self) -> Claim:
        self._heartbeat = asyncio.get_running_loop().create_task(self._keep_fresh())
        return self

    async def _keep_fresh(self) -> None:
        while True:
            await anyio.sleep(HEARTBEAT_SECONDS)
            try:
                kept = await to_thread.run_sync(self._refresh)
            except Exception:  # a database hiccup: try again at the next beat
                log.warning("could not refresh the claim on %s %r", HEADER, self.key, exc_info=True)
                continue
            if not kept:
                log.warning("the claim on %s %r was taken over by another request", HEADER, self.key)
                return

    def _refresh(self) -> bool:
        """Move the claim's stamp forward; False when it is no longer ours."""
        # The database call runs outside the lock: holding it there could wait on the turn's own transaction.
        with self._lock:
            if self._answered:
                return True
            seen, fresh = self.stamp, utcnow()
            self._next = fresh
        kept = self.records.refresh(self.owner, self.key, seen, fresh)
        with self._lock:
            if kept:
                self.stamp = fresh
            self._next = None
        return kept

    def record(self, session: Session | None, answer: BaseModel) -> None:
        """Store the answer in `session`'s transaction (or its own); raises if the claim is no longer ours."""
        body = answer.model_dump(mode="json")
        with self._lock:  # a refresh may be committing right now: its new stamp is ours too
            self._answered = True
            stamps = [stamp for stamp in (self.stamp, self._next) if stamp is not None]
        if session is None:
            with self.records.sessions.begin() as own:
                kept = self.records.answer(own, self.owner, self.key, stamps, body, utcnow())
        else:
            kept = self.records.answer(session, self.owner, self.key, stamps, body, utcnow())
        if not kept:
            raise IdempotencyInProgress(f"another request took over {HEADER} {self.key!r}; send it again")

    async def settle(self) -> None:
        """Stop refreshing, and delete the claim unless an answer was stored, so a retry can run."""
        with anyio.CancelScope(shield=True):  # also when the client has gone and this request is cancelled
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                await asyncio.gather(self._heartbeat, return_exceptions=True)
            await to_thread.run_sync(lambda: self.records.release(self.owner, self.key, self.stamp))


class Idempotency:
    """Claims and replays over one database, shared by an app's requests."""

    def __init__(self, engine, ttl: float):
        self.records = IdempotencyStore(sessionmaker(engine, expire_on_commit=False))
        self.ttl = timedelta(seconds=ttl)
        self._purged_at = float("-inf")

    async def begin(self, owner: str, key: str, body_fingerprint: str) -> Claim | Replay:
        """Claim the key, or wait for the answer of whoever holds it."""
        await self._purge_now_and_then()
        waited_since = time.monotonic()
        while True:
            now = utcnow()
            if await to_thread.run_sync(self.records.claim, owner, key, body_fingerprint, now):
                return Claim(self.records, owner, key, now).start()
            row = await to_thread.run_sync(self.records.read, owner, key)
            if row is None:  # released between our insert and our read
                continue
            if row.response is not None and now - row.stamp > self.ttl:
                await to_thread.run_sync(self.records.forget, owner, key, row.stamp)
                continue
            if row.fingerprint != body_fingerprint:
                raise IdempotencyKeyReused(f"{HEADER} {key!r} was already used with a different request body")
            if row.response is not None:
                return Replay(row.response)
            if self._stale(row.stamp, now):
                if await to_thread.run_sync(self.records.take_over, owner, key, row.stamp, body_fingerprint, now):
                    log.info("took over the abandoned claim on %s %r", HEADER, key)
                    return Claim(self.records, owner, key, now).start()
                continue
            if time.monotonic() - waited_since > WAIT_SECONDS:
                raise IdempotencyInProgress(f"the first request with {HEADER} {key!r} is still running; retry later")
            await anyio.sleep(POLL_SECONDS)

    @staticmethod
    def _stale(at: datetime, now: datetime) -> bool:
        return now - at > timedelta(seconds=STALE_SECONDS)

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged_at < PURGE_SECONDS:
            return
        self._purged_at = time.monotonic()
        cutoff = utcnow() - max(self.ttl, timedelta(seconds=STALE_SECONDS))
        try:
            await to_thread.run_sync(self.records.purge, cutoff)
        except Exception:  # housekeeping; the request itself does not depend on it
            log.exception("could not delete expired idempotency records")
