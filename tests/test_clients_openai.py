"""openai-python against a real posterchat server whose model server is the fake upstream: what the SDK sends
reaches the upstream unchanged, and what the upstream answers reaches the SDK as it was sent."""

from __future__ import annotations

import json

import httpx
import openai
import pydantic
import pytest

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.web.app import create_app

from .conftest import make_settings
from .support.servers import ThreadServer
from .support.upstream import ok, replay, status

KEY = "sk-clients-0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # posterchat's key for the upstream; must never reach a client
MODEL = "gpt-4o-mini"
SERVER_RETRIES = 2
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ASK = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Weather in Oslo?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_upstream_server):
    """One posterchat for the module, its default model served by the fake upstream; no rate limits."""
    settings = make_settings(tmp_path_factory.mktemp("clients"), openai_api_key=KEY, default_model=MODEL,
                             openai_base_url=fake_upstream_server.base_url, retry_wait=0.01,
                             max_retries=SERVER_RETRIES, request_timeout=5, rate_limit_rpm=0, rate_limit_tpm=0)
    with ThreadServer(create_app(settings)) as running:
        yield running


@pytest.fixture
def client(server, fake_upstream) -> openai.OpenAI:
    """The SDK as a user configures it for posterchat (no retries unless a test asks for them)."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)


def received(fake_upstream) -> dict:
    """The body of the last chat request the upstream received."""
    return fake_upstream.requests[-1].body


# ---- chat completions ----

def test_create(client, fake_upstream):
    completion = client.chat.completions.create(model=MODEL, messages=ASK, temperature=0.2, max_tokens=40)
    assert completion.choices[0].message.content == "echo: Weather in Oslo?"
    assert completion.model == MODEL and completion.usage.total_tokens == 15
    body = received(fake_upstream)
    assert body["messages"] == ASK and body["temperature"] == 0.2 and body["max_tokens"] == 40
    assert "stream" not in body and fake_upstream.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_stream(client, fake_upstream):
    stream = client.chat.completions.create(model=MODEL, messages=ASK, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: Weather in Oslo?"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # not asked for, so not sent
    body = received(fake_upstream)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}  # posterchat counts usage


def test_stream_with_usage(client, fake_upstream):
    stream = client.chat.completions.create(model=MODEL, messages=ASK, stream=True,
                                            stream_options={"include_usage": True})
    *_, last = list(stream)
    assert last.choices == [] and last.usage.total_tokens == 15


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_tool_call_comes_back(client, fake_upstream, streamed):
    fake_upstream.script(ok(tool_calls=[("get_weather", {"city": "Oslo"})]))
    options = {"model": MODEL, "messages": ASK, "tools": [WEATHER], "tool_choice": "auto"}
    if streamed:
        calls: dict[int, dict] = {}
        finish = None
        for chunk in client.chat.completions.create(**options, stream=True):
            for call in chunk.choices[0].delta.tool_calls or ():
                slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += call.id or ""
                slot["name"] += call.function.name or ""
                slot["arguments"] += call.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
        assert finish == "tool_calls"
        assert list(calls.values()) == [{"id": "call_fake_0", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
    else:
        choice = client.chat.completions.create(**options).choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        [call] = choice.message.tool_calls
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
            "call_fake_0", "get_weather", {"city": "Oslo"})
    body = received(fake_upstream)
    assert body["tools"] == [WEATHER] and body["tool_choice"] == "auto"


def test_tool_result_turn_reaches_the_upstream_unchanged(client, fake_upstream):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    turn = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 4}'}]
    fake_upstream.script(ok("4 °C in Oslo."))
    completion = client.chat.completions.create(model=MODEL, messages=turn, tools=[WEATHER])
    assert completion.choices[0].message.content == "4 °C in Oslo."
    assert received(fake_upstream)["messages"] == turn


def test_other_roles_reach_the_upstream_unchanged(client, fake_upstream):
    messages = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi", "name": "ann"},
                {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
                {"role": "function", "name": "f", "content": "done"},
                {"role": "user", "content": [{"type": "text", "text": "And?"}]}]
    client.chat.completions.create(model=MODEL, messages=messages)
    assert received(fake_upstream)["messages"] == messages


def test_response_format_json_schema(client, fake_upstream):
    schema = {"type": "json_schema", "json_schema": {"name": "poster", "strict": True, "schema": {
        "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
        "additionalProperties": False}}}
    fake_upstream.script(ok('{"title": "Jazz night"}'))
    completion = client.chat.completions.create(model=MODEL, messages=ASK, response_format=schema)
    assert json.loads(completion.choices[0].message.content) == {"title": "Jazz night"}
    assert received(fake_upstream)["response_format"] == schema

    class Poster(pydantic.BaseModel):
        title: str

    fake_upstream.script(ok('{"title": "Jazz night"}'))
    parsed = client.chat.completions.parse(model=MODEL, messages=ASK, response_format=Poster)  # the SDK's helper
    assert parsed.choices[0].message.parsed == Poster(title="Jazz night")
    sent = received(fake_upstream)["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Poster" and sent["json_schema"]["strict"]


LOGPROBS = {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
                         "top_logprobs": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105]}]}], "refusal": None}


def test_logprobs_refusal_and_fingerprint_come_back_as_sent(client, fake_upstream):
    completion = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": MODEL,
                  "system_fingerprint": "fp_123", "service_tier": "default",
                  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": LOGPROBS,
                               "message": {"role": "assistant", "content": "Hi", "refusal": None,
                                           "annotations": []}},
                              {"index": 1, "finish_reason": "stop", "logprobs": None,
                               "message": {"role": "assistant", "content": None, "refusal": "I can't."}}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                            "completion_tokens_details": {"reasoning_tokens": 0}}}
    fake_upstream.script(replay(completion))
    answer = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK, n=2, logprobs=True,
                                                              top_logprobs=1)
    assert answer.http_response.json() == completion
    parsed = answer.parse()
    assert parsed.system_fingerprint == "fp_123" and parsed.choices[1].message.refusal == "I can't."
    assert parsed.choices[0].logprobs.content[0].top_logprobs[0].token == "Hi"


def test_streamed_logprobs_and_refusal_come_back_as_sent(client, fake_upstream):
    base = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
            "system_fingerprint": "fp_123"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                                    "logprobs": LOGPROBS, "finish_reason": None}]},
              {**base, "choices": [{"index": 0, "delta": {"refusal": "No."}, "logprobs": None,
                                    "finish_reason": "stop"}]},
              {**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}]
    fake_upstream.script(replay(chunks=chunks))
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=ASK, stream=True,
                                                                logprobs=True) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert [json.loads(line.removeprefix("data: ")) for line in lines[:-1]] == chunks[:2]  # usage not asked for
    assert lines[-1] == "data: [DONE]"


def test_streamed_chunks_without_choices_come_back(client, fake_upstream):
    """Some servers (Azure's content filter) send chunks with no choices and no usage: they are passed on too."""
    base = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    chunks = [{**base, "choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
              {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                                    "finish_reason": "stop"}]}]
    fake_upstream.script(replay(chunks=chunks))
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=ASK, stream=True) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert [json.loads(line.removeprefix("data: ")) for line in lines[:-1]] == chunks


