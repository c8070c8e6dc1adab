"""Upstream faults through the HTTP API: retries, deadlines, friendly errors, nothing half-stored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from posterchat.web.app import create_app

from .conftest import make_settings, wait_for
from .support.servers import ThreadServer
from .support.sse import events
from .support.upstream import Behaviour, cut, hang, malformed, ok, reset, status, trickle

KEY = "sk-faults-5e0c1a7d93b24f68a1c2d3e4f5a6b7c8"  # distinctive, so a leak is easy to spot
MODEL = "ft:gpt-4o-mini-2024-07-18:x:y:z"
TIMEOUT = 0.5
MAX_RETRIES = 2
MODES = ["chat", "chat_stream", "v1", "v1_stream"]
RAW_BODY = "fake upstream answered"  # what the fake's error bodies say


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_upstream_server):
    """One real server for the module (each test gets a cleared fake upstream and a fresh conversation)."""
    settings = make_settings(tmp_path_factory.mktemp("faults"), openai_api_key=KEY, retry_wait=0.01,
                             openai_base_url=fake_upstream_server.base_url, request_timeout=TIMEOUT,
                             max_retries=MAX_RETRIES, default_model=MODEL, rate_limit_rpm=0, rate_limit_tpm=0)
    with ThreadServer(create_app(settings)) as running:
        yield running


@pytest.fixture
def conversation(server, fake_upstream) -> str:
    """A stored conversation with one finished turn; the fake's records are cleared afterwards."""
    body = httpx.post(f"{server.url}/chat", json={"message": "First turn"}, timeout=10).json()
    fake_upstream.clear()
    return body["conversation_id"]


