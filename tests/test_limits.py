"""Size limits over real HTTP: request bodies (declared or chunked), messages, history and answer length."""

from __future__ import annotations

import json

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter

LIMIT = 4096


@pytest.fixture
def url(serve, tmp_path):
    settings = make_settings(tmp_path, max_body_bytes=LIMIT, max_message_chars=1000, max_history_entries=4,
                             max_history_chars=2000, max_tokens_cap=64, rate_limit_rpm=0)
    return serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, FakeProvider())))).url


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]


def test_body_over_the_limit_gets_413_json(url):
    body = json.dumps({"message": "x" * LIMIT}).encode()
    assert_too_large(httpx.post(f"{url}/chat", content=body, headers={"Content-Type": "application/json"}))
    assert_too_large(httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user",
                                                                                  "content": "x" * LIMIT}]}))


def test_chunked_body_over_the_limit_gets_413_json(url):
    def chunks():
        yield b'{"message": "'
        for _ in range(8):
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(f"{url}/chat", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_too_large(response)


def test_body_under_the_limit_is_read(url):
    def chunks():
        yield b'{"message": "'
        yield b"x" * 900
        yield b'"}'

    assert httpx.post(f"{url}/chat", content=chunks(), headers={"Content-Type": "application/json"}).status_code == 200


@pytest.mark.parametrize("body, fragment", [
    ({"message": "x" * 1001}, "message is 1001 characters long; the limit is 1000"),
    ({"message": "hi", "conversation_history": [{"role": "user", "content": "a"}] * 5},
     "conversation_history has 5 entries; the limit is 4"),
    ({"message": "hi", "conversation_history": [{"role": "user", "content": "a" * 1001}] * 2},
     "conversation_history is longer than 2000 characters"),
    ({"message": "hi", "max_tokens": 65}, "max_tokens may be at most 64"),
])
def test_message_history_and_answer_limits_are_clear_400s(url, body, fragment):
    response = httpx.post(f"{url}/chat", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and fragment in error["message"]


def test_completions_endpoint_applies_the_same_limits(url):
    too_long = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 1001}]})
    assert too_long.status_code == 400 and "limit is 1000" in too_long.json()["error"]["message"]
    too_many = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "a"}] * 6})
    assert too_many.status_code == 400 and "limit is 4" in too_many.json()["error"]["message"]
    capped = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "a"}],
                                                             "max_tokens": 65})
    assert capped.status_code == 400 and "at most 64" in capped.json()["error"]["message"]
