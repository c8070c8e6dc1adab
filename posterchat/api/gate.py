"""Who may call, and how much: API keys on every endpoint but the open ones; limits and budgets on the model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import observability
from ..auth import Authenticator
from ..chat import Turn
from ..config import Settings
from ..errors import RateLimited, Unauthorized
from ..ratelimit import RateLimiter
from ..store import Store
from ..usage import PriceTable, UsageMeter
from .deps import OPEN_OWNER
from .errors import error_for

log = logging.getLogger("posterchat.api")

OPEN_PATHS = frozenset({"/", "/health", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                        "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)
USAGE_FLUSH_SECONDS = 0.5  # how long usage may stay counted in memory before it is stored


@dataclass
class Guards:
    """What the gate consults, one per app."""

    auth: Authenticator
    limiter: RateLimiter
    meter: UsageMeter


async def start(app: FastAPI, settings: Settings, store: Store, prices: PriceTable) -> None:
    """Set the app's guards up once its store is open (called from the lifespan)."""
    limiter = RateLimiter(settings)
    if settings.redis_url and limiter.enabled and not await limiter.check():
        log.warning("POSTERCHAT_REDIS_URL cannot be reached; rate limits are not enforced until it can")
    app.state.guards = Guards(Authenticator(store.keys, store.read, require_keys=settings.require_keys), limiter,
                              UsageMeter(store.usage, prices))
    app.state.usage_writer = UsageWriter(app.state.guards.meter)


async def stop(app: FastAPI) -> None:
    """Write any usage still counted in memory (called from the lifespan, before the store closes)."""
    if getattr(app.state, "usage_writer", None) is not None:
        await app.state.usage_writer.close()


class UsageWriter:
    """Write-behind: usage is counted in memory at once and stored in one transaction per interval.

    Answers never wait on the database for their usage row; under load the database sees one upsert per owner,
    model and day per interval. Reads of usage and budgets flush first, and so does shutdown; a crash loses at most
    one interval's counts (docs/reliability.md).
    """

    def __init__(self, meter: UsageMeter, interval: float = USAGE_FLUSH_SECONDS):
        self.meter = meter
        self.interval = interval
        self._task: asyncio.Task | None = None

    def write(self, owner: str, model: str, usage, *, local: bool) -> float:
        """Count the usage, have it stored within the interval, and return its cost."""
        cost = self.meter.add(owner, model, usage, local=local)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())
        return cost

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.interval)
        try:
            await to_thread.run_sync(self.meter.flush)
        except Exception:  # the counts stay in memory for the next flush
            log.exception("could not store usage; retrying with the next answer")

    async def close(self) -> None:
        """Store what is still counted (from the lifespan, before the store closes)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await to_thread.run_sync(self.meter.flush)


def guards(request: Request) -> Guards:
    return request.app.state.guards


def is_open(path: str) -> bool:
    """Paths anyone may read: the page, its assets, health, metrics and the API docs."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class Gate:
    """Pure ASGI middleware: the caller must bring a valid key while keys exist; rate-limit headers go out."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        try:
            key = await scope["app"].state.guards.auth.authenticate(Headers(scope=scope).get("authorization"))
        except Unauthorized as exc:
            log.info("refused %s %s: %s", scope["method"], scope["path"], exc.message)
            response = error_for(exc)
            response.headers["WWW-Authenticate"] = 'Bearer realm="posterchat"'
            return await response(scope, receive, send)
        client = scope.get("client")
        state["owner"] = key.id if key else OPEN_OWNER
        state["api_key"] = key
        state["rate_identity"] = f"key:{key.id}" if key else f"ip:{client[0] if client else 'unknown'}"

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get("rate_limit_headers"):
                MutableHeaders(scope=message).update(state["rate_limit_headers"])
            await send(message)

        await self.app(scope, receive, send_with_limits)


async def metered(request: Request) -> None:
    """Dependency of the model endpoints: the key's monthly budget, then tokens and requests per minute."""
    found = guards(request)
    key = getattr(request.state, "api_key", None)
    if key is not None and key.monthly_budget is not None:
        await to_thread.run_sync(found.meter.check_budget, key)
    if not found.limiter.enabled:
        return
    decision = await found.limiter.admit(_identity(request))
    request.state.rate_limit_headers = decision.headers
    if not decision.allowed:
        raise RateLimited(decision.message, retry_after=decision.retry_after)


async def account(request: Request, turn: Turn) -> None:
    """After a finished answer: record its usage for the caller and count its tokens against the limit."""
    found = guards(request)
    usage = turn.result().usage
    try:
        cost = request.app.state.usage_writer.write(getattr(request.state, "owner", OPEN_OWNER), turn.model, usage,
                                                    local=turn.provider.runs_in_process)
        observability.record_tokens(turn.model, usage, cost)
    except Exception:  # the answer is already the caller's; losing one usage row must not fail it
        log.exception("could not record usage for %s", turn.model)
    await found.limiter.charge(_identity(request), usage.total_tokens)


async def accounted(request: Request, turn: Turn, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """Pass a turn's stream on; once it has ended normally, account for the turn."""
    async for text in stream:
        yield text
    await account(request, turn)


def _identity(request: Request) -> str:
    """Whose limits a request counts against: its key, or its address on an open server."""
    identity = getattr(request.state, "rate_identity", None)
    if identity is None:  # a request the gate did not see, as in tests that build routers alone
        identity = f"ip:{request.client.host if request.client else 'unknown'}"
    return identity
