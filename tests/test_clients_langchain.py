"""LangChain's ChatOpenAI against a real posterchat server whose model server is the fake upstream."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from posterchat.web.app import create_app

from .conftest import make_settings
from .support.servers import ThreadServer
from .support.upstream import ok

MODEL = "gpt-4o-mini"


class Poster(BaseModel):
    """A poster's headline and size."""

    title: str = Field(description="The headline")
    width_mm: int


def get_weather(city: str) -> str:
    """The weather in a city."""
    return "4 °C"


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_upstream_server):
    settings = make_settings(tmp_path_factory.mktemp("langchain"), openai_api_key="sk-langchain-upstream",
                             openai_base_url=fake_upstream_server.base_url, default_model=MODEL, retry_wait=0.01,
                             request_timeout=5, rate_limit_rpm=0, rate_limit_tpm=0)
    with ThreadServer(create_app(settings)) as running:
        yield running


@pytest.fixture
def llm(server, fake_upstream) -> ChatOpenAI:
    return ChatOpenAI(base_url=f"{server.url}/v1", api_key="unused", model=MODEL, max_retries=0, timeout=30,
                      temperature=0)


def received(fake_upstream) -> dict:
    return fake_upstream.requests[-1].body


def test_invoke(llm, fake_upstream):
    answer = llm.invoke("Suggest a headline")
    assert answer.content == "echo: Suggest a headline"
    assert answer.usage_metadata["total_tokens"] == 15 and answer.response_metadata["model_name"] == MODEL
    assert received(fake_upstream)["messages"][-1] == {"role": "user", "content": "Suggest a headline"}


def test_stream(llm, fake_upstream):
    chunks = list(llm.stream("Suggest a headline"))
    assert "".join(chunk.content for chunk in chunks) == "echo: Suggest a headline"
    assert received(fake_upstream)["stream"] is True
    chunks = list(llm.stream("Suggest a headline", stream_usage=True))  # off by default for a base_url of one's own
    assert sum(chunks[1:], chunks[0]).usage_metadata["total_tokens"] == 15


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_bind_tools_parses_the_tool_calls(llm, fake_upstream, streamed):
    fake_upstream.script(ok(tool_calls=[("get_weather", {"city": "Oslo"})]))
    with_tools = llm.bind_tools([get_weather])
    if streamed:
        chunks = list(with_tools.stream("Weather in Oslo?"))
        answer = sum(chunks[1:], chunks[0])
    else:
        answer = with_tools.invoke("Weather in Oslo?")
    assert [(c["name"], c["args"], c["id"]) for c in answer.tool_calls] == [("get_weather", {"city": "Oslo"},
                                                                             "call_fake_0")]
    assert received(fake_upstream)["tools"][0]["function"]["name"] == "get_weather"


def test_tool_result_turn(llm, fake_upstream):
    fake_upstream.script(ok("It is 4 °C."))
    call = {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1", "type": "tool_call"}
    answer = llm.bind_tools([get_weather]).invoke([
        HumanMessage("Weather in Oslo?"), AIMessage("", tool_calls=[call]),
        ToolMessage("4 °C", tool_call_id="call_1")])
    assert answer.content == "It is 4 °C."
    *_, assistant, tool = received(fake_upstream)["messages"]
    assert assistant["tool_calls"][0]["id"] == "call_1" and assistant["tool_calls"][0]["function"]["name"] == (
        "get_weather")
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "4 °C"}


def test_structured_output_json_schema(llm, fake_upstream):
    fake_upstream.script(ok('{"title": "Jazz night", "width_mm": 594}'))
    poster = llm.with_structured_output(Poster, method="json_schema").invoke("A jazz poster, A2")
    assert poster == Poster(title="Jazz night", width_mm=594)
    sent = received(fake_upstream)["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Poster"


def test_structured_output_function_calling(llm, fake_upstream):
    fake_upstream.script(ok(tool_calls=[("Poster", {"title": "Jazz night", "width_mm": 594})]))
    poster = llm.with_structured_output(Poster, method="function_calling").invoke("A jazz poster, A2")
    assert poster == Poster(title="Jazz night", width_mm=594)
    body = received(fake_upstream)
    assert body["tools"][0]["function"]["name"] == "Poster"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Poster"}}
