"""Findings of the security test, issue 16: made-up model names in /metrics, NUL characters, streams that fail in
an unexpected way, security headers on every response, and the API docs served from the package."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.core.chat import ChatService
from posterchat.core.metrics import OTHER_MODEL
from posterchat.web.app import create_app

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter
from .support.sse import events


def start(serve, tmp_path, provider: FakeProvider, **overrides):
    settings = make_settings(tmp_path, **overrides)
    return serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))


def model_labels(url: str) -> set[str]:
    """Every `model` label value in /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {sample.labels["model"] for family in text_string_to_metric_families(text)
            for sample in family.samples if "model" in sample.labels}


# ---- /metrics and made-up model names ----

def test_made_up_model_names_share_one_metrics_label(serve, tmp_path):
    """30 random model names add one series, `other`; listed and priced models keep their names."""
    server = start(serve, tmp_path, FakeProvider(["Fine."]))
    for _ in range(30):
        answer = httpx.post(f"{server.url}/chat", timeout=30, json={
            "message": "Hi", "conversation_history": [], "model": f"made-up-{secrets.token_hex(6)}"})
        assert answer.status_code == 200
    for model in (EMBEDDED_MODEL_ID, "gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini-2024-07-18:org:poster:abc123"):
        httpx.post(f"{server.url}/chat", timeout=30, json={"message": "Hi", "conversation_history": [],
                                                           "model": model})
    assert model_labels(server.url) == {OTHER_MODEL, EMBEDDED_MODEL_ID, "gpt-4o-mini-2024-07-18",
                                        "ft:gpt-4o-mini-2024-07-18:org:poster:abc123"}


def test_made_up_paths_share_one_route_label(fake_server):
    for _ in range(20):
        httpx.get(f"{fake_server.url}/nothing-{secrets.token_hex(6)}", timeout=10)
    text = httpx.get(f"{fake_server.url}/metrics", timeout=10).text
    routes = {s.labels["route"] for f in text_string_to_metric_families(text) for s in f.samples if "route" in s.labels}
    assert "<unmatched>" in routes and not any(route.startswith("/nothing-") for route in routes)


# ---- NUL characters ----

def nul_cases() -> list[tuple[str, dict]]:
    history = [{"role": "user", "content": "Hi\x00"}, {"role": "assistant", "content": "Hello"}]
    return [
        ("/chat", {"message": "Hello\x00there"}),
        ("/chat", {"message": "Hello", "conversation_history": history}),
        ("/chat", {"message": "Hello\x00", "stream": True}),
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi\x00"}]}),
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True,
                                  "messages": [{"role": "system", "content": "Be\x00 brief"},
                                               {"role": "user", "content": "Hi"}]}),
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi\x00"}]}]}),
    ]


def test_nul_in_what_the_user_sends_is_a_400_and_stores_nothing(database_url, serve, tmp_path):
    provider = FakeProvider(["Fine."])
    server = start(serve, tmp_path, provider, database_url=database_url)
    for path, body in nul_cases():
        response = httpx.post(f"{server.url}{path}", json=body, timeout=30)
        assert response.status_code == 400, (path, body, response.text)
        assert "NUL" in response.json()["error"]["message"]
    assert provider.requests == []
    assert httpx.get(f"{server.url}/conversations", timeout=10).json()["data"] == []


def test_nul_in_what_the_model_answers_is_removed_before_it_is_stored_or_sent(database_url, serve, tmp_path):
    server = start(serve, tmp_path, FakeProvider(["Bold\x00 ", "\x00", "type."]), database_url=database_url)
    whole = httpx.post(f"{server.url}/chat", json={"message": "Hi"}, timeout=30).json()
    assert whole["response"] == "Bold type."
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True}, timeout=30) as response:
        streamed = list(events(response))
    assert "".join(data["text"] for kind, data in streamed if kind == "delta") == "Bold type."
    done = streamed[-1]
    assert done[0] == "done" and done[1]["response"] == "Bold type."
    for conversation in (whole["conversation_id"], done[1]["conversation_id"]):
        stored = httpx.get(f"{server.url}/conversations/{conversation}", timeout=10).json()
        assert [m["content"] for m in stored["messages"]] == ["Hi", "Bold type."]

    v1 = httpx.post(f"{server.url}/v1/chat/completions", timeout=30,
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}).json()
    assert v1["choices"][0]["message"]["content"] == "Bold type."
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", timeout=30, json={
            "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}) as response:
        raw = response.read()
    assert b"\\u0000" not in raw and b"\x00" not in raw and b"Bold " in raw


