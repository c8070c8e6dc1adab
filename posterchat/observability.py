"""Prometheus metrics, JSON logs and the request middleware that feeds both.

Each app has its own CollectorRegistry, so several apps in one process (tests) never collide; with several
uvicorn workers every worker exposes its own numbers (see docs/deployment.md).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.datastructures import MutableHeaders

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
QUIET_ROUTES = {"/health", "/metrics"}  # probes and scrapes: logged at DEBUG only
UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
LABEL_CHARS = 200
CHATTY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai")

current_request_id: ContextVar[str | None] = ContextVar("posterchat_request_id", default=None)
_current_metrics: ContextVar[Metrics | None] = ContextVar("posterchat_metrics", default=None)

access_log = logging.getLogger("posterchat.access")


class Metrics:
    """Every metric one app exposes, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        http = ["method", "route", "status"]
        self.requests = Counter("posterchat_http_requests", "HTTP requests, counted when the response starts.",
                                http, registry=r)
        self.latency = Histogram("posterchat_http_request_duration_seconds",
                                 "Time from request to the end of the response (streams included).", http,
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.in_progress = Gauge("posterchat_http_requests_in_progress", "HTTP requests being served.", registry=r)
        self.tokens = Counter("posterchat_tokens", "Tokens used, by model and kind (prompt or completion).",
                              ["model", "kind"], registry=r)
        self.cost = Counter("posterchat_cost_usd", "Estimated model cost in US dollars, by model.", ["model"],
                            registry=r)
        self.upstream_errors = Counter("posterchat_upstream_errors",
                                       "Model failures that reached the caller (after retries), by kind.", ["kind"],
                                       registry=r)
        self.retries = Counter("posterchat_upstream_retries", "Model calls retried after a transient failure, by kind.",
                               ["kind"], registry=r)
        self.queue_depth = Gauge("posterchat_embedded_queue_depth",
                                 "Requests waiting for the embedded (in-process) models.", registry=r)

    def watch_queue(self, router: Any) -> None:
        """Read the queue depth of the loaded local providers at every scrape."""
        self.queue_depth.set_function(lambda: sum(provider.queue_depth() for provider in router.loaded()))

    def record_tokens(self, model: str, usage: Any, cost: float | None = None) -> None:
        """Add one completion's tokens (a Usage or a dict with prompt/completion_tokens) and cost."""
        model = str(model)[:LABEL_CHARS]
        for kind in ("prompt", "completion"):
            count = usage.get(f"{kind}_tokens") if isinstance(usage, dict) else getattr(usage, f"{kind}_tokens", 0)
            if count:
                self.tokens.labels(model, kind).inc(count)
        if cost:
            self.cost.labels(model).inc(cost)

    def upstream_error(self, exc: Any) -> None:
        self.upstream_errors.labels(getattr(exc, "code", type(exc).__name__)).inc()

    def retry(self, exc: Any) -> None:
        self.retries.labels(getattr(exc, "code", type(exc).__name__)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def record_tokens(model: str, usage: Any, cost: float | None = None) -> None:
    """Count tokens and cost in the metrics of the app serving the current request; a no-op outside requests."""
    metrics = _current_metrics.get()
    if metrics is not None:
        metrics.record_tokens(model, usage, cost)


def hook_service(service: Any, metrics: Metrics) -> None:
    """Count the chat service's retries and failed turns, keeping any callbacks already set."""
    for attribute, record in (("on_retry", metrics.retry), ("on_error", metrics.upstream_error)):
        previous = getattr(service, attribute, None)

        def callback(exc, record=record, previous=previous):
            record(exc)
            if previous is not None:
                previous(exc)

        setattr(service, attribute, callback)


# Request ids, logs and the middleware


def request_id_from(scope: dict[str, Any]) -> str:
    """The caller's X-Request-ID when it is short and plain, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)


def route_templates(routes: Any) -> list[tuple[re.Pattern, str]]:
    """(path regex, template) of every route, included routers' routes too (FastAPI nests them)."""
    found = []
    for route in routes:
        nested = getattr(route, "effective_candidates", None) or getattr(route, "routes", None)
        if callable(nested):
            nested = nested()
        regex, path = getattr(route, "path_regex", None), getattr(route, "path", None)
        if regex is not None and path:
            found.append((regex, path))
        elif nested:
            found.extend(route_templates(nested))
    return found


def route_template(scope: dict[str, Any], templates: list[tuple[re.Pattern, str]] = ()) -> str:
    """The matched route's path template (/conversations/{conversation_id}), never the raw path."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    path = scope.get("path", "")  # answered before routing (a CORS preflight, a refused key): find the template
    return next((template for regex, template in templates if regex.match(path)), UNMATCHED)


class RequestObserver:
    """ASGI middleware: a request id for every request, metrics, and one JSON log line when it ends."""

    def __init__(self, app: Any, metrics: Metrics, routes: Any = ()):
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self._templates: list[tuple[re.Pattern, str]] | None = None

    def route(self, scope) -> str:
        if self._templates is None and scope.get("route") is None:
            self._templates = route_templates(self.routes)  # the routes are all known once requests arrive
        return route_template(scope, self._templates or ())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        reset = (current_request_id.set(request_id), _current_metrics.set(self.metrics))
        started, status = time.perf_counter(), None
        method = scope["method"] if scope["method"] in METHODS else "OTHER"

        async def observed_send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
                self.metrics.requests.labels(method, self.route(scope), str(status)).inc()
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            if status is None:  # the error handler outside this middleware answers 500
                status = 500
                self.metrics.requests.labels(method, self.route(scope), "500").inc()
            raise
        finally:
            self.metrics.in_progress.dec()
            self._finish(scope, method, status, time.perf_counter() - started)
            current_request_id.reset(reset[0])
            _current_metrics.reset(reset[1])

    def _finish(self, scope, method: str, status: int | None, seconds: float) -> None:
        """Observe the duration and write the request's log line."""
        route = self.route(scope)
        status_label = str(status) if status is not None else "0"  # 0: the client left before any response
        self.metrics.latency.labels(method, route, status_label).observe(seconds)
        client = scope.get("client")
        state = scope.get("state", {})
        fields = {
            "request_id": state.get("request_id"), "method": method, "route": route, "path": scope.get("path"),
            "status": status, "duration_ms": round(seconds * 1000, 1), "owner": state.get("owner"),
            "client": client[0] if client else None,
        }
        level = logging.DEBUG if route in QUIET_ROUTES and status == 200 else logging.INFO
        access_log.log(level, "request", extra=fields)


# JSON logging

_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message",
                                                                              "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            data["request_id"] = request_id
        data.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and not k.startswith("_")})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: str) -> None:
    """Make the process log JSON to stderr at `level`, uvicorn's own lines included."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    quiet_chatty_loggers()


def quiet_chatty_loggers() -> None:
    """HTTP client libraries log every request at INFO; show that only when the root logger is at DEBUG."""
    debug = logging.getLogger().level <= logging.DEBUG
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """A dictConfig for `uvicorn.run(log_config=...)`, so even the supervisor of several workers logs JSON."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"uvicorn": {"handlers": [], "propagate": True}, "uvicorn.error": {"propagate": True},
                    "uvicorn.access": {"handlers": [], "propagate": False}},
        "root": {"handlers": ["stderr"], "level": level},
    }


def install(app: Any, service: Any) -> Metrics:
    """Give the app its metrics and the request middleware; call last, so the middleware sees every response."""
    metrics = Metrics()
    metrics.watch_queue(service.router)
    hook_service(service, metrics)
    app.state.metrics = metrics
    app.add_middleware(RequestObserver, metrics=metrics, routes=app.router.routes)
    return metrics
