"""The request middleware: a request id for every request, metrics, and one JSON log line when it ends."""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from ...core.logs import current_request_id
from ...core.metrics import Metrics
from .headers import add_headers

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.lower().encode("latin-1")
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
QUIET_ROUTES = {"/health", "/metrics"}  # probes and scrapes: logged at DEBUG only
UNMATCHED = "<unmatched>"

access_log = logging.getLogger("posterchat.access")



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
        reset = current_request_id.set(request_id)
        started, status = time.perf_counter(), None
        method = scope["method"] if scope["method"] in METHODS else "OTHER"

        async def observed_send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                add_headers(message, [(_REQUEST_ID_RAW, request_id.encode("latin-1"))])
                self.metrics.child(self.metrics.requests, method, self.route(scope), str(status)).inc()
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            if status is None:  # the error handler outside this middleware answers 500
                status = 500
                self.metrics.child(self.metrics.requests, method, self.route(scope), "500").inc()
            raise
        finally:
            self.metrics.in_progress.dec()
            self._finish(scope, method, status, time.perf_counter() - started)
            current_request_id.reset(reset)

    def _finish(self, scope, method: str, status: int | None, seconds: float) -> None:
        """Observe the duration and write the request's log line."""
        route = self.route(scope)
        status_label = str(status) if status is not None else "0"  # 0: the client left before any response
        self.metrics.child(self.metrics.latency, method, route, status_label).observe(seconds)
        client = scope.get("client")
        state = scope.get("state", {})
        fields = {
            "request_id": state.get("request_id"), "method": method, "route": route, "path": scope.get("path"),
            "status": status, "duration_ms": round(seconds * 1000, 1), "owner": state.get("owner"),
            "client": client[0] if client else None,
        }
        level = logging.DEBUG if route in QUIET_ROUTES and status == 200 else logging.INFO
        access_log.log(level, "request", extra=fields)