# ---- a stream that fails in a way nobody expected ----

@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions"])
def test_an_unexpected_exception_mid_stream_ends_with_an_error_event(serve, tmp_path, path):
    server = start(serve, tmp_path, FakeProvider(["Half ", "an answer"], fail=RuntimeError("boom: secret detail")))
    body = {"message": "Hi", "conversation_history": [], "stream": True} if path == "/chat" else {
        "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.stream("POST", f"{server.url}{path}", json=body, timeout=30) as response:
        assert response.status_code == 200
        received = list(events(response))
    assert "secret detail" not in json.dumps(received)
    if path == "/chat":
        kinds = [kind for kind, _ in received]
        assert kinds[-1] == "error" and set(kinds[:-1]) <= {"delta"}  # never `done`
        assert received[-1][1]["error"]["code"] == "internal_error"
    else:
        payloads = [data for _, data in received]
        assert payloads[-1] == "[DONE]" and payloads[-2]["error"]["code"] == "internal_error"
        assert all(choice["finish_reason"] is None for chunk in payloads[:-2] for choice in chunk["choices"])


# ---- headers on every response ----

def test_every_response_says_nosniff_and_no_referrer(serve, tmp_path):
    server = start(serve, tmp_path, FakeProvider(["Half"], fail=RuntimeError("unexpected")))
    url = server.url
    responses = [
        httpx.get(f"{url}/"), httpx.get(f"{url}/health"), httpx.get(f"{url}/static/app.js"), httpx.get(f"{url}/docs"),
        httpx.get(f"{url}/docs/assets/swagger-ui.css"), httpx.get(f"{url}/openapi.json"), httpx.get(f"{url}/metrics"),
        httpx.get(f"{url}/nothing-here"), httpx.delete(f"{url}/health"),
        httpx.post(f"{url}/chat", json={"nonsense": 1}), httpx.post(f"{url}/chat", content=b"x", headers={
            "Content-Type": "text/plain"}),
        httpx.options(f"{url}/chat", headers={"Origin": "https://evil.example",
                                              "Access-Control-Request-Method": "POST"}),
        httpx.get(f"{url}/usage", headers={"Origin": "null"}),
        httpx.post(f"{url}/chat", json={"message": "Hi", "conversation_history": []}, timeout=30),  # the model fails
    ]
    assert {r.status_code for r in responses} >= {200, 400, 403, 404, 405, 415, 422, 500}
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers["referrer-policy"] == "no-referrer", response.request.url
        assert response.headers.get_list("referrer-policy") == ["no-referrer"]


# ---- the API docs, offline ----

def test_the_api_docs_load_every_asset_from_this_server(fake_server):
    url = fake_server.url
    for page, marker in (("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc")):
        response = httpx.get(f"{url}{page}")
        assert response.status_code == 200 and marker in response.text
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "https:" not in policy
        sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert sources and all(source.startswith("/docs/assets/") for source in sources), sources
        for source in sources:
            asset = httpx.get(f"{url}{source}")
            assert asset.status_code == 200 and len(asset.content) > 1000, source
            kind = {".js": "javascript", ".css": "text/css", ".png": "image/png"}[source[source.rfind("."):]]
            assert kind in asset.headers["content-type"], source
    for script in re.findall(r"<script>(.*?)</script>", httpx.get(f"{url}/docs").text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in httpx.get(f"{url}/docs").headers["content-security-policy"]