# ---- every documented request field passes through ----

FIELDS = {
    "model": MODEL,
    "messages": ASK,
    "temperature": 0.7,
    "top_p": 0.9,
    "n": 2,
    "stop": ["\n\n", "END"],
    "max_tokens": 64,
    "max_completion_tokens": 64,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 3,
    "user": "user-42",
    "seed": 7,
    "response_format": {"type": "json_object"},
    "tools": [WEATHER],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "metadata": {"team": "posters"},
    "store": False,
    "service_tier": "auto",
    "reasoning_effort": "low",
    "modalities": ["text"],
    "prediction": {"type": "content", "content": "A poster about jazz."},
    "web_search_options": {"search_context_size": "low"},
    "posterchat_unknown_field": {"nested": [1, None, "x", 2**70, "mañana ✓"]},  # beyond 64 bits: exact
}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_every_documented_field_reaches_the_upstream_unchanged(server, fake_upstream, streamed):
    """Sent → received unchanged. posterchat adds only what a client left out: a system message when there is
    none (here there is one), max_tokens when neither limit is set, and when streaming, stream: true and
    stream_options.include_usage: true (it counts usage); the client's other stream_options keys stay."""
    sent = {**FIELDS, "stream": streamed}
    if streamed:
        sent["stream_options"] = {"include_usage": False, "include_obfuscation": False}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=sent, timeout=30)
    assert response.status_code == 200, response.text
    expected = {**sent, "stream_options": {"include_usage": True, "include_obfuscation": False}} if streamed else {
        key: value for key, value in sent.items() if key != "stream"}
    assert received(fake_upstream) == expected


def test_a_request_without_limits_gets_the_system_prompt_and_no_made_up_limit(client, fake_upstream):
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    body = received(fake_upstream)
    assert body["messages"][0]["role"] == "system" and body["messages"][1:] == [{"role": "user", "content": "Hi"}]
    assert "max_tokens" not in body and "max_completion_tokens" not in body  # as OpenAI: the model's own limit


def test_a_permanent_upstream_failure_tells_the_sdk_not_to_retry(server, fake_upstream):
    fake_upstream.default = status(401)
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=30)
    with pytest.raises(openai.InternalServerError) as raised:
        sdk.chat.completions.create(model=MODEL, messages=ASK)
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert fake_upstream.calls == 1


# ---- retries: one client call is not multiplied into client tries × server tries ----

def test_sdk_retries_alone(server, fake_upstream):
    fake_upstream.default = status(500)
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=30)  # max_retries=2, the default
    with pytest.raises(openai.InternalServerError):
        sdk.chat.completions.create(model=MODEL, messages=ASK)
    assert fake_upstream.calls <= 4
    assert fake_upstream.calls == 3  # the SDK's three tries, none repeated by posterchat


def test_retries_named_by_the_client_apply(client, fake_upstream):
    fake_upstream.default = status(500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=ASK, extra_headers={"X-Posterchat-Retries": "1"})
    assert fake_upstream.calls == 2


