"""/metrics, request ids and JSON request logs, over real HTTP."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.core.logs import JsonFormatter
from posterchat.errors import StreamInterrupted, UpstreamError
from posterchat.providers import Usage

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter
from .support.servers import ProcessServer

SECRET_MESSAGE = "zebra-kumquat-4711 is my secret poster slogan"
SECRET_KEY = "pc_not-a-real-key-but-never-log-me-8421"


def samples(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, by name and labels."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(found, name, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def serve_fake(serve, tmp_path, provider, **overrides):
    settings = make_settings(tmp_path, **overrides)
    app = create_app(settings, service=ChatService(settings, FakeRouter(settings, provider)))
    return app, serve(app)


def test_requests_are_counted_by_route_template_and_status(fake_server):
    url = fake_server.url
    before = samples(url)
    chat = httpx.post(f"{url}/chat", json={"message": "Hi"}).json()
    httpx.get(f"{url}/conversations/{chat['conversation_id']}")
    httpx.get(f"{url}/conversations/0123456789abcdef")
    httpx.get(f"{url}/no/such/page")
    httpx.options(f"{url}/chat", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    after = samples(url)

    def grew(method, route, status):
        labels = {"method": method, "route": route, "status": status}
        return value(after, "posterchat_http_requests_total", **labels) - value(
            before, "posterchat_http_requests_total", **labels)

    assert grew("POST", "/chat", "200") == 1
    assert grew("GET", "/conversations/{conversation_id}", "200") == 1
    assert grew("GET", "/conversations/{conversation_id}", "404") == 1
    assert grew("GET", "<unmatched>", "404") == 1
    assert grew("OPTIONS", "/chat", "200") == 1
    assert value(after, "posterchat_http_request_duration_seconds_count", method="POST", route="/chat",
                 status="200") == 1
    assert not any(chat["conversation_id"] in dict(labels).get("route", "") for _, labels in after)


def test_a_stream_is_timed_to_its_end(tmp_path, serve):
    _, server = serve_fake(serve, tmp_path, FakeProvider(["a", "b", "c", "d"], delay=0.1))
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True}) as response:
        assert response.status_code == 200
        body = response.read().decode()
    assert "event: done" in body
    found = samples(server.url)
    labels = {"method": "POST", "route": "/chat", "status": "200"}
    assert value(found, "posterchat_http_requests_total", **labels) == 1
    assert value(found, "posterchat_http_request_duration_seconds_sum", **labels) >= 0.35


def test_upstream_errors_and_retries_are_counted(tmp_path, serve):
    flaky = FakeProvider([], fail=UpstreamError("upstream said 503", transient=True))
    _, server = serve_fake(serve, tmp_path, flaky, max_retries=2, retry_wait=0)
    assert httpx.post(f"{server.url}/chat", json={"message": "Hi"}).status_code == 502
    found = samples(server.url)
    assert value(found, "posterchat_upstream_retries_total", kind="upstream_error") == 2
    assert value(found, "posterchat_upstream_errors_total", kind="upstream_error") == 1
    assert value(found, "posterchat_http_requests_total", method="POST", route="/chat", status="502") == 1


def test_a_stream_broken_midway_counts_as_an_upstream_error(tmp_path, serve):
    broken = FakeProvider(["Hel"], fail=StreamInterrupted("the stream ended early"))
    _, server = serve_fake(serve, tmp_path, broken)
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True}) as response:
        assert "event: error" in response.read().decode()
    found = samples(server.url)
    assert value(found, "posterchat_upstream_errors_total", kind="stream_interrupted") == 1
    assert value(found, "posterchat_upstream_retries_total", kind="stream_interrupted") == 0


def test_tokens_and_cost_by_model(tmp_path, serve, fake):
    settings = make_settings(tmp_path)
    app = create_app(settings, service=ChatService(settings, FakeRouter(settings, fake)))

    @app.post("/test-usage")
    async def record():  # what the usage meter does once an answer is done
        app.state.services.metrics.record_tokens("gpt-4o-mini", Usage(120, 30), 0.0125)
        app.state.services.metrics.record_tokens("gpt-4o-mini", Usage(5, 1), None)
        return {}

    server = serve(app)
    assert httpx.post(f"{server.url}/test-usage").status_code == 200
    found = samples(server.url)
    assert value(found, "posterchat_tokens_total", model="gpt-4o-mini", kind="prompt") == 125
    assert value(found, "posterchat_tokens_total", model="gpt-4o-mini", kind="completion") == 31
    assert value(found, "posterchat_cost_usd_total", model="gpt-4o-mini") == pytest.approx(0.0125)
    assert value(samples(server.url), "posterchat_tokens_total", model="outside-a-request", kind="prompt") == 0


class QueuedProvider(FakeProvider):
    def queue_depth(self) -> int:
        return 3


def test_queue_depth_reads_the_loaded_local_providers(tmp_path, serve, fake):
    settings = make_settings(tmp_path)
    router = FakeRouter(settings, fake)
    _, server = serve_fake(serve, tmp_path, fake)
    assert value(samples(server.url), "posterchat_embedded_queue_depth") == 0
    router._local = {"a": QueuedProvider(), "b": QueuedProvider()}
    queued = serve(create_app(settings, service=ChatService(settings, router)))
    assert value(samples(queued.url), "posterchat_embedded_queue_depth") == 6


def test_apps_keep_their_own_metrics(tmp_path, serve, fake):
    _, first = serve_fake(serve, tmp_path / "one", fake)
    _, second = serve_fake(serve, tmp_path / "two", fake)
    httpx.post(f"{first.url}/chat", json={"message": "Hi"})
    labels = {"method": "POST", "route": "/chat", "status": "200"}
    assert value(samples(first.url), "posterchat_http_requests_total", **labels) == 1
    assert value(samples(second.url), "posterchat_http_requests_total", **labels) == 0


def test_metrics_can_be_turned_off(tmp_path, serve, fake):
    _, server = serve_fake(serve, tmp_path, fake, metrics_enabled=False)
    assert httpx.get(f"{server.url}/metrics").status_code == 404


# Request ids and logs


@pytest.mark.parametrize("sent", ["req-123", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "trace:abc.def_9"])
def test_a_sane_request_id_is_echoed(fake_server, sent):
    assert httpx.get(f"{fake_server.url}/health", headers={"X-Request-ID": sent}).headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["", "has spaces", "x" * 129, "new\\nline", "<script>", "-leading-dash", "é"])
def test_an_odd_request_id_is_replaced(fake_server, sent):
    response = httpx.get(f"{fake_server.url}/health", headers={"X-Request-ID": sent.encode()})
    echoed = response.headers["x-request-id"]
    assert echoed != sent and len(echoed) == 32 and all(c in "0123456789abcdef" for c in echoed)


def test_errors_carry_a_request_id_too(fake_server):
    response = httpx.post(f"{fake_server.url}/chat", json={"message": ""}, headers={"X-Request-ID": "bad-body-1"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "bad-body-1"


@pytest.fixture
def log_lines():
    """JSON lines written by posterchat's loggers during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("posterchat")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_one_json_line_per_request_with_its_id(tmp_path, serve, fake, log_lines):
    settings = make_settings(tmp_path)
    app = create_app(settings, service=ChatService(settings, FakeRouter(settings, fake)))

    @app.get("/test-log")
    async def noisy():
        logging.getLogger("posterchat.test").info("inside the request", extra={"detail": 7})
        return {}

    server = serve(app)
    httpx.get(f"{server.url}/test-log", headers={"X-Request-ID": "inner-1"})
    httpx.post(f"{server.url}/chat", json={"message": SECRET_MESSAGE},
               headers={"X-Request-ID": "chat-1", "Authorization": f"Bearer {SECRET_KEY}"})
    lines = log_lines()
    inner = next(line for line in lines if line["message"] == "inside the request")
    assert inner["request_id"] == "inner-1" and inner["detail"] == 7 and inner["level"] == "INFO"
    [access] = [line for line in lines if line["logger"] == "posterchat.access" and line["request_id"] == "chat-1"]
    assert access["message"] == "request"
    assert {k: access[k] for k in ("method", "route", "path", "status", "client")} == {
        "method": "POST", "route": "/chat", "path": "/chat", "status": 200, "client": "127.0.0.1"}
    assert isinstance(access["duration_ms"], float) and access["owner"] == "public"
    everything = "\n".join(json.dumps(line) for line in lines)
    assert "zebra-kumquat" not in everything and SECRET_KEY not in everything


