"""OpenAI's Responses API (/v1/responses) over real HTTP, driven by the official openai client."""

from __future__ import annotations

import httpx
import openai
import pytest

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.core.chat import ChatService
from posterchat.errors import UpstreamError
from posterchat.providers import first_choice
from posterchat.web.app import create_app

from .conftest import make_settings
from .support.fakes import FakeProvider, FakeRouter, chunk
from .support.servers import ThreadServer
from .test_auth import make_key

EVENTS = ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
          "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
          "response.output_text.done", "response.content_part.done", "response.output_item.done",
          "response.completed"]


class CutShort(FakeProvider):
    """The fake's answer, stopped by the length limit."""

    async def stream(self, request, *, timeout):
        async for item in super().stream(request, timeout=timeout):
            yield chunk(finish="length") if first_choice(item).get("finish_reason") else item

    async def complete(self, request, *, timeout):
        completion = await super().complete(request, timeout=timeout)
        completion["choices"][0]["finish_reason"] = "length"
        return completion


@pytest.fixture
def server(tmp_path, serve):
    def start(provider: FakeProvider, **overrides) -> ThreadServer:
        settings = make_settings(tmp_path, **overrides)
        return serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))

    return start


def client_for(server: ThreadServer, key: str = "x") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)


def test_a_response_answers_through_the_chat_path(server):
    provider = FakeProvider()
    client = client_for(server(provider))
    response = client.responses.create(model="m", input="How big is A2?", instructions="Be brief.", temperature=0.2,
                                       max_output_tokens=50, metadata={"ticket": "14"})
    assert response.output_text == "Hello from fake" and response.status == "completed"
    assert response.id.startswith("resp_") and response.object == "response" and response.error is None
    message = response.output[0]
    assert (message.type, message.role, message.status) == ("message", "assistant", "completed")
    assert message.id.startswith("msg_") and message.content[0].annotations == []
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (11, 3, 14)
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert (response.instructions, response.temperature, response.max_output_tokens) == ("Be brief.", 0.2, 50)
    assert response.metadata == {"ticket": "14"} and response.tools == [] and response.previous_response_id is None
    system, user = provider.received[-1]
    assert system["role"] == "system" and system["content"].startswith("Be brief.")
    assert "Measured: A2 is 420 × 594 mm" in system["content"]  # grounding, as on /v1/chat/completions
    assert user == {"role": "user", "content": "How big is A2?"}
    assert provider.params[-1].max_tokens == 50 and provider.params[-1].temperature == 0.2
    assert response.model_extra["facts"][0]["kind"] == "paper_size"


def test_streamed_events_come_in_order_and_end_with_the_whole_response(server):
    client = client_for(server(FakeProvider()))
    events = list(client.responses.create(model="m", input="Hi", stream=True))
    assert [event.type for event in events] == EVENTS
    assert [event.sequence_number for event in events] == list(range(len(EVENTS)))
    assert "".join(event.delta for event in events if event.type == "response.output_text.delta") == "Hello from fake"
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    done = events[-1].response
    assert done.status == "completed" and done.output_text == "Hello from fake" and done.usage.total_tokens == 14
    assert {event.item_id for event in events if hasattr(event, "item_id")} == {done.output[0].id}
    with client.responses.stream(model="m", input="Hi") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == final.output_text == "Hello from fake"
    assert client.responses.retrieve(final.id).output_text == "Hello from fake"


def test_previous_response_id_continues_the_conversation(server):
    provider = FakeProvider(["First answer."])
    client = client_for(server(provider))
    first = client.responses.create(model="m", instructions="Only for the first.", input=[
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": [{"type": "input_text", "text": "Pick a "},
                                     {"type": "input_text", "text": "font."}]},
    ])
    provider.chunks = ["Second answer."]
    second = client.responses.create(model="m", input="And a colour?", previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.output_text == "Second answer."
    received = provider.received[-1]
    assert received[0]["content"].startswith("Answer in English.")  # the instructions are not carried over
    assert "Only for the first." not in str(received)
    assert received[1:] == [{"role": "user", "content": "Pick a font."},
                            {"role": "assistant", "content": "First answer."},
                            {"role": "user", "content": "And a colour?"}]
    client.responses.create(model="m", input=[*second.output, {"role": "user", "content": "Thanks"}])
    assert provider.received[-1][-2:] == [{"role": "assistant", "content": "Second answer."},
                                          {"role": "user", "content": "Thanks"}]


def test_responses_are_stored_for_their_owner_only(serve, tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url)
    _, mine = make_key(settings, "mine")
    _, theirs = make_key(settings, "theirs")
    provider = FakeProvider(["Stored."])
    instance = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    me, other = client_for(instance, mine), client_for(instance, theirs)
    with me.responses.stream(model="m", input="Remember this.") as stream:
        kept = stream.get_final_response()
    again = me.responses.retrieve(kept.id)
    assert (again.id, again.status, again.output_text, again.usage) == (kept.id, "completed", "Stored.", kept.usage)
    assert me.responses.create(model="m", input="Go on", previous_response_id=kept.id).output_text == "Stored."
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(kept.id)
    with pytest.raises(openai.NotFoundError) as raised:
        other.responses.create(model="m", input="Go on", previous_response_id=kept.id)
    assert raised.value.body["param"] == "previous_response_id"
    assert len(provider.requests) == 2
    unkept = me.responses.create(model="m", input="Forget this.", store=False)
    assert unkept.model_extra["store"] is False
    with pytest.raises(openai.NotFoundError):
        me.responses.retrieve(unkept.id)


@pytest.mark.parametrize(("fields", "param"), [
    ({"tools": [{"type": "web_search"}]}, "tools"),
    ({"background": True}, "background"),
    ({"text": {"format": {"type": "json_object"}}}, "text"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]},
     "input.0.content.0.type"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": "{}"}]}, "input.0.type"),
    ({"max_output_tokens": 10_000_000}, "max_output_tokens"),
    ({"frequency_penalty": 1}, "frequency_penalty"),
])
def test_what_the_chat_path_cannot_honour_is_a_400_naming_it(server, fields, param):
    provider = FakeProvider()
    client = client_for(server(provider))
    body = {"model": "m", "input": "Hi", **fields}
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=body.pop("model"), input=body.pop("input"), extra_body=body)
    assert raised.value.body["param"] == param and raised.value.body["type"] == "invalid_request_error"
    assert provider.requests == []


