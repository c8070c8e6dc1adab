"""Rate limits over real HTTP: requests and tokens per minute, in memory and shared through Redis."""

from __future__ import annotations

import logging
import os
import time
import uuid

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.providers.base import Usage

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter
from .support.servers import ProcessServer
from .test_auth import bearer, make_key

LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
COMPLETION = {"messages": [{"role": "user", "content": "hi"}]}


def fake_server(serve, tmp_path, provider=None, **overrides):
    settings = make_settings(tmp_path, **overrides)
    service = ChatService(settings, FakeRouter(settings, provider or FakeProvider()))
    return serve(create_app(settings, service=service)).url, settings


def assert_refused(response: httpx.Response, limit: int, words: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited" and words in response.json()["error"]["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert time.time() - 1 <= int(response.headers["x-ratelimit-reset"]) <= time.time() + 61


def test_request_over_the_limit_gets_429_with_headers(serve, tmp_path):
    url, _ = fake_server(serve, tmp_path, rate_limit_rpm=2, rate_limit_tpm=0)
    first = httpx.post(f"{url}/chat", json={"message": "hi"})
    assert first.status_code == 200
    assert [first.headers[h] for h in LIMIT_HEADERS[:2]] == ["2", "1"] and int(first.headers["x-ratelimit-reset"])
    second = httpx.post(f"{url}/chat", json={"message": "hi", "stream": True})
    assert second.status_code == 200 and second.headers["x-ratelimit-remaining"] == "0"
    assert_refused(httpx.post(f"{url}/v1/chat/completions", json=COMPLETION), 2, "2 requests per minute")
    assert_refused(httpx.post(f"{url}/chat", json={"message": "hi"}), 2, "requests per minute")
    other = httpx.get(f"{url}/conversations")  # cheap endpoints are not counted
    assert other.status_code == 200 and "x-ratelimit-limit" not in other.headers


def test_each_key_has_its_own_limit(serve, tmp_path):
    settings = make_settings(tmp_path, rate_limit_rpm=1, rate_limit_tpm=0)
    keys = [make_key(settings, name)[1] for name in ("a", "b")]
    url = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, FakeProvider())))).url
    assert httpx.post(f"{url}/chat", json={"message": "hi"}, headers=bearer(keys[0])).status_code == 200
    assert httpx.post(f"{url}/chat", json={"message": "hi"}, headers=bearer(keys[0])).status_code == 429
    assert httpx.post(f"{url}/chat", json={"message": "hi"}, headers=bearer(keys[1])).status_code == 200


def test_tokens_per_minute_are_counted_after_each_answer(serve, tmp_path):
    provider = FakeProvider(usage=Usage(60, 40))
    url, _ = fake_server(serve, tmp_path, provider, rate_limit_rpm=0, rate_limit_tpm=150)
    first = httpx.post(f"{url}/chat", json={"message": "hi"})
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-tokens"] == "150"
    assert first.headers["x-ratelimit-limit"] == "150"  # with no request limit, the headers describe tokens
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**COMPLETION, "stream": True}) as streamed:
        assert streamed.status_code == 200 and streamed.headers["x-ratelimit-remaining-tokens"] == "50"
        streamed.read()
    refused = httpx.post(f"{url}/chat", json={"message": "hi"})
    assert_refused(refused, 150, "150 tokens per minute")
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert len(provider.received) == 2  # the refused request never reached the model


def test_answers_that_never_started_use_no_tokens(serve, tmp_path):
    from posterchat.errors import UpstreamError

    provider = FakeProvider([], usage=Usage(500, 500), fail=UpstreamError("the model server broke"))
    url, _ = fake_server(serve, tmp_path, provider, rate_limit_rpm=0, rate_limit_tpm=150, max_retries=0)
    for _ in range(3):
        assert httpx.post(f"{url}/chat", json={"message": "hi"}).status_code == 502
    fourth = httpx.post(f"{url}/chat", json={"message": "hi"})
    assert fourth.status_code == 502 and fourth.headers["x-ratelimit-remaining-tokens"] == "150"


def test_limits_off(serve, tmp_path):
    url, _ = fake_server(serve, tmp_path, rate_limit_rpm=0, rate_limit_tpm=0)
    responses = [httpx.post(f"{url}/chat", json={"message": "hi"}) for _ in range(5)]
    assert all(r.status_code == 200 and "x-ratelimit-limit" not in r.headers for r in responses)


def test_unreachable_redis_does_not_stop_the_api(serve, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    url, _ = fake_server(serve, tmp_path, redis_url="redis://127.0.0.1:1/0", rate_limit_rpm=1)
    assert [httpx.post(f"{url}/chat", json={"message": "hi"}).status_code for _ in range(2)] == [200, 200]
    assert "POSTERCHAT_REDIS_URL cannot be reached" in caplog.text and "not enforced" in caplog.text


@pytest.fixture
def redis_url():
    """The test Redis, and a key prefix of this test's own, removed afterwards."""
    url = os.environ.get("POSTERCHAT_TEST_REDIS_URL")
    if not url:
        pytest.skip("POSTERCHAT_TEST_REDIS_URL is not set")
    import redis

    prefix = f"pctest-{uuid.uuid4().hex[:12]}"
    yield url, prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.redis
def test_tokens_and_requests_counted_in_redis(serve, tmp_path, redis_url):
    url, prefix = redis_url
    provider = FakeProvider(usage=Usage(60, 40))
    server, _ = fake_server(serve, tmp_path, provider, redis_url=url, rate_limit_prefix=prefix,
                            rate_limit_rpm=5, rate_limit_tpm=150)
    assert httpx.post(f"{server}/chat", json={"message": "hi"}).headers["x-ratelimit-remaining"] == "4"
    assert httpx.post(f"{server}/chat", json={"message": "hi"}).headers["x-ratelimit-remaining-tokens"] == "50"
    assert_refused(httpx.post(f"{server}/chat", json={"message": "hi"}), 150, "tokens per minute")


@pytest.mark.redis
def test_two_server_processes_share_one_limit_through_redis(tmp_path, redis_url):
    url, prefix = redis_url
    env = {"POSTERCHAT_REDIS_URL": url, "POSTERCHAT_RATE_LIMIT_PREFIX": prefix, "POSTERCHAT_RATE_LIMIT_RPM": "3",
           "POSTERCHAT_DEFAULT_MODEL": "local"}
    chat = {"message": "Hi", "temperature": 0, "max_tokens": 2}
    with ProcessServer({**env, "POSTERCHAT_DATA_DIR": str(tmp_path / "one")}) as one, \
            ProcessServer({**env, "POSTERCHAT_DATA_DIR": str(tmp_path / "two")}) as two:
        statuses = [httpx.post(f"{server.url}/chat", json=chat, timeout=60).status_code
                    for server in (one, two, one)]
        assert statuses == [200, 200, 200]
        refused = httpx.post(f"{two.url}/chat", json=chat, timeout=60)
        assert_refused(refused, 3, "3 requests per minute")
        assert httpx.post(f"{one.url}/chat", json=chat, timeout=60).status_code == 429
