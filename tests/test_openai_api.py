"""posterchat as an OpenAI-compatible server, driven by the official openai client."""

import httpx
import openai
import pytest

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.core.completions import completion_turn

from .support.sse import events


@pytest.fixture
def client(embedded_server):
    return openai.OpenAI(base_url=f"{embedded_server.url}/v1", api_key="unused", max_retries=0, timeout=60)


def test_models(client):
    assert [m.id for m in client.models.list()] == [EMBEDDED_MODEL_ID]


def test_chat_completion(client):
    completion = client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "Suggest a poster colour."}], temperature=0,
        max_tokens=12)
    assert completion.model == EMBEDDED_MODEL_ID
    assert completion.choices[0].message.role == "assistant" and completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_streaming_chat_completion_with_usage(client):
    stream = client.chat.completions.create(
        model=EMBEDDED_MODEL_ID, messages=[{"role": "user", "content": "Hello!"}], temperature=0, max_tokens=12,
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].usage.completion_tokens > 0


def test_streaming_matches_non_streaming_at_temperature_zero(client):
    messages = [{"role": "user", "content": "Name a font for a headline."}]
    whole = client.chat.completions.create(model="local", messages=messages, temperature=0, max_tokens=12)
    streamed = client.chat.completions.create(model="local", messages=messages, temperature=0, max_tokens=12,
                                              stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == whole.choices[0].message.content


def test_client_system_message_replaces_the_default(embedded_service):
    body = {"model": "local", "messages": [{"role": "system", "content": "Answer in French."},
                                           {"role": "user", "content": "Hi"}]}
    policy = embedded_service.policy()
    turn, _ = completion_turn(embedded_service, body, None, policy)
    assert turn.request["messages"][0]["content"].startswith("Answer in French.")
    default, _ = completion_turn(embedded_service, {"model": "local", "messages": [{"role": "user", "content": "Hi"}]},
                                 None, policy)
    assert "poster design" in default.request["messages"][0]["content"]


def test_errors_in_openai_shape(client, embedded_server):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="local", messages=[], max_tokens=5)
    assert raised.value.body["code"] == "invalid_request" and raised.value.body["param"] == "messages"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-unknown", messages=[{"role": "user", "content": "hi"}])


def test_raw_stream_ends_with_done(embedded_server):
    body = {"model": "local", "messages": [{"role": "user", "content": "Hi"}], "stream": True, "max_tokens": 5}
    with httpx.stream("POST", f"{embedded_server.url}/v1/chat/completions", json=body, timeout=60) as response:
        received = [data for _, data in events(response)]
    assert received[-1] == "[DONE]"
    assert received[0]["choices"][0]["delta"]["role"] == "assistant"