@dataclass
class Outcome:
    """What a client saw: status, everything it received, and the answer only if it was reported complete."""

    status: int
    headers: httpx.Headers
    raw: str
    answer: str | None = None
    error: dict[str, Any] | None = None
    received: list[tuple[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    ended: float = 0.0  # time.monotonic() when the client had read everything


def ask(url: str, mode: str, message: str = "Hello", conversation_id: str | None = None) -> Outcome:
    """Send one message in `mode` (/chat or /v1/chat/completions, streamed or not) and read the outcome."""
    stream = mode.endswith("_stream")
    if mode.startswith("chat"):
        path = "/chat"
        body: dict[str, Any] = {"message": message, "stream": stream}
        body.update({"conversation_id": conversation_id} if conversation_id else {"conversation_history": []})
    else:
        path, body = "/v1/chat/completions", {"messages": [{"role": "user", "content": message}], "stream": stream}
    started = time.monotonic()
    with httpx.stream("POST", f"{url}{path}", json=body, timeout=30) as response:
        outcome = _read(mode, response)
    outcome.ended = time.monotonic()
    outcome.seconds = outcome.ended - started
    return outcome


def _read(mode: str, response: httpx.Response) -> Outcome:
    if not response.headers["content-type"].startswith("text/event-stream"):
        raw = response.read().decode()
        data = response.json()
        outcome = Outcome(response.status_code, response.headers, raw, error=data.get("error"))
        if response.status_code == 200:
            outcome.answer = data["response"] if mode == "chat" else data["choices"][0]["message"]["content"]
        return outcome
    received = list(events(response))
    outcome = Outcome(response.status_code, response.headers, repr(received), received=received)
    if mode == "chat_stream":
        for name, data in received:
            if name == "error":
                outcome.error = data["error"]
            elif name == "done":
                outcome.answer = data["response"]
        return outcome
    chunks = [data for _, data in received if isinstance(data, dict)]
    outcome.error = next((c["error"] for c in chunks if "error" in c), None)
    if not outcome.error and any(choice["finish_reason"] == "stop" for c in chunks for choice in c["choices"]):
        outcome.answer = "".join(choice["delta"].get("content") or "" for c in chunks for choice in c["choices"])
    return outcome


def by_message(faults: dict[str, Behaviour], default: Behaviour) -> Behaviour:
    """A behaviour chosen by the last user message, so concurrent requests get the fault meant for them."""

    async def respond(ex) -> bool:
        return await faults.get(ex.last_user_content(), default).respond(ex)

    return Behaviour("by_message", respond)


def stored(url: str, conversation_id: str) -> dict[str, Any]:
    return httpx.get(f"{url}/conversations/{conversation_id}", timeout=10).json()


def assert_no_leak(outcome: Outcome) -> None:
    text = outcome.raw + str(dict(outcome.headers))
    assert KEY not in text and KEY[3:15] not in text
    assert RAW_BODY not in text and "Traceback" not in text


TRANSIENT = {
    "429": status(429, headers={"Retry-After": "1"}),
    "500": status(500), "502": status(502), "503": status(503),
    "hang": hang(5), "reset": reset(),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_transient_faults_within_max_retries_are_retried_and_answered(server, fake_upstream, conversation, mode,
                                                                      fault):
    repeats = 1 if fault == "429" else MAX_RETRIES  # 429 waits out Retry-After: 1 s
    fake_upstream.script(*[TRANSIENT[fault]] * repeats)
    outcome = ask(server.url, mode, "Hello", conversation if mode.startswith("chat") else None)
    assert outcome.status == 200 and outcome.error is None, outcome.raw
    assert outcome.answer == "echo: Hello"
    assert fake_upstream.calls == repeats + 1
    if fault == "429":
        gap = fake_upstream.requests[1].received_at - fake_upstream.requests[0].received_at
        assert gap >= 0.95  # Retry-After was honoured
    if mode.startswith("chat"):
        assert [m["content"] for m in stored(server.url, conversation)["messages"]][-2:] == ["Hello", "echo: Hello"]
    assert_no_leak(outcome)


EXHAUSTED = {  # fault: (status before any text, error code)
    "429": (status(429, headers={"Retry-After-Ms": "100"}), 429, "rate_limited"),
    "500": (status(500), 502, "upstream_error"),
    "502": (status(502), 502, "upstream_error"),
    "503": (status(503), 502, "upstream_error"),
    "hang": (hang(5), 504, "upstream_timeout"),
    "reset": (reset(), 502, "upstream_error"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(EXHAUSTED))
def test_exhausted_retries_give_the_right_status_and_a_friendly_message(server, fake_upstream, conversation, mode,
                                                                        fault):
    behaviour, code, error = EXHAUSTED[fault]
    fake_upstream.default = behaviour
    before = stored(server.url, conversation)
    outcome = ask(server.url, mode, "Hello", conversation if mode.startswith("chat") else None)
    assert outcome.status == code and outcome.error["code"] == error, outcome.raw
    assert outcome.answer is None and outcome.received == []  # refused before any stream started
    assert outcome.error["message"].endswith(".") and len(outcome.error["message"]) < 200
    assert fake_upstream.calls == MAX_RETRIES + 1
    if fault == "429":
        assert int(outcome.headers["retry-after"]) >= 1
    if fault == "hang":  # every attempt abandoned at the deadline, then the client let go of the upstream
        assert (MAX_RETRIES + 1) * TIMEOUT <= outcome.seconds < (MAX_RETRIES + 1) * TIMEOUT + 1.5
        assert wait_for(lambda: len(fake_upstream.disconnects) == MAX_RETRIES + 1)
    assert stored(server.url, conversation) == before
    assert_no_leak(outcome)


def test_retry_after_beyond_the_cap_is_passed_to_the_client_at_once(server, fake_upstream):
    fake_upstream.default = status(429, headers={"Retry-After": "120"})
    for mode in MODES:
        fake_upstream.requests.clear()
        outcome = ask(server.url, mode)
        assert outcome.status == 429 and outcome.headers["retry-after"] == "120"
        assert "120 seconds" in outcome.error["message"] and fake_upstream.calls == 1 and outcome.seconds < 1
        assert_no_leak(outcome)


BROKEN_MIDWAY = {"cut": cut(after_chunks=2), "reset": reset(after_chunks=2), "malformed": malformed(),
                 "too_slow": trickle("one two three four", interval=TIMEOUT * 2)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(BROKEN_MIDWAY))
def test_an_answer_broken_midway_is_neither_stored_nor_reported_complete(server, fake_upstream, conversation, mode,
                                                                         fault):
    fake_upstream.default = BROKEN_MIDWAY[fault]
    before = stored(server.url, conversation)
    message = "Hello there, poster friends"  # five chunks: the break comes before the last, which says "stop"
    outcome = ask(server.url, mode, message, conversation if mode.startswith("chat") else None)
    if mode == "v1":  # asked upstream for the whole answer: a broken one reached nobody yet, so it may be retried
        expected = {"cut": 502, "reset": 502, "malformed": 502, "too_slow": 504}[fault]
        assert outcome.answer is None and outcome.status == expected, outcome.raw
        assert fake_upstream.calls == (1 if fault == "malformed" else 1 + MAX_RETRIES)
        assert stored(server.url, conversation) == before
        return
    assert outcome.answer is None and outcome.error["code"] in ("stream_interrupted", "upstream_error"), outcome.raw
    assert fake_upstream.calls == 1  # text had arrived, so a retry would repeat it
    if mode == "chat":
        assert outcome.status == 502
    elif mode == "chat_stream":
        names = [name for name, _ in outcome.received]
        assert names[-1] == "error" and "done" not in names and set(names[:-1]) == {"delta"}
    else:  # OpenAI clients: chunks, an error object, [DONE]; no finish_reason ever said the answer was whole
        assert outcome.received[-1] == ("message", "[DONE]") and "error" in outcome.received[-2][1]
        assert all(c["finish_reason"] is None for _, d in outcome.received[:-2] for c in d["choices"]), outcome.received
    assert stored(server.url, conversation) == before
    assert_no_leak(outcome)


def test_the_official_sdk_raises_on_a_stream_cut_midway(server, fake_upstream):
    fake_upstream.default = cut(after_chunks=2)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=10)
    received = []
    with pytest.raises(openai.APIError, match="incomplete"):
        for chunk in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                    stream=True):
            received.append(chunk)
    assert received and all(c.choices[0].finish_reason is None for c in received)


def test_a_stalled_upstream_holds_no_worker_and_the_next_request_succeeds(server, fake_upstream):
    fake_upstream.default = by_message({"stall": hang(3)}, ok())
    stalled: list[Outcome] = []
    worker = threading.Thread(target=lambda: stalled.append(ask(server.url, "chat", "stall")))
    worker.start()
    assert wait_for(lambda: fake_upstream.calls == 1)
    with ThreadPoolExecutor(4) as pool:
        during = list(pool.map(lambda i: ask(server.url, MODES[i], f"meanwhile {i}"), range(4)))
    worker.join(10)
    assert all(o.status == 200 and o.answer == f"echo: meanwhile {i}" for i, o in enumerate(during))
    assert max(o.ended for o in during) < stalled[0].ended  # all served while the stall lasted
    assert stalled[0].status == 504 and stalled[0].error["code"] == "upstream_timeout"
    stalls = [i for i, r in enumerate(fake_upstream.requests) if r.body["messages"][-1]["content"] == "stall"]
    assert len(stalls) == MAX_RETRIES + 1
    assert wait_for(lambda: {d.request for d in fake_upstream.disconnects} >= set(stalls))  # connections let go
    after = ask(server.url, "chat", "after the stall")
    assert after.status == 200 and after.answer == "echo: after the stall"


def test_a_trickle_within_the_deadline_streams_to_the_end(server, fake_upstream, conversation):
    words = " ".join(f"w{i}" for i in range(8))
    fake_upstream.default = trickle(words, interval=TIMEOUT / 2)
    arrivals = []
    body = {"message": "Slowly", "conversation_id": conversation, "stream": True}
    with httpx.stream("POST", f"{server.url}/chat", json=body, timeout=30) as response:
        for name, data in events(response):
            arrivals.append((time.monotonic(), name, data))
    assert [name for _, name, _ in arrivals] == ["delta"] * 8 + ["done"]
    assert arrivals[-1][2]["response"] == words
    assert arrivals[-1][0] - arrivals[0][0] >= 7 * TIMEOUT / 2 * 0.8  # passed on as it came, not buffered
    assert stored(server.url, conversation)["messages"][-1]["content"] == words


@pytest.mark.parametrize("mode", ["chat_stream", "v1_stream"])
def test_a_client_that_disconnects_closes_the_upstream_request(server, fake_upstream, conversation, mode):
    fake_upstream.default = trickle(" ".join(["word"] * 200), interval=0.05)
    before = stored(server.url, conversation)
    path = "/chat" if mode == "chat_stream" else "/v1/chat/completions"
    body = ({"message": "Long", "conversation_id": conversation, "stream": True} if mode == "chat_stream"
            else {"messages": [{"role": "user", "content": "Long"}], "stream": True})
    with httpx.stream("POST", f"{server.url}{path}", json=body, timeout=30) as response:
        for count, _ in enumerate(events(response)):
            if count == 2:
                break
    left = time.monotonic()
    assert fake_upstream.disconnected.wait(0.5), "the upstream request was still open 0.5 s after the client left"
    assert fake_upstream.disconnects[0].at - left < 0.5
    assert stored(server.url, conversation) == before
