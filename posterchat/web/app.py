"""The FastAPI application: middleware, routers, error handlers, and the services built in its lifespan."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from .. import __version__
from ..config import Settings, get_settings
from ..core.chat import ChatService
from ..core.logs import setup_logging
from ..core.metrics import Metrics
from ..core.usage import load_prices
from ..store import Store
from . import errors, openapi
from .middleware.bodylimit import BodyLimit
from .middleware.cors import Cors
from .middleware.gate import Gate
from .middleware.headers import SecurityHeaders
from .middleware.mediatype import JsonBodies
from .middleware.observe import RequestObserver
from .routers import chat, conversations, export, feedback, health, metrics, openai, page, poster, preferences, usage
from .routers import docs
from .routers import responses as responses_api
from .services import Services

log = logging.getLogger("posterchat.web")

EXPOSED_HEADERS = ["Retry-After", "X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                   "X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Tokens", "X-RateLimit-Reset-Tokens",
                   "WWW-Authenticate", "X-Posterchat-Fallback-From"]


def create_app(settings: Settings | None = None, *, service: ChatService | None = None,
               store: Store | None = None) -> FastAPI:
    """Build the app; the store is opened (and migrated) when the server starts."""
    if settings is None:  # the server's own app (uvicorn's factory): it owns the process's logging
        setup_logging(get_settings().log_level)
    settings = settings or get_settings()
    owns_service = service is None
    service = service or ChatService(settings)
    prices = load_prices(settings.prices_file)
    counters = Metrics()
    counters.watch_queue(service.router)
    counters.known_models(service.router, lambda model: prices.find(model) is not None)
    service.listeners.append(counters)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.services = await Services.start(settings, service, prices, counters, store)
        await _warm_default_model(service)
        _freeze_heap()
        yield
        await app.state.services.stop()
        if owns_service:
            await service.router.aclose()

    app = FastAPI(
        title="posterchat", version=__version__, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served by routers/docs.py, without a CDN
        description="Chat-assistant backend for poster-design tools. Errors are `{\"error\": {\"code\", \"message\"}}`.",
    )
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Gate)  # inside CORS, so refusals carry CORS headers too
    app.add_middleware(Cors, allow_origins=settings.cors_origins, allow_origin_regex=settings.cors_origin_regex,
                       allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                       allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
                       expose_headers=EXPOSED_HEADERS)
    errors.install(app)
    # /v1 first: routes are matched in order, and the gateway's requests are the ones that must add least
    _add_routes(app, openai.router)
    for module in (chat, conversations, health, page, preferences, export, feedback, usage, poster, responses_api):
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    app.mount("/static", page.static_files(), name="static")
    docs.install(app)
    openapi.install(app)
    app.add_middleware(RequestObserver, metrics=counters, routes=app.router.routes)  # last: sees every response
    app.add_middleware(SecurityHeaders)  # outermost (a 500 for an unexpected error gets them in errors.py)
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The gateway router's routes as the app's own, as older FastAPI versions' `include_router` made them: an
    included router is now a layer that every request is matched through (~100 K instructions a request,
    bench/notes.md). Its routes set their own prefix, tags and responses, and take no dependencies, which
    `app.dependency_overrides` could not reach here."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.dependant.dependencies:
            raise TypeError(f"{route.path} takes dependencies; include its router instead")
    app.router.routes.extend(router.routes)


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
