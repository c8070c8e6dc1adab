"""What lives as long as the app, built once in the lifespan and read by the routers through web/deps.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from anyio import to_thread

from ..config import Settings
from ..core.chat import ChatService
from ..core.conversations import ConversationChat
from ..core.idempotency import Idempotency
from ..core.keys import Authenticator
from ..core.metrics import Metrics
from ..core.ratelimit import RateLimiter
from ..core.usage import PriceTable, UsageMeter, UsageWriter
from ..store import Store, open_store

log = logging.getLogger("posterchat.web")


@dataclass
class Services:
    """The app's long-lived parts."""

    settings: Settings
    chat: ChatService
    store: Store
    conversations: ConversationChat
    auth: Authenticator
    limiter: RateLimiter
    meter: UsageMeter
    usage_writer: UsageWriter
    idempotency: Idempotency
    metrics: Metrics
    owns_store: bool

    @classmethod
    async def start(cls, settings: Settings, chat: ChatService, prices: PriceTable, metrics: Metrics,
                    store: Store | None = None) -> Services:
        """Open (and migrate) the store unless one is given, and build everything over it."""
        owns_store = store is None
        store = store or await to_thread.run_sync(open_store, settings.resolved_database_url)
        limiter = RateLimiter(settings)
        if settings.redis_url and limiter.enabled and not await limiter.check():
            log.warning("POSTERCHAT_REDIS_URL cannot be reached; rate limits are not enforced until it can")
        meter = UsageMeter(store.usage, prices)
        return cls(settings, chat, store, ConversationChat(chat, store),
                   Authenticator(store.keys, store.read, require_keys=settings.require_keys), limiter, meter,
                   UsageWriter(meter), Idempotency(store.engine, settings.idempotency_ttl), metrics, owns_store)

    async def stop(self) -> None:
        """Store the usage still counted in memory, then close the store if it is ours."""
        await self.usage_writer.close()
        if self.owns_store:
            self.store.close()
