"""The fake upstream is faithful: the official openai SDK and raw httpx see what a real server would send."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
from httpx_sse import EventSource
import openai
import pytest

from .support.upstream import (
    FakeUpstream,
    cut,
    hang,
    malformed,
    ok,
    reset,
    status,
    trickle,
)

pytestmark = pytest.mark.timeout(10)
HI = [{"role": "user", "content": "hi there"}]


@pytest.fixture
def client(fake_upstream):
    """The official SDK on the fake, without retries."""
    with openai.OpenAI(base_url=fake_upstream.base_url, api_key="test", max_retries=0, timeout=5) as sdk:
        yield sdk


def chat(client: openai.OpenAI, **kwargs):
    return client.chat.completions.create(model="fake-model", messages=HI, **kwargs)


def sse_lines(upstream: FakeUpstream, **body) -> list[str]:
    """The raw `data:` payloads of one streamed chat."""
    payload = {"model": "m", "messages": HI, "stream": True, **body}
    with httpx.stream("POST", f"{upstream.base_url}/chat/completions", json=payload, timeout=5) as response:
        assert response.headers["content-type"] == "text/event-stream"
        return [sse.data for sse in EventSource(response).iter_sse()]


def test_ok_non_stream_echoes_the_last_user_message(fake_upstream, client):
    completion = chat(client)
    assert completion.choices[0].message.content == "echo: hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "fake-model"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 5)

    fake_upstream.script(ok("Hello from upstream", usage=(3, 4)))
    completion = chat(client)
    assert completion.choices[0].message.content == "Hello from upstream"
    assert completion.usage.total_tokens == 7


def test_ok_stream_with_usage_chunk(fake_upstream, client):
    fake_upstream.default = ok("Hello from upstream", usage=(3, 4))
    events = list(chat(client, stream=True, stream_options={"include_usage": True}))
    content, usage_chunk = events[:-1], events[-1]
    assert "".join(e.choices[0].delta.content for e in content) == "Hello from upstream"
    assert content[0].choices[0].delta.role == "assistant"
    assert [e.choices[0].finish_reason for e in content] == [None, None, "stop"]
    assert all(e.usage is None for e in content)
    assert usage_chunk.choices == [] and usage_chunk.usage.prompt_tokens == 3
    assert sse_lines(fake_upstream)[-1] == "[DONE]"


def test_stream_without_include_usage_has_no_usage_chunk(fake_upstream, client):
    fake_upstream.default = ok(chunks=["He", "llo"])
    events = list(chat(client, stream=True))
    assert [e.choices[0].delta.content for e in events] == ["He", "llo"]
    assert all(e.usage is None for e in events)


@pytest.mark.parametrize(
    "code, error",
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (404, openai.NotFoundError),
     (429, openai.RateLimitError), (500, openai.InternalServerError)],
)
@pytest.mark.parametrize("stream", [False, True])
def test_status_errors(fake_upstream, client, code, error, stream):
    fake_upstream.script(status(code, headers={"Retry-After": "1"}))
    with pytest.raises(error) as caught:
        chat(client, stream=stream)
    assert caught.value.status_code == code
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.body["message"] == f"fake upstream answered {code}"


def test_status_with_a_custom_body(fake_upstream, client):
    quota = {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}
    fake_upstream.script(status(429, body=quota), status(502, body="Bad Gateway"))
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.code == "insufficient_quota"
    response = httpx.post(f"{fake_upstream.base_url}/chat/completions", json={"messages": HI})
    assert (response.status_code, response.text) == (502, "Bad Gateway")


def test_script_runs_in_order_then_falls_back_to_default(fake_upstream, client):
    fake_upstream.script(*[status(429, headers={"Retry-After": "1"})] * 2)
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(chat(client).choices[0].message.content)
        except openai.RateLimitError:
            outcomes.append(429)
    assert outcomes == [429, 429, "echo: hi there"]
    assert fake_upstream.calls == 3


def test_hang_makes_the_client_time_out_and_is_seen_as_a_disconnect(fake_upstream, client):
    fake_upstream.script(hang(5))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(model="m", messages=HI)
    assert time.monotonic() - started < 1
    assert fake_upstream.disconnected.wait(1)
    assert fake_upstream.disconnects[0].request == 0


def test_reset_is_a_connection_error(fake_upstream, client):
    fake_upstream.script(reset(), reset())
    with pytest.raises(openai.APIConnectionError) as caught:
        chat(client)
    assert not isinstance(caught.value, openai.APITimeoutError)
    with pytest.raises(httpx.ReadError):
        httpx.post(f"{fake_upstream.base_url}/chat/completions", json={"messages": HI})
    assert chat(client).choices[0].message.content == "echo: hi there"


def test_reset_mid_stream_after_chunks(fake_upstream, client):
    fake_upstream.script(reset(after_chunks=1))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for event in chat(client, stream=True):
            received.append(event.choices[0].delta.content)
    assert received == ["echo:"]


def test_malformed_body_and_stream_line(fake_upstream, client):
    fake_upstream.script(malformed(), malformed(), malformed())
    with pytest.raises(json.JSONDecodeError):
        chat(client)
    received = []
    with pytest.raises(json.JSONDecodeError):
        for event in chat(client, stream=True):
            received.append(event.choices[0].delta.content)
    assert received == ["echo:"]
    assert sse_lines(fake_upstream)[1:] == ["{this is not json", "[DONE]"]


def test_cut_ends_the_stream_without_finish_reason_or_done(fake_upstream, client):
    fake_upstream.default = cut(after_chunks=2)
    events = list(chat(client, stream=True, stream_options={"include_usage": True}))
    assert [e.choices[0].delta.content for e in events] == ["echo:", " hi"]
    assert all(e.choices[0].finish_reason is None and e.usage is None for e in events)
    lines = sse_lines(fake_upstream)
    assert len(lines) == 2 and "[DONE]" not in lines
    with pytest.raises(openai.APIConnectionError):
        chat(client)


def test_trickle_spaces_the_chunks(fake_upstream, client):
    fake_upstream.script(trickle("a b c d e", interval=0.05))
    started = time.monotonic()
    arrivals = [(time.monotonic() - started, e.choices[0].delta.content) for e in chat(client, stream=True)]
    assert [text for _, text in arrivals] == ["a", " b", " c", " d", " e"]
    assert arrivals[-1][0] >= 0.2  # four intervals
    assert arrivals[0][0] < arrivals[-1][0] - 0.1  # streamed, not buffered


def test_tool_calls(fake_upstream, client):
    call = ("get_weather", {"city": "Paris"})
    fake_upstream.script(ok(tool_calls=[call]), ok(tool_calls=[call]))
    message = chat(client).choices[0]
    assert message.finish_reason == "tool_calls" and message.message.content is None
    assert message.message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.message.tool_calls[0].function.arguments) == {"city": "Paris"}

    events = list(chat(client, stream=True))
    fragments = [e.choices[0].delta.tool_calls[0] for e in events]
    assert fragments[0].id == "call_fake_0" and fragments[0].function.name == "get_weather"
    assert json.loads("".join(f.function.arguments for f in fragments)) == {"city": "Paris"}
    assert [e.choices[0].finish_reason for e in events] == [None, "tool_calls"]


def test_requests_are_recorded(fake_upstream, client):
    messages = [{"role": "system", "content": "You design posters."}, *HI]
    client.chat.completions.create(model="gpt-x", messages=messages, max_tokens=64)
    recorded = fake_upstream.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.body["messages"][0] == messages[0] and recorded.body["max_tokens"] == 64
    assert recorded.headers["authorization"] == "Bearer test"
    assert fake_upstream.calls == 1


def test_models_and_unknown_routes(fake_upstream, client):
    fake_upstream.models = ["fake-model", "other"]
    assert [m.id for m in client.models.list()] == ["fake-model", "other"]
    assert httpx.get(f"{fake_upstream.base_url}/nope").status_code == 404
    assert httpx.post(f"{fake_upstream.base_url}/chat/completions", content=b"not json").status_code == 400
    assert fake_upstream.calls == 1 and len(fake_upstream.requests) == 3


def test_keep_alive_reuses_one_connection(fake_upstream):
    with httpx.Client(base_url=fake_upstream.base_url) as client:
        for _ in range(3):
            client.post("/chat/completions", json={"messages": HI}).raise_for_status()
            client.post("/chat/completions", json={"messages": HI, "stream": True}).raise_for_status()
    assert len({r.client_port for r in fake_upstream.requests}) == 1


def test_disconnect_detected_when_the_client_leaves_mid_stream(fake_upstream, client):
    fake_upstream.script(ok("done"), trickle(" ".join(["word"] * 100), interval=0.05))
    list(chat(client, stream=True))
    assert not fake_upstream.disconnected.is_set()
    stream = chat(client, stream=True)
    next(stream), next(stream)
    left = time.monotonic()
    stream.close()
    assert fake_upstream.disconnected.wait(1)
    assert [d.request for d in fake_upstream.disconnects] == [1]
    assert fake_upstream.disconnects[0].at - left < 0.5


def test_many_concurrent_slow_chats(fake_upstream):
    fake_upstream.default = ok(delay=0.5)

    async def fifty():
        client = openai.AsyncOpenAI(base_url=fake_upstream.base_url, api_key="test", max_retries=0, timeout=5)
        async with client:
            asks = [client.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
                    for i in range(50)]
            return await asyncio.gather(*asks)

    started = time.monotonic()
    answers = asyncio.run(fifty())
    assert time.monotonic() - started < 5  # one after another would take 25 s
    assert sorted(a.choices[0].message.content for a in answers) == sorted(f"echo: {i}" for i in range(50))


def test_clear_resets_the_script_default_and_records(fake_upstream, client):
    fake_upstream.script(status(500))
    fake_upstream.default = hang()
    fake_upstream.models = []
    with httpx.Client(base_url=fake_upstream.base_url) as kept_alive:
        kept_alive.get("/models").raise_for_status()
        fake_upstream.clear()  # drops the idle connection too
        assert fake_upstream.requests == [] and fake_upstream.models == ["fake-model"]
        assert kept_alive.post("/chat/completions", json={"messages": HI}).json()["choices"]
    assert chat(client).choices[0].message.content == "echo: hi there"


def test_stop_is_quick_even_with_a_hanging_request():
    upstream = FakeUpstream().start()
    upstream.default = hang(30)
    errors = []

    def ask():
        try:
            httpx.post(f"{upstream.base_url}/chat/completions", json={"messages": HI}, timeout=5)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    while upstream.calls == 0:
        time.sleep(0.01)
    started = time.monotonic()
    upstream.stop()
    assert time.monotonic() - started < 1
    thread.join(2)
    assert isinstance(errors[0], httpx.RemoteProtocolError)
