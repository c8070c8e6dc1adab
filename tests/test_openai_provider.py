"""The OpenAI-compatible provider against a real HTTP server on loopback: success, retries, errors."""

import logging
import os
import subprocess
import sys
import time

import pytest

from posterchat.core.chat import ChatService
from posterchat.config import SPEC_FINE_TUNED_MODEL
from posterchat.errors import (
    InvalidInput,
    ModelNotFound,
    RateLimited,
    StreamInterrupted,
    UpstreamAuthError,
    UpstreamError,
    UpstreamTimeout,
)
from posterchat.core.portal import run
from posterchat.providers.openai_compat import _env_proxy

from .conftest import make_settings
from .support.upstream import cut, hang, malformed, reset, status

FT_MODEL = "ft:gpt-4o-mini-2024-07-18:acme:posters:abc123"


@pytest.fixture
def service(tmp_path, fake_upstream):
    settings = make_settings(tmp_path, openai_api_key="sk-test-secret", openai_base_url=fake_upstream.base_url,
                             retry_wait=0.01, request_timeout=1.0)
    return ChatService(settings)


def ask(service, message="Hello!", **options):
    return run(lambda: service.complete(message, [], model=FT_MODEL, **options))


def test_success_routes_fine_tuned_ids_upstream(service, fake_upstream):
    result = ask(service, "Make my headline pop")
    assert result.response == "echo: Make my headline pop"
    assert result.model_used == FT_MODEL
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (10, 5)
    request = fake_upstream.requests[-1]
    assert request.body["model"] == FT_MODEL and request.body["max_tokens"] == 512
    assert request.body["messages"][0]["role"] == "system" and "poster design" in request.body["messages"][0]["content"]
    assert request.headers["authorization"] == "Bearer sk-test-secret"
    assert fake_upstream.calls == 1


def test_default_model_with_a_key_is_the_spec_fine_tune(service, fake_upstream):
    assert run(lambda: service.complete("hi", [])).model_used == SPEC_FINE_TUNED_MODEL
    assert fake_upstream.requests[-1].body["model"] == SPEC_FINE_TUNED_MODEL


def test_429_with_retry_after_is_waited_out_then_succeeds(service, fake_upstream):
    fake_upstream.script(status(429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    assert ask(service).response == "echo: Hello!"
    assert fake_upstream.calls == 2
    gap = fake_upstream.requests[1].received_at - fake_upstream.requests[0].received_at
    assert gap >= 1.0 and time.monotonic() - started >= 1.0


@pytest.mark.parametrize("fault", [status(500), status(502), status(503), status(408), hang(5), reset()],
                         ids=["500", "502", "503", "408", "timeout", "reset"])
def test_transient_fault_then_success(service, fake_upstream, fault):
    fake_upstream.script(fault)
    assert ask(service).response == "echo: Hello!"
    assert fake_upstream.calls == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [(400, InvalidInput), (401, UpstreamAuthError), (403, UpstreamAuthError), (404, ModelNotFound),
     (422, InvalidInput)],
)
def test_client_errors_fail_at_once(service, fake_upstream, code, error):
    fake_upstream.script(status(code))
    with pytest.raises(error) as raised:
        ask(service)
    assert fake_upstream.calls == 1
    assert "fake upstream answered" in raised.value.message  # the model server's own words reach the caller


def test_model_not_found_names_the_model(service, fake_upstream):
    fake_upstream.script(status(404))
    with pytest.raises(ModelNotFound, match="abc123"):
        ask(service)


def test_insufficient_quota_is_not_retried(service, fake_upstream):
    fake_upstream.script(status(429, body={"error": {"message": "quota", "type": "insufficient_quota",
                                                     "code": "insufficient_quota"}}))
    with pytest.raises(RateLimited, match="quota"):
        ask(service)
    assert fake_upstream.calls == 1


def test_retry_after_beyond_the_cap_tells_the_caller_when_to_come_back(service, fake_upstream):
    fake_upstream.script(status(429, headers={"Retry-After": "300"}))
    with pytest.raises(RateLimited) as raised:
        ask(service)
    assert raised.value.retry_after == 300 and "300 seconds" in raised.value.message
    assert fake_upstream.calls == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [(status(500), UpstreamError), (status(429, headers={"Retry-After": "0"}), RateLimited),
     (hang(5), UpstreamTimeout)],
    ids=["500", "429", "timeout"],
)
def test_retries_exhausted_give_a_clear_error(service, fake_upstream, fault, error):
    fake_upstream.default = fault
    with pytest.raises(error) as raised:
        ask(service, max_retries=2)
    assert fake_upstream.calls == 3
    assert raised.value.message and "Traceback" not in raised.value.message


