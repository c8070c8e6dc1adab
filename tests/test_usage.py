"""Usage and cost over real HTTP: tokens per key, model and day, prices, budgets, and failed turns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.errors import ConfigError, UpstreamError
from posterchat.providers.base import Usage
from posterchat.store import open_store
from posterchat.core.usage import load_prices, next_month

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter
from .support.servers import ROOT
from .support.sse import events
from .test_auth import bearer, make_key

FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:sia-project-1:jun24-test:Bm0QDLkZ"
GREEDY = {"temperature": 0, "max_tokens": 8}


def fake_server(serve, tmp_path, provider, **overrides):
    settings = make_settings(tmp_path, rate_limit_tpm=0, **overrides)
    service = ChatService(settings, FakeRouter(settings, provider))
    return serve(create_app(settings, service=service)).url, settings


def test_usage_adds_up_to_what_the_embedded_model_reported(embedded_server):
    url = embedded_server.url
    reported = [httpx.post(f"{url}/chat", json={"message": "Hi", **GREEDY}, timeout=60).json()["usage"]]
    with httpx.stream("POST", f"{url}/chat", json={"message": "Colours?", "stream": True, **GREEDY},
                      timeout=60) as response:
        reported += [data["usage"] for name, data in events(response) if name == "done"]
    messages = [{"role": "user", "content": "Fonts?"}]
    completion = {"messages": messages, "model": "local", **GREEDY}
    reported.append(httpx.post(f"{url}/v1/chat/completions", json=completion, timeout=60).json()["usage"])
    with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=60,
                      json={**completion, "stream": True, "stream_options": {"include_usage": True}}) as response:
        reported += [data["usage"] for _, data in events(response) if isinstance(data, dict) and data.get("usage")]
    assert len(reported) == 4 and all(u["completion_tokens"] > 0 for u in reported)

    usage = httpx.get(f"{url}/usage").json()
    prompt, completion_tokens = (sum(u[name] for u in reported) for name in ("prompt_tokens", "completion_tokens"))
    assert usage["total"] == {"requests": 4, "prompt_tokens": prompt, "completion_tokens": completion_tokens,
                              "total_tokens": prompt + completion_tokens, "cost_usd": 0}
    today = datetime.now(UTC).date().isoformat()
    assert [(row["day"], row["model"], row["requests"]) for row in usage["data"]] == [(today, EMBEDDED_MODEL_ID, 4)]
    assert usage["budget"] is None and usage["since"] is None


def test_cost_follows_the_prices_of_each_model(serve, tmp_path):
    provider = FakeProvider(usage=Usage(1_000_000, 500_000))
    url, _ = fake_server(serve, tmp_path, provider)
    for model in (FINE_TUNE, FINE_TUNE, "gpt-4o-mini-2024-07-18"):
        assert httpx.post(f"{url}/chat", json={"message": "hi", "model": model}).status_code == 200
    assert httpx.post(f"{url}/v1/chat/completions", json={
        "model": "unpriced-model", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    usage = httpx.get(f"{url}/usage").json()
    by_model = {entry["model"]: entry for entry in usage["models"]}
    assert by_model[FINE_TUNE]["cost_usd"] == pytest.approx(2 * (0.30 + 0.5 * 1.20))
    assert by_model[FINE_TUNE]["requests"] == 2 and by_model[FINE_TUNE]["prompt_tokens"] == 2_000_000
    assert by_model["gpt-4o-mini-2024-07-18"]["cost_usd"] == pytest.approx(0.15 + 0.5 * 0.60)
    assert by_model["unpriced-model"]["cost_usd"] == 0
    assert usage["total"]["cost_usd"] == pytest.approx(2.25)
    assert usage["total"]["total_tokens"] == 4 * 1_500_000


def test_prices_file_in_json_with_prefixes(serve, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"acme-": {"prompt": 1, "completion": 2},
                                             "acme-large": {"prompt": 10, "completion": 20}}}))
    url, _ = fake_server(serve, tmp_path, FakeProvider(usage=Usage(100_000, 50_000)), prices_file=prices)
    for model in ("acme-small-1", "acme-large-2"):
        httpx.post(f"{url}/chat", json={"message": "hi", "model": model})
    by_model = {entry["model"]: entry["cost_usd"] for entry in httpx.get(f"{url}/usage").json()["models"]}
    assert by_model == {"acme-small-1": pytest.approx(0.2), "acme-large-2": pytest.approx(2.0)}


def test_packaged_prices():
    table = load_prices()
    assert table.find(FINE_TUNE).completion == 1.20 and table.find("gpt-4o-mini").prompt == 0.15
    assert table.cost(EMBEDDED_MODEL_ID, Usage(10**6, 10**6)) == 0


@pytest.mark.parametrize("content, fragment", [
    ("models = 3", "models"), ("[models.x]\nprompt = -1\ncompletion = 0", "greater than or equal"),
    ("not toml at all [", "cannot be used"),
])
def test_bad_prices_file_names_the_setting(tmp_path, content, fragment):
    path = tmp_path / "prices.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="POSTERCHAT_PRICES_FILE") as caught:
        load_prices(path)
    assert fragment in caught.value.message
    env = {**os.environ, "POSTERCHAT_PRICES_FILE": str(path), "POSTERCHAT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "server.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "POSTERCHAT_PRICES_FILE" in result.stderr


def test_budget_used_up_gives_a_clear_429(serve, tmp_path):
    provider = FakeProvider(usage=Usage(1_000_000, 500_000))  # $0.90 on the fine-tune
    settings = make_settings(tmp_path, rate_limit_tpm=0)
    _, key = make_key(settings, "ci", monthly_budget=0.5)
    url = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider)))).url
    chat = {"message": "hi", "model": FINE_TUNE}
    assert httpx.post(f"{url}/chat", json=chat, headers=bearer(key)).status_code == 200
    refused = httpx.post(f"{url}/chat", json=chat, headers=bearer(key))
    resets = next_month(datetime.now(UTC).date()).isoformat()
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    assert refused.json()["error"]["message"] == (
        f"monthly budget of $0.50 for key 'ci' is used up; it resets on {resets}")
    assert int(refused.headers["retry-after"]) > 0
    completions = httpx.post(f"{url}/v1/chat/completions", headers=bearer(key),
                             json={"messages": [{"role": "user", "content": "hi"}]})
    assert completions.status_code == 429 and "monthly budget" in completions.text
    usage = httpx.get(f"{url}/usage", headers=bearer(key))  # reading usage is still allowed
    assert usage.status_code == 200
    assert usage.json()["budget"] == {"monthly_usd": 0.5, "spent_usd": pytest.approx(0.9), "resets_on": resets}
    assert len(provider.received) == 1


def test_turns_that_never_started_record_nothing(serve, tmp_path):
    provider = FakeProvider([], usage=Usage(100, 100), fail=UpstreamError("the model server broke"))
    url, _ = fake_server(serve, tmp_path, provider, max_retries=0)
    assert httpx.post(f"{url}/chat", json={"message": "hi"}).status_code == 502
    streamed = httpx.post(f"{url}/chat", json={"message": "hi", "stream": True})
    assert streamed.status_code == 502  # it failed before the first chunk: a proper status, not an event
    completion = httpx.post(f"{url}/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "hi"}], "stream": True})
    assert completion.status_code == 502
    assert httpx.get(f"{url}/usage").json()["total"]["requests"] == 0


def test_since_filters_days(serve, tmp_path):
    url, _ = fake_server(serve, tmp_path, FakeProvider())
    httpx.post(f"{url}/chat", json={"message": "hi"})
    today = datetime.now(UTC).date()
    assert len(httpx.get(f"{url}/usage", params={"since": today.isoformat()}).json()["data"]) == 1
    later = httpx.get(f"{url}/usage", params={"since": (today + timedelta(days=1)).isoformat()}).json()
    assert later["data"] == [] and later["total"]["requests"] == 0 and later["since"]
    bad = httpx.get(f"{url}/usage", params={"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_usage_rows_are_upserted(database_url):
    store = open_store(database_url)
    try:
        day = date(2026, 3, 4)
        def add(owner, model, prompt, completion, cost):
            store.usage.add_many([{"owner": owner, "model": model, "day": day, "requests": 1,
                                   "prompt_tokens": prompt, "completion_tokens": completion, "cost": cost}])

        add("k1", "m", 10, 5, 0.25)
        add("k1", "m", 1, 2, 0.5)
        add("k1", "other", 7, 7, 0.0)
        add("k2", "m", 100, 100, 1.0)
        rows = store.usage.rows("k1")
        assert [(r["model"], r["requests"], r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [
            ("m", 2, 11, 7), ("other", 1, 7, 7)]
        assert rows[0]["cost"] == pytest.approx(0.75)
        assert store.usage.cost_since("k1", day) == pytest.approx(0.75)
        assert store.usage.cost_since("k1", day + timedelta(days=1)) == 0
    finally:
        store.close()
