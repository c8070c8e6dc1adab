"""The HTTP API over real HTTP: the spec's bodies, stored conversations, streaming, stop, errors, CORS."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.errors import StreamInterrupted
from posterchat.providers import Router

from .conftest import FAST, make_settings, wait_for
from .support.engine import busy, decoded
from .support.fakes import FakeProvider, FakeRouter
from .support.servers import ProcessServer
from .support.sse import events

SPEC_REQUEST = {
    "message": "Hello! I need help with my poster design.",
    "conversation_history": [
        {"role": "user", "content": "Previous message"},
        {"role": "assistant", "content": "Previous response"},
    ],
    "temperature": 0,
    "model": "local",
}


def test_spec_chat_body_field_for_field(embedded_server):
    response = httpx.post(f"{embedded_server.url}/chat", json={**SPEC_REQUEST, "max_tokens": 12}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"response", "conversation_history", "model_used"} <= set(body)
    assert body["model_used"] == EMBEDDED_MODEL_ID
    assert body["conversation_history"] == [
        *SPEC_REQUEST["conversation_history"],
        {"role": "user", "content": SPEC_REQUEST["message"]},
        {"role": "assistant", "content": body["response"]},
    ]
    assert body["conversation_id"] is None  # the client keeps this history itself


def test_spec_reset_body(embedded_server):
    response = httpx.post(f"{embedded_server.url}/chat/reset")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Conversation history reset" and body["conversation_history"] == []


def test_spec_javascript_example_request(embedded_server):
    """The spec's fetch body: message, conversation_history [] and temperature."""
    body = {"message": "Hello!", "conversation_history": [], "temperature": 0.7, "max_tokens": 8}
    response = httpx.post(f"{embedded_server.url}/chat", json=body, headers={"Origin": "null"}, timeout=60)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "null"
    assert response.json()["response"]