def test_each_retry_is_logged_at_debug(service, fake_upstream, caplog):
    fake_upstream.script(status(503), status(503))
    with caplog.at_level(logging.DEBUG, logger="posterchat.retry"):
        ask(service)
    retries = [r for r in caplog.records if r.name == "posterchat.retry"]
    assert [r.levelno for r in retries] == [logging.DEBUG, logging.DEBUG]
    assert "retry 1/3" in retries[0].getMessage()


def test_stream_cut_midway_is_an_error_not_an_answer(service, fake_upstream):
    fake_upstream.script(cut(after_chunks=1))
    with pytest.raises(StreamInterrupted):
        ask(service)
    assert fake_upstream.calls == 1  # text had already arrived, so it is not retried silently


def test_malformed_stream_is_a_clear_upstream_error(service, fake_upstream):
    fake_upstream.script(malformed())
    with pytest.raises(UpstreamError):
        ask(service)


def test_spec_python_usage_with_a_fine_tuned_model(tmp_path, fake_upstream):
    """The spec's example, unchanged, with OPENAI_API_KEY and OPENAI_BASE_URL set."""
    script = (
        "from chat_bot import chat_with_model\n"
        "result = chat_with_model(user_message=\"Hello! I'm working on a poster design.\", conversation_history=[],"
        " model='ft:gpt-4o-mini-2024-07-18:sia-project-1:jun24-test:Bm0QDLkZ')\n"
        "print(result['response'])\n"
        "result = chat_with_model(user_message='What about the color scheme?',"
        " conversation_history=result['conversation_history'])\n"
        "print(result['response'], result['model_used'], len(result['conversation_history']))\n"
    )
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_upstream.base_url,
           "POSTERCHAT_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=os.path.dirname(os.path.dirname(__file__)), env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "echo: Hello! I'm working on a poster design.",
        f"echo: What about the color scheme? {SPEC_FINE_TUNED_MODEL} 4",
    ]
    assert [m["role"] for m in fake_upstream.requests[-1].body["messages"]] == ["system", "user", "assistant", "user"]


def test_other_vendors_models_are_counted_by_estimate_without_loading_tiktoken():
    code = ("import sys; from posterchat.providers.openai_compat import OpenAICompatProvider as P; "
            "n = P(api_key=None, base_url='http://127.0.0.1:9/v1').count_tokens('x' * 300, 'Qwen/Qwen2.5-7B'); "
            "print(n, 'requests' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["101", "False"]  # 300 characters / 3 + 1: an overestimate, never under


@pytest.mark.parametrize(("env", "url", "proxy"), [
    ({}, "https://api.openai.com/v1/chat/completions", None),
    ({"HTTPS_PROXY": "http://proxy:3128"}, "https://api.openai.com/v1/chat/completions", "http://proxy:3128"),
    ({"HTTPS_PROXY": "http://proxy:3128"}, "http://vllm.internal/v1/chat/completions", None),
    ({"HTTP_PROXY": "http://proxy:3128"}, "http://vllm.internal/v1/chat/completions", "http://proxy:3128"),
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "api.openai.com"}, "https://api.openai.com/v1/x", None),
])
def test_whole_answers_go_through_the_proxy_the_environment_names(monkeypatch, env, url, proxy):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _env_proxy(url) == proxy
