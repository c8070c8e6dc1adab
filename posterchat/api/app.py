"""The FastAPI application: routers, CORS, error handlers, and what lives as long as the server."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from .. import __version__, observability
from ..chat import ChatService
from ..config import Settings, get_settings
from ..exchange import ConversationChat
from ..store import Store, open_store
from ..usage import load_prices
from . import chat, conversations, errors, health, openai_api, page, poster
from . import export as export_api
from . import bodylimit, contract, cors, feedback, gate, mediatype, metrics, preferences
from . import usage as usage_api

log = logging.getLogger("posterchat.api")


def create_app(settings: Settings | None = None, *, service: ChatService | None = None,
               store: Store | None = None) -> FastAPI:
    """Build the app; the store is opened (and migrated) when the server starts."""
    if settings is None:  # the server's own app (uvicorn's factory): it owns the process's logging
        observability.setup_logging(get_settings().log_level)
    settings = settings or get_settings()
    owns_service = service is None
    service = service or ChatService(settings)
    prices = load_prices(settings.prices_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = store or await to_thread.run_sync(open_store, settings.resolved_database_url)
        app.state.conversation_chat = ConversationChat(service, app.state.store)
        await gate.start(app, settings, app.state.store, prices)
        await _warm_default_model(service)
        _freeze_heap()
        yield
        await gate.stop(app)
        if owns_service:
            await service.router.aclose()
        if store is None:
            app.state.store.close()

    app = FastAPI(
        title="posterchat", version=__version__, lifespan=lifespan,
        description="Chat-assistant backend for poster-design tools. Errors are `{\"error\": {\"code\", \"message\"}}`.",
    )
    app.state.settings = settings
    app.state.service = service
    app.add_middleware(mediatype.JsonBodies)
    app.add_middleware(bodylimit.BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(gate.Gate)  # inside CORS, so refusals carry CORS headers too
    app.add_middleware(
        cors.Cors, allow_origins=settings.cors_origins, allow_origin_regex=settings.cors_origin_regex,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["Retry-After", "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                        "X-RateLimit-Reset", "X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Tokens",
                        "X-RateLimit-Reset-Tokens", "WWW-Authenticate"],
    )
    errors.install(app)
    for module in (chat, conversations, openai_api, health, page, preferences, export_api, feedback,
                   usage_api, poster):
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    app.mount("/static", page.static_files(), name="static")
    contract.install(app)
    observability.install(app, service)  # last: its middleware is outermost and sees every response
    return app


def _freeze_heap() -> None:
    """Leave everything built at start-up (modules, the app, a loaded model) out of garbage collection.

    Each answer allocates many small objects; without this every full collection walks the whole start-up heap,
    which stalls all streams for milliseconds at a time (bench/results.md, streaming).
    """
    gc.collect()
    gc.freeze()


async def _warm_default_model(service: ChatService) -> None:
    """Load the default model now if it is embedded, so the first chat does not wait for it."""
    model, provider = service.router.resolve(None)
    if provider.runs_in_process:
        try:
            await to_thread.run_sync(provider.count_tokens, "warm up", model)
        except Exception as exc:  # the first chat reports it properly
            log.warning("could not load %s: %s", model, exc)
