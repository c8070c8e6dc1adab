"""Prometheus metrics, one registry per app, so several apps in one process (tests) never collide.

With several uvicorn workers every worker exposes its own numbers (see docs/deployment.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..providers import Usage

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
LABEL_CHARS = 200
OTHER_MODEL = "other"  # the label of every model that is neither served nor priced (made-up names)
MAX_MODEL_LABELS = 100  # a price prefix (ft:gpt-4o-mini) matches endless names; past this many they are `other` too


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
        self.fallbacks = Counter("posterchat_fallbacks", "Turns answered by a fallback model, by the model that "
                                 "failed and the one tried next.", ["model", "to"], registry=r)
        self.queue_depth = Gauge("posterchat_embedded_queue_depth",
                                 "Requests waiting for the embedded (in-process) models.", registry=r)
        self._is_known: Callable[[str], bool] = lambda model: True
        self._model_labels: set[str] = set()
        self._children: dict[tuple, Any] = {}

    def child(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, kept: labels() checks its arguments and takes a lock on every call."""
        key = (metric, values)
        if (found := self._children.get(key)) is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def known_models(self, router: Any, priced: Callable[[str], bool]) -> None:
        """Label models by name only when the router lists them, they are fallbacks, or `priced` knows them."""
        listed = {model.id for model in router.models()} | set(router.settings.fallback_models)
        self._is_known = lambda model: model in listed or priced(model)

    def model_label(self, model: Any) -> str:
        """The model's name, or `other` for one that is unknown, so made-up names cannot add series."""
        model = str(model)[:LABEL_CHARS]
        if model in self._model_labels:
            return model
        if len(self._model_labels) < MAX_MODEL_LABELS and self._is_known(model):
            self._model_labels.add(model)
            return model
        return OTHER_MODEL

    def watch_queue(self, router: Any) -> None:
        """Read the queue depth of the loaded local providers at every scrape."""
        self.queue_depth.set_function(lambda: sum(provider.queue_depth() for provider in router.loaded()))

    def record_tokens(self, model: str, usage: Usage, cost: float | None = None) -> None:
        """Add one completion's tokens and cost."""
        model = self.model_label(model)
        for kind, count in (("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)):
            if count:
                self.child(self.tokens, model, kind).inc(count)
        if cost:
            self.child(self.cost, model).inc(cost)

    def failed(self, exc: Any) -> None:
        """A turn failed for good (a TurnListener event)."""
        self.upstream_errors.labels(getattr(exc, "code", type(exc).__name__)).inc()

    def retried(self, exc: Any) -> None:
        """A model call is being tried again (a TurnListener event)."""
        self.retries.labels(getattr(exc, "code", type(exc).__name__)).inc()

    def fell_back(self, model: str, to: str, exc: Any) -> None:
        """A model failed before answering and the next in the fallback list is tried (a TurnListener event)."""
        self.fallbacks.labels(self.model_label(model), self.model_label(to)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