def test_stored_conversation_three_turns_reset_and_delete(settings, embedded_service, serve):
    url = serve(create_app(settings, service=embedded_service)).url
    first = httpx.post(f"{url}/chat", json={"message": "Hi! My poster is for a jazz night.", **FAST}, timeout=60).json()
    conversation = first["conversation_id"]
    assert len(conversation) == 32 and first["message_id"]
    for message in ("What colours suit it?", "And the fonts?"):
        body = httpx.post(f"{url}/chat", json={"message": message, "conversation_id": conversation, **FAST},
                          timeout=60).json()
    assert len(body["conversation_history"]) == 6
    stored = httpx.get(f"{url}/conversations/{conversation}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 3
    assert [m["content"] for m in stored["messages"]] == [m["content"] for m in body["conversation_history"]]
    assert all(m["created_at"].endswith("+00:00") for m in stored["messages"])
    listing = httpx.get(f"{url}/conversations").json()
    assert listing["data"][0]["id"] == conversation and listing["data"][0]["message_count"] == 6

    reset = httpx.post(f"{url}/chat/reset", json={"conversation_id": conversation}).json()
    assert reset["conversation_history"] == [] and reset["conversation_id"] == conversation
    assert httpx.get(f"{url}/conversations/{conversation}").json()["messages"] == []
    assert httpx.delete(f"{url}/conversations/{conversation}").status_code == 204
    gone = httpx.get(f"{url}/conversations/{conversation}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_conversation_list_is_newest_first_and_paginated(fake_server):
    ids = [httpx.post(f"{fake_server.url}/chat", json={"message": f"poster {i}"}).json()["conversation_id"]
           for i in range(5)]
    page = httpx.get(f"{fake_server.url}/conversations", params={"limit": 2}).json()
    assert [c["id"] for c in page["data"]] == ids[::-1][:2] and page["has_more"]
    last = httpx.get(f"{fake_server.url}/conversations", params={"limit": 2, "offset": 4}).json()
    assert [c["id"] for c in last["data"]] == ids[:1] and not last["has_more"]


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_stored_conversation_survives_a_restart(tmp_path, database_url):
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DATABASE_URL": database_url}
    with ProcessServer(env) as server:
        first = httpx.post(f"{server.url}/chat", json={"message": "Hi!", **FAST}, timeout=60).json()
    with ProcessServer(env) as server:
        second = httpx.post(f"{server.url}/chat", json={
            "message": "Remember me?", "conversation_id": first["conversation_id"], **FAST}, timeout=60).json()
        assert second["conversation_history"][:2] == first["conversation_history"]
        stored = httpx.get(f"{server.url}/conversations/{first['conversation_id']}").json()
        assert len(stored["messages"]) == 4


def test_streaming_sends_deltas_then_done(embedded_server):
    with httpx.stream("POST", f"{embedded_server.url}/chat", json={"message": "Hi!", "stream": True, **FAST},
                      timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = list(events(response))
    names = [name for name, _ in received]
    assert names[-1] == "done" and set(names[:-1]) == {"delta"} and len(names) > 2
    done = received[-1][1]
    assert done["response"] == "".join(data["text"] for _, data in received[:-1])
    assert done["usage"]["completion_tokens"] > 0 and done["conversation_id"]
    stored = httpx.get(f"{embedded_server.url}/conversations/{done['conversation_id']}").json()
    assert stored["messages"][1]["content"] == done["response"]


def test_failure_mid_stream_gives_error_event_and_stores_nothing(settings, serve):
    provider = FakeProvider(["Half an ", "answer. ", "Then it"], fail=StreamInterrupted("The answer broke off."))
    server = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    provider_ok = FakeProvider(["fine"])
    conversation = None
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True}) as response:
        received = list(events(response))
    assert [name for name, _ in received] == ["delta", "delta", "delta", "error"]
    assert "".join(data["text"] for name, data in received[:-1]) == "Half an answer. Then it"
    error = received[-1][1]["error"]
    assert (error["code"], error["message"]) == ("stream_interrupted", "The answer broke off.")
    assert httpx.get(f"{server.url}/conversations").json()["data"] == []  # nothing stored
    assert provider_ok.received == [] and conversation is None


def test_failed_turn_leaves_stored_conversation_unchanged(settings, serve):
    provider = FakeProvider(["ok"])
    server = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    conversation = httpx.post(f"{server.url}/chat", json={"message": "first"}).json()["conversation_id"]
    before = httpx.get(f"{server.url}/conversations/{conversation}").json()
    provider.fail = StreamInterrupted("broke")
    failed = httpx.post(f"{server.url}/chat", json={"message": "second", "conversation_id": conversation})
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "stream_interrupted"
    assert httpx.get(f"{server.url}/conversations/{conversation}").json() == before


def test_disconnect_mid_stream_stops_the_embedded_model(embedded_server, embedded_router):
    provider = embedded_router.local(EMBEDDED_MODEL_ID)
    body = {"message": "Write a long essay about poster design history.", "stream": True, "temperature": 0,
            "max_tokens": 400}
    with httpx.stream("POST", f"{embedded_server.url}/chat", json=body, timeout=60) as response:
        for count, _ in enumerate(events(response)):
            if count == 3:
                break
    assert wait_for(lambda: not busy(provider))  # how fast is measured in bench/, not here
    produced = decoded(provider)
    time.sleep(0.3)
    assert decoded(provider) == produced  # no more tokens decoded
    assert httpx.get(f"{embedded_server.url}/conversations").json()["data"] == []  # a stopped answer is not stored


def test_health_and_conversations_answer_while_the_model_generates(embedded_server, embedded_router):
    provider = embedded_router.local(EMBEDDED_MODEL_ID)
    body = {"message": "Write a long essay about typography.", "temperature": 0, "max_tokens": 300}
    worker = threading.Thread(target=httpx.post, args=(f"{embedded_server.url}/chat",), kwargs={
        "json": body, "timeout": 600})
    worker.start()
    assert wait_for(lambda: busy(provider), 30)
    health = httpx.get(f"{embedded_server.url}/health", timeout=5)
    listing = httpx.get(f"{embedded_server.url}/conversations", timeout=5)
    still_generating = busy(provider)
    worker.join()
    assert health.status_code == 200 and health.json()["models"][EMBEDDED_MODEL_ID]["ready"]
    assert listing.status_code == 200
    assert still_generating  # both answered before the generation finished


def test_full_embedded_queue_gives_503_with_retry_after(tmp_path, embedded_router, serve):
    settings = make_settings(tmp_path, embedded_parallel=1, embedded_queue_size=0)
    router = Router(settings)
    server = serve(create_app(settings, service=ChatService(settings, router)))
    provider = router.local(EMBEDDED_MODEL_ID)
    body = {"message": "Write a long essay about colour.", "temperature": 0, "max_tokens": 300}
    worker = threading.Thread(target=httpx.post, args=(f"{server.url}/chat",), kwargs={"json": body, "timeout": 600})
    worker.start()
    assert wait_for(lambda: provider.queue_depth() == 0 and busy(provider), 30)
    refused = httpx.post(f"{server.url}/chat", json={"message": "Me too", **FAST}, timeout=30)
    worker.join()
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded" and int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"message": ""}, 422, "message"),
        ({"message": "hi", "unknown": 1}, 422, "unknown field 'unknown'"),
        ({"message": 5}, 422, "message"),
        ({"message": "hi", "temperature": "warm"}, 422, "temperature"),
        ({"message": "hi", "temperature": 9}, 422, "temperature"),
        ({"message": "hi", "conversation_history": [{"role": "system", "content": "x"}]}, 422, "role"),
        ({"message": "hi", "conversation_history": "nope"}, 422, "conversation_history"),
        ({"message": "hi", "conversation_id": "../../etc/passwd"}, 422, "conversation_id"),
        ({"message": "hi", "conversation_id": "0" * 32}, 404, "was not found"),
        ({"message": "hi", "conversation_id": "0" * 32, "conversation_history": []}, 400, "not both"),
        ([1, 2], 422, "JSON object"),
    ],
)
def test_bad_requests_get_json_errors(fake_server, body, status, fragment):
    response = httpx.post(f"{fake_server.url}/chat", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert fragment in error["message"] and error["code"]


def test_openai_model_without_upstream_is_not_found(embedded_server):
    response = httpx.post(f"{embedded_server.url}/chat", json={"message": "hi", "model": "gpt-nothing"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert "OPENAI_API_KEY" in response.json()["error"]["message"]


def test_malformed_json_and_unknown_routes(fake_server):
    response = httpx.post(f"{fake_server.url}/chat", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"] == "the request body is not valid JSON"
    missing = httpx.get(f"{fake_server.url}/no/such/route")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_id = httpx.get(f"{fake_server.url}/conversations/..%2F..%2Fetc")
    assert bad_id.status_code in (404, 422) and "error" in bad_id.json()


def test_cors_allows_localhost_and_file_pages_only(fake_server):
    for origin in ("http://localhost:3000", "http://127.0.0.1:8080", "null"):
        preflight = httpx.options(f"{fake_server.url}/chat", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    evil = httpx.options(f"{fake_server.url}/chat", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert evil.headers.get("access-control-allow-origin") != "https://evil.example"


def test_docs_and_openapi(fake_server):
    assert httpx.get(f"{fake_server.url}/docs").status_code == 200
    schema = httpx.get(f"{fake_server.url}/openapi.json").json()
    assert {"/chat", "/chat/reset", "/conversations", "/v1/chat/completions", "/v1/models"} <= set(schema["paths"])


def test_regenerate_replaces_the_last_answer(settings, serve):
    provider = FakeProvider(["first answer"])
    server = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    conversation = httpx.post(f"{server.url}/chat", json={"message": "one"}).json()["conversation_id"]
    httpx.post(f"{server.url}/chat", json={"message": "two", "conversation_id": conversation})
    provider.chunks = ["better answer"]
    again = httpx.post(f"{server.url}/chat", json={"conversation_id": conversation, "regenerate": True}).json()
    assert again["response"] == "better answer"
    assert provider.received[-1][-1] == {"role": "user", "content": "two"}
    assert len(provider.received[-1]) == 4  # system, one, first answer, two
    stored = httpx.get(f"{server.url}/conversations/{conversation}").json()["messages"]
    assert [m["content"] for m in stored] == ["one", "first answer", "two", "better answer"]
    missing = httpx.post(f"{server.url}/chat", json={"regenerate": True})
    assert missing.status_code == 400 and "conversation_id" in missing.json()["error"]["message"]
    no_message = httpx.post(f"{server.url}/chat", json={"conversation_id": conversation})
    assert no_message.status_code == 422 and "message is required" in no_message.json()["error"]["message"]


@pytest.mark.parametrize("context", [100_000, 300], ids=["everything fits", "the window trims"])
def test_include_history_false_answers_with_this_turn_and_the_model_sees_the_same(settings, serve, monkeypatch,
                                                                                  context):
    monkeypatch.setattr("posterchat.core.conversations.TAIL_MESSAGES", 4)  # so that 26 messages take reads of 4, 8, 16, 32
    provider = FakeProvider(["an answer of some length"], context=context)
    server = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    conversation = None
    for turn in range(12):
        body = {"message": f"turn {turn} " + "words " * 20, "conversation_id": conversation, "max_tokens": 16}
        conversation = httpx.post(f"{server.url}/chat", json=body).json()["conversation_id"]
    ask = {"message": "and now?", "conversation_id": conversation, "max_tokens": 16}
    full = httpx.post(f"{server.url}/chat", json=ask).json()
    seen_full = provider.received[-1]
    short = httpx.post(f"{server.url}/chat", json={**ask, "include_history": False}).json()
    seen_short = provider.received[-1]
    assert len(full["conversation_history"]) == 26
    assert short["conversation_history"] == [{"role": "user", "content": "and now?"},
                                             {"role": "assistant", "content": "an answer of some length"}]
    assert seen_short[-3:] == [*short["conversation_history"][:1], *short["conversation_history"][1:],
                               {"role": "user", "content": "and now?"}]
    if context == 100_000:  # the model saw the whole conversation, one turn longer than before
        assert short["truncated_turns"] == full["truncated_turns"] == 0
        assert seen_short[:-3] == seen_full[:-1]
    else:  # one turn more in the store, so one more left out, counted although never read
        assert short["truncated_turns"] == full["truncated_turns"] + 1 > 1
        assert len(seen_short) == len(seen_full)
    stored = httpx.get(f"{server.url}/conversations/{conversation}").json()["messages"]
    assert len(stored) == 28


class _SlowOn(FakeProvider):
    """A fake model that takes its time over one message."""

    slow: str | None = None

    async def stream(self, request, *, timeout):
        async for chunk in super().stream(request, timeout=timeout):
            yield chunk
            if request["messages"][-1]["content"] == self.slow:
                await asyncio.sleep(1.0)


def test_a_regenerate_overtaken_by_a_new_turn_is_refused_and_changes_nothing(settings, serve):
    provider = _SlowOn(["an answer"])
    server = serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))
    conversation = httpx.post(f"{server.url}/chat", json={"message": "first question"}).json()["conversation_id"]
    provider.slow = "first question"
    with ThreadPoolExecutor(1) as pool:
        regenerate = pool.submit(httpx.post, f"{server.url}/chat", timeout=30,
                                 json={"conversation_id": conversation, "regenerate": True})
        assert wait_for(lambda: len(provider.requests) == 2)  # the regenerate is with the model
        newer = httpx.post(f"{server.url}/chat", json={"message": "second question", "conversation_id": conversation})
        refused = regenerate.result()
    assert newer.status_code == 200
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    stored = httpx.get(f"{server.url}/conversations/{conversation}").json()["messages"]
    assert [m["content"] for m in stored] == ["first question", "an answer", "second question", "an answer"]