def test_neutral_values_of_unsupported_fields_are_accepted(server):
    client = client_for(server(FakeProvider()))
    response = client.responses.create(model="m", input="Hi", tools=[], tool_choice="auto", truncation="disabled",
                                       parallel_tool_calls=False, text={"format": {"type": "text"}})
    assert response.output_text == "Hello from fake" and response.parallel_tool_calls is False


def test_an_answer_cut_short_is_incomplete(server):
    client = client_for(server(CutShort()))
    response = client.responses.create(model="m", input="Hi", max_output_tokens=3)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete" and response.output_text == "Hello from fake"
    events = list(client.responses.create(model="m", input="Hi", max_output_tokens=3, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_a_failure_after_the_first_words_ends_with_response_failed(server):
    client = client_for(server(FakeProvider(["Partial"], fail=UpstreamError("the model server broke"))))
    events = list(client.responses.create(model="m", input="Hi", stream=True))
    assert [event.type for event in events][-3:] == ["response.content_part.added", "response.output_text.delta",
                                                    "response.failed"]
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == "server_error"
    assert failed.error.message == "the model server broke" and failed.output_text == "Partial"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(failed.id)


def test_a_failure_before_the_first_words_is_an_http_error(server):
    client = client_for(server(FakeProvider([], fail=UpstreamError("the model server broke")), max_retries=0))
    with pytest.raises(openai.APIStatusError) as raised:
        list(client.responses.create(model="m", input="Hi", stream=True))
    assert raised.value.status_code == 502


def test_usage_is_recorded(server):
    instance = server(FakeProvider(), rate_limit_tpm=0)
    client = client_for(instance)
    client.responses.create(model="m", input="Hi")
    list(client.responses.create(model="m", input="Hi", stream=True))
    total = httpx.get(f"{instance.url}/usage").json()["total"]
    assert (total["requests"], total["prompt_tokens"], total["completion_tokens"]) == (2, 22, 6)


def test_an_idempotency_key_replays_the_first_response(server):
    provider = FakeProvider()
    client = client_for(server(provider))
    key = {"Idempotency-Key": "order-14"}
    first = client.responses.create(model="m", input="Hi", extra_headers=key)
    again = client.responses.create(model="m", input="Hi", extra_headers=key)
    streamed = list(client.responses.create(model="m", input="Hi", stream=True, extra_headers=key))
    assert again.model_dump() == first.model_dump() and len(provider.requests) == 1
    assert streamed[-1].type == "response.completed" and streamed[-1].response.id == first.id
    assert "".join(e.delta for e in streamed if e.type == "response.output_text.delta") == first.output_text
    key = {"Idempotency-Key": "order-15"}
    with client.responses.stream(model="m", input="Hi", extra_headers=key) as stream:
        once = stream.get_final_response()
    assert client.responses.create(model="m", input="Hi", extra_headers=key).id == once.id
    assert len(provider.requests) == 2


def test_an_unknown_response_is_404(server):
    instance = server(FakeProvider())
    with pytest.raises(openai.NotFoundError):
        client_for(instance).responses.retrieve("resp_unknown")
    again = httpx.get(f"{instance.url}/v1/responses/resp_unknown", params={"stream": "true"})
    assert again.status_code == 400 and again.json()["error"]["param"] == "stream"


def test_the_embedded_model_answers_a_response(embedded_server):
    client = client_for(embedded_server)
    response = client.responses.create(model="local", input="Suggest a poster colour.", temperature=0,
                                       max_output_tokens=12)
    assert response.model == EMBEDDED_MODEL_ID and response.output_text.strip()
    assert 0 < response.usage.output_tokens <= 12 and response.usage.input_tokens > 0
    assert response.status in ("completed", "incomplete")
    with client.responses.stream(model="local", input="Suggest a poster colour.", temperature=0,
                                 max_output_tokens=12) as stream:
        streamed = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
    assert streamed == response.output_text
