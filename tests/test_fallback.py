"""The fallback chain: when the chosen model server fails before answering, the next model in
POSTERCHAT_FALLBACK_MODELS answers (the embedded one last); a failure after text has gone out does not fall back."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.web.app import create_app

from .conftest import FAST, make_settings
from .support.servers import free_port
from .support.sse import events
from .support.upstream import cut, hang, status

MODEL = "ft:gpt-4o-mini-2024-07-18:acme:posters:abc123"
QUOTA = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "param": None,
                   "code": "insufficient_quota"}}
FAILURES = {
    "5xx after retries": status(503),
    "timeout": hang(5),
    "429 beyond the Retry-After cap": status(429, headers={"Retry-After": "600"}),
    "insufficient_quota": status(429, body=QUOTA),
}


def start(serve, tmp_path, base_url: str, **overrides):
    overrides = {"fallback_models": ["local"], "request_timeout": 30.0, **overrides}
    settings = make_settings(tmp_path, openai_api_key="sk-fallback", openai_base_url=base_url, default_model=MODEL,
                             max_retries=1, retry_wait=0.01, rate_limit_rpm=0, rate_limit_tpm=0, **overrides)
    return serve(create_app(settings)).url


def fallbacks_counted(url: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
               for sample in family.samples
               if sample.name == "posterchat_fallbacks_total" and sample.labels == {"model": MODEL,
                                                                                    "to": EMBEDDED_MODEL_ID})


@pytest.mark.parametrize("failure", list(FAILURES))
def test_each_failure_before_the_first_token_falls_back_to_the_embedded_model(serve, tmp_path, fake_upstream,
                                                                               failure):
    fake_upstream.default = FAILURES[failure]
    url = start(serve, tmp_path, fake_upstream.base_url, **({"request_timeout": 2.0} if failure == "timeout" else {}))
    body = httpx.post(f"{url}/chat", json={"message": "Hello", "conversation_history": [], **FAST},
                      timeout=60).json()
    assert body["model_used"] == EMBEDDED_MODEL_ID and body["fallback_from"] == MODEL
    assert body["response"].strip()
    assert fake_upstream.calls >= 1
    assert fallbacks_counted(url) == 1


def test_a_model_server_that_refuses_connections_falls_back(serve, tmp_path):
    url = start(serve, tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    completion = httpx.post(f"{url}/v1/chat/completions", timeout=60, json={
        "messages": [{"role": "user", "content": "Hello"}], **FAST})
    assert completion.status_code == 200
    assert completion.json()["model"] == EMBEDDED_MODEL_ID
    assert completion.headers["x-posterchat-fallback-from"] == MODEL


def test_a_failure_after_text_has_gone_out_does_not_fall_back(serve, tmp_path, fake_upstream):
    fake_upstream.default = cut(after_chunks=2)
    url = start(serve, tmp_path, fake_upstream.base_url, grounding=False)
    with httpx.stream("POST", f"{url}/chat", timeout=60, json={"message": "Hello there, poster friends",
                                                                "conversation_history": [], "stream": True}) as response:
        received = list(events(response))
    assert [name for name, _ in received][-1] == "error" and "done" not in [name for name, _ in received]
    assert fallbacks_counted(url) == 0


def test_without_fallbacks_the_failure_reaches_the_caller(serve, tmp_path, fake_upstream):
    fake_upstream.default = status(503)
    url = start(serve, tmp_path, fake_upstream.base_url, fallback_models=[])
    assert httpx.post(f"{url}/chat", json={"message": "Hello", "conversation_history": []}).status_code == 502


def test_a_request_the_model_server_rejects_does_not_fall_back(serve, tmp_path, fake_upstream):
    fake_upstream.default = status(400)
    url = start(serve, tmp_path, fake_upstream.base_url)
    answer = httpx.post(f"{url}/chat", json={"message": "Hello", "conversation_history": []})
    assert answer.status_code == 400 and fallbacks_counted(url) == 0


def test_the_setting_takes_a_json_list_or_commas(tmp_path):
    assert make_settings(tmp_path, fallback_models='["gpt-4o-mini", "local"]').fallback_models == ["gpt-4o-mini",
                                                                                                    "local"]
    assert make_settings(tmp_path, fallback_models="gpt-4o-mini, local").fallback_models == ["gpt-4o-mini", "local"]