@pytest.mark.parametrize(("headers", "calls"), [({}, SERVER_RETRIES + 1), ({"X-Posterchat-Retries": "1"}, 2),
                                                ({"X-Posterchat-Retries": "0"}, 1)], ids=["server", "one", "none"])
def test_a_client_that_does_not_retry_gets_the_servers_retries(server, fake_upstream, headers, calls):
    fake_upstream.default = status(500)
    body = {"model": MODEL, "messages": ASK}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert response.status_code == 502
    assert fake_upstream.calls == calls


# ---- errors ----

@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_upstream_401_message_comes_back_with_the_key_masked(client, fake_upstream, streamed):
    said = "Incorrect API key provided: sk-test-****1234. You can find your API key at https://example.com."
    fake_upstream.script(status(401, {"error": {"message": said, "type": "invalid_request_error", "param": None,
                                                "code": "invalid_api_key"}}))
    with pytest.raises(openai.APIStatusError) as caught:  # 502: posterchat's own key was refused, not the client's
        client.chat.completions.create(model=MODEL, messages=ASK, stream=streamed)
    assert caught.value.status_code == 502
    text = caught.value.response.text
    assert "Incorrect API key provided" in caught.value.message and "You can find your API key" in text
    assert "sk-test" not in text and "1234" not in text and KEY not in text and KEY[-8:] not in text


def test_upstream_400_comes_back_with_its_message_and_param(client, fake_upstream):
    said = "Invalid schema for response_format 'poster': 'additionalProperties' is required to be false."
    fake_upstream.script(status(400, {"error": {"message": said, "type": "invalid_request_error",
                                                "param": "response_format", "code": "invalid_value"}}))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=ASK, response_format={"type": "json_object"})
    assert said in caught.value.message and caught.value.param == "response_format"


def test_invalid_request_is_bad_request_with_param(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=ASK, temperature=3)
    assert caught.value.param == "temperature" and caught.value.status_code == 400
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[])
    assert caught.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "robot", "content": "beep"}])
    assert caught.value.param.startswith("messages")


def test_null_n_and_stream_are_accepted(server, fake_upstream):
    body = {"model": MODEL, "messages": ASK, "n": None, "stream": None, "stream_options": None,
            "temperature": None, "max_tokens": None}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: Weather in Oslo?"
    assert received(fake_upstream)["n"] is None


# ---- models ----

def test_models_list_marks_the_default(client):
    listed = client.models.list().data
    assert [(m.id, m.model_extra.get("default")) for m in listed] == [(EMBEDDED_MODEL_ID, False), (MODEL, True)]


def test_models_retrieve(client):
    assert client.models.retrieve(MODEL).id == MODEL
    assert client.models.retrieve("local").id == EMBEDDED_MODEL_ID  # an alias
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("no-such-model")
    error = caught.value.body
    assert caught.value.status_code == 404 and error["param"] == "model" and "no-such-model" in error["message"]
    assert error["code"] == "model_not_found"  # as OpenAI names it
    assert set(error) >= {"message", "type", "param", "code"}


# ---- the hot route's own body validation (web/leanroute.py): OpenAI's 400s, with the field at fault ----

@pytest.mark.parametrize(("content", "param", "fragment"), [
    (b"{", None, "not valid JSON"),
    (b"", None, "not valid JSON"),
    (b"[1, 2]", None, "must be a JSON object"),
    (b'{"model": "x"}', "messages", "Field required"),
    (b'{"messages": [{"role": "bogus", "content": "x"}]}', "messages.0.role", "Input should be"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}', "max_tokens", "valid integer"),
])
def test_a_bad_body_is_a_400_naming_the_field(server, fake_upstream, content, param, fragment):
    response = httpx.post(f"{server.url}/v1/chat/completions", content=content,
                          headers={"content-type": "application/json"}, timeout=30)
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_request" and error["param"] == param
    assert fragment in error["message"] and fake_upstream.calls == 0


def test_a_lean_route_takes_only_a_request_and_a_body_model():
    from fastapi import Depends, Request
    from fastapi.routing import APIRouter

    from posterchat.web.leanroute import LeanRoute
    from posterchat.web.schemas.openai import CompletionRequest

    async def with_dependency(request: Request, body: CompletionRequest, extra: str = Depends(lambda: "x")):
        return None

    with pytest.raises(TypeError, match="takes \\(request: Request, body: Model\\)"):
        APIRouter().add_api_route("/x", with_dependency, methods=["POST"], route_class_override=LeanRoute)


def test_the_gateway_router_added_as_the_apps_own_takes_no_dependencies():
    # app.dependency_overrides cannot reach routes added flat (web/app.py), so such a route must not take any
    from fastapi import Depends, FastAPI
    from fastapi.routing import APIRouter

    from posterchat.web import app as web_app

    router = APIRouter()
    router.add_api_route("/x", lambda extra=Depends(lambda: "x"): None, methods=["GET"])
    with pytest.raises(TypeError, match="takes dependencies"):
        web_app._add_routes(FastAPI(), router)
