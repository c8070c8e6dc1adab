"""Client API keys: create, list, revoke, and check the key a request carries."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import InvalidInput, Unauthorized
from ..store.keys import KeyRecord, KeyStore

KEY_PREFIX = "pc_"
KEY_RANDOM_BYTES = 32  # 256 bits: a plain SHA-256 is then a safe way to store it
SHOWN_PREFIX_CHARS = 11  # "pc_" and 8 random characters, to tell keys apart in listings
KEYS_CHECK_SECONDS = 5.0  # how long "does any key exist?" is trusted, so open servers skip the database
NAME_CHARS = 100


def generate_key() -> str:
    """A new key: pc_ and 43 random URL-safe characters."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(keys: KeyStore, name: str, monthly_budget: float | None = None) -> tuple[KeyRecord, str]:
    """Store a new key and return its record and the key itself, which is never available again."""
    name = name.strip()
    if not name or len(name) > NAME_CHARS or not name.isprintable():
        raise InvalidInput(f"the key name must be 1 to {NAME_CHARS} printable characters")
    if monthly_budget is not None and not monthly_budget > 0:
        raise InvalidInput("the monthly budget must be a positive number of US dollars")
    key = generate_key()
    record = keys.add(secrets.token_hex(8), name, hash_key(key), key[:SHOWN_PREFIX_CHARS], monthly_budget)
    return record, key


def bearer_token(authorization: str | None) -> str:
    """The key in an `Authorization: Bearer KEY` header."""
    if not authorization:
        raise Unauthorized("this server needs an API key: send the header 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    return token.strip()


class Authenticator:
    """Decides who a request comes from: a key's record, or None while the server is open."""

    def __init__(self, keys: KeyStore, read: Callable[..., Awaitable[Any]], *, require_keys: bool = False,
                 check_seconds: float = KEYS_CHECK_SECONDS):
        self.keys = keys
        self._read = read  # Store.read: on the event loop for SQLite, on a worker thread otherwise
        self.require_keys = require_keys
        self.check_seconds = check_seconds
        self._keys_exist = False
        self._checked_at = float("-inf")

    async def keys_exist(self) -> bool:
        """Whether any unrevoked key exists, asked of the database at most every few seconds."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            self._keys_exist = await self._read(self.keys.any_active)
            self._checked_at = now
        return self._keys_exist

    async def authenticate(self, authorization: str | None) -> KeyRecord | None:
        """The caller's key record, None on an open server; Unauthorized when the key is missing or wrong."""
        if not await self.keys_exist():
            if self.require_keys:
                raise Unauthorized("this server accepts only API keys and none exists; "
                                   "create one with `posterchat keys create --name NAME`")
            return None
        token = bearer_token(authorization)
        record = await self._read(self.keys.find, hash_key(token))
        if record is None:
            raise Unauthorized("the API key is not valid")
        if record.revoked:
            raise Unauthorized("the API key has been revoked")
        return record


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