def test_the_served_app_logs_json_without_secrets(tmp_path):
    server = ProcessServer({"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_LOG_LEVEL": "INFO"})
    server.start()
    try:
        answer = httpx.post(f"{server.url}/chat", timeout=120,
                            json={"message": SECRET_MESSAGE, "temperature": 0, "max_tokens": 4},
                            headers={"X-Request-ID": "proc-chat-1", "Authorization": f"Bearer {SECRET_KEY}"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == "proc-chat-1"
    finally:
        output = server.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"].startswith("uvicorn") and "Started server process" in line["message"] for line in lines)
    mine = [line for line in lines if line.get("request_id") == "proc-chat-1"]
    [access] = [line for line in mine if line["logger"] == "posterchat.access"]
    assert (access["route"], access["status"]) == ("/chat", 200)
    assert "zebra-kumquat" not in output and SECRET_KEY not in output and "Bearer" not in output


def test_tokens_and_cost_of_real_requests_are_counted(tmp_path, serve):
    provider = FakeProvider(["Bold ", "type."], usage=Usage(1000, 500))
    _, server = serve_fake(serve, tmp_path, provider)
    httpx.post(f"{server.url}/chat", json={"message": "Hi", "model": "ft:gpt-4o-mini-2024-07-18:a:b:c"})
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True,
                                                          "model": "ft:gpt-4o-mini-2024-07-18:a:b:c"}) as r:
        r.read()
    found = samples(server.url)
    model = "ft:gpt-4o-mini-2024-07-18:a:b:c"
    assert value(found, "posterchat_tokens_total", model=model, kind="prompt") == 2000
    assert value(found, "posterchat_tokens_total", model=model, kind="completion") == 1000
    assert value(found, "posterchat_cost_usd_total", model=model) == pytest.approx(2 * (1000 * 0.30 + 500 * 1.20) / 1e6)
