"""Budgets that hold: a turn is charged however it ends, and concurrent turns (on any instance) overshoot a key's
monthly budget by at most one request's cost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from posterchat.core.chat import ChatService
from posterchat.errors import StreamInterrupted
from posterchat.providers import Usage
from posterchat.web.app import create_app

from .conftest import make_settings, wait_for
from .support.fakes import FakeProvider, FakeRouter
from .support.sse import events
from .test_auth import bearer, make_key

MODEL = "priced-model"
PRICE = 2500.0  # USD per 1M tokens: 100 + 100 tokens cost $0.50


def priced_settings(tmp_path, **overrides):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {MODEL: {"prompt": PRICE, "completion": PRICE}}}))
    return make_settings(tmp_path, prices_file=prices, rate_limit_rpm=0, rate_limit_tpm=0, **overrides)


def start(serve, settings, provider):
    return serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider)))).url


def spent(url: str, key: str) -> dict:
    return httpx.get(f"{url}/usage", headers=bearer(key)).json()


@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions"])
def test_leaving_a_stream_early_is_charged_for_what_was_generated(tmp_path, serve, path):
    settings = priced_settings(tmp_path)
    _, key = make_key(settings, "leaver", monthly_budget=100.0)
    provider = FakeProvider([f"word{i}. " for i in range(60)], delay=0.02, usage=Usage(100, 60))
    url = start(serve, settings, provider)
    body = ({"message": "Tell me about posters", "model": MODEL, "stream": True} if path == "/chat" else
            {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Tell me about posters"}]})
    for _ in range(2):
        with httpx.stream("POST", f"{url}{path}", json=body, headers=bearer(key)) as response:
            seen = 0
            for _event in events(response):
                seen += 1
                if seen == 5:
                    break  # the client leaves long before the end
    assert wait_for(lambda: spent(url, key)["total"]["requests"] == 2)
    total = spent(url, key)["total"]
    assert total["prompt_tokens"] > 0 and 0 < total["completion_tokens"] < 2 * 60
    assert total["cost_usd"] > 0
    assert provider.cancelled == 2  # and the model really stopped


def test_an_upstream_cut_and_the_tokens_per_minute_limit_count_what_was_generated(tmp_path, serve):
    settings = make_settings(tmp_path, rate_limit_rpm=0, rate_limit_tpm=1_000)
    provider = FakeProvider(["Half an answer. "] * 20, fail=StreamInterrupted("cut"))
    url = start(serve, settings, provider)
    with httpx.stream("POST", f"{url}/chat", json={"message": "hi", "stream": True}) as response:
        assert [name for name, _ in events(response)][-1] == "error"
    assert wait_for(lambda: httpx.get(f"{url}/usage").json()["total"]["requests"] == 1)
    assert httpx.get(f"{url}/usage").json()["total"]["completion_tokens"] > 0
    after = httpx.post(f"{url}/chat", json={"message": "hi"})
    assert int(after.headers["x-ratelimit-remaining-tokens"]) < 1_000


def _flood(urls: list[str], key: str, count: int) -> list[int]:
    """`count` concurrent /chat requests spread over `urls`; their statuses."""
    body = {"message": "Design me a poster", "model": MODEL, "max_tokens": 100}

    def one(index: int) -> int:
        return httpx.post(f"{urls[index % len(urls)]}/chat", json=body, headers=bearer(key), timeout=60).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _assert_budget_held(statuses: list[int], url: str, key: str, budget: float, one_request: float) -> None:
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 1
    assert wait_for(lambda: spent(url, key)["total"]["requests"] == statuses.count(200))
    assert spent(url, key)["total"]["cost_usd"] <= budget + one_request + 1e-9


def test_concurrent_requests_overshoot_the_budget_by_at_most_one(tmp_path, serve, database_url):
    settings = priced_settings(tmp_path, database_url=database_url)
    _, key = make_key(settings, "busy", monthly_budget=1.0)
    url = start(serve, settings, FakeProvider(["An answer."], delay=0.2, usage=Usage(100, 100)))
    statuses = _flood([url], key, 20)
    _assert_budget_held(statuses, url, key, budget=1.0, one_request=0.5)
    assert statuses.count(429) >= 15


@pytest.mark.postgres
def test_two_instances_sharing_postgresql_hold_the_budget_together(tmp_path, serve, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("two instances share a PostgreSQL database")
    settings = priced_settings(tmp_path, database_url=database_url)
    _, key = make_key(settings, "shared", monthly_budget=1.0)
    urls = [start(serve, settings, FakeProvider(["An answer."], delay=0.2, usage=Usage(100, 100))) for _ in range(2)]
    statuses = _flood(urls, key, 20)
    _assert_budget_held(statuses, urls[0], key, budget=1.0, one_request=0.5)


def test_a_hold_is_let_go_when_the_turn_never_began(tmp_path, serve):
    settings = priced_settings(tmp_path, max_retries=0)
    _, key = make_key(settings, "unlucky", monthly_budget=1.0)
    failing = FakeProvider([], fail=StreamInterrupted("down before answering"))
    url = start(serve, settings, failing)
    for _ in range(5):  # each would hold more than the whole budget if holds were kept
        assert httpx.post(f"{url}/chat", json={"message": "hi", "model": MODEL, "max_tokens": 4000},
                          headers=bearer(key)).status_code == 502
    assert spent(url, key)["total"]["requests"] == 0
    failing.fail, failing.chunks = None, ["Now it works."]
    assert httpx.post(f"{url}/chat", json={"message": "hi", "model": MODEL}, headers=bearer(key)).status_code == 200
