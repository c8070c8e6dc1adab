"""Grounding: measured facts and sourced knowledge reach every model, lead every /chat answer, and the guard keeps
the model's prose from contradicting them."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import EventSource

from posterchat.core.guard import Guard, SentenceFilter, inconsistent_units
from posterchat.core.portal import run
from posterchat.facts import measure
from posterchat.poster import SAMPLE_POSTER, check_poster
from posterchat.web.app import create_app

from .conftest import FAST, make_settings
from .support.fakes import FakeProvider, FakeRouter
from .support.posters import apply_fixes

CONTRAST_QUESTION = "Is #777777 text on a white background readable?"
POSTER_WITH_ERRORS = {
    "width": 420, "height": 594, "unit": "mm", "background": "#ffffff", "elements": [
        {"id": "title", "type": "text", "x": 30, "y": 40, "width": 360, "height": 80, "content": "Spring Fair",
         "font_family": "Inter", "font_size": 96, "font_weight": 700, "color": "#dddddd", "role": "headline"},
        {"id": "body", "type": "text", "x": 30, "y": 200, "width": 360, "height": 40, "content": "Saturday",
         "font_family": "Inter", "font_size": 12, "color": "#333333", "role": "body"}]}


@pytest.fixture
def server(tmp_path, serve):
    def start(provider, **overrides):
        settings = make_settings(tmp_path, **overrides)
        from posterchat.core.chat import ChatService

        return serve(create_app(settings, service=ChatService(settings, FakeRouter(settings, provider))))

    return start


def system_prompt(provider: FakeProvider) -> str:
    return provider.received[-1][0]["content"]


def test_chat_gives_the_model_the_facts_and_the_knowledge_and_returns_them(server):
    provider = FakeProvider(["It is close."])
    url = server(provider).url
    body = httpx.post(f"{url}/chat", json={"message": CONTRAST_QUESTION, "conversation_history": []}).json()
    prompt = system_prompt(provider)
    assert "Measured: #777777 on white (#ffffff) has a contrast ratio of 4.48:1" in prompt
    assert any(ref["title"] in prompt and ref["source"] in prompt for ref in body["references"])
    assert [fact["kind"] for fact in body["facts"]] == ["contrast"]
    assert body["facts"][0]["values"]["ratio"] == 4.48
    assert body["response"].startswith("**Measured:** #777777 on white (#ffffff) has a contrast ratio of 4.48:1")
    assert body["response"].endswith("It is close.")


def test_the_openai_endpoint_gives_the_model_the_same_notes_and_returns_facts(server):
    provider = FakeProvider(["A2 is big."])
    url = server(provider).url
    answer = httpx.post(f"{url}/v1/chat/completions", json={
        "model": "m", "messages": [{"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": "How big is A2?"}]}).json()
    prompt = system_prompt(provider)
    assert prompt.startswith("Be brief.") and "Measured: A2 is 420 × 594 mm" in prompt
    assert answer["facts"][0]["statement"] == "A2 is 420 × 594 mm (16.5 × 23.4 in)."
    assert answer["choices"][0]["message"]["content"] == "A2 is big."  # the model's words, as OpenAI would give


def test_a_streamed_completion_carries_the_facts_on_its_first_chunk(server):
    url = server(FakeProvider(["A2 ", "is big."])).url
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={
            "model": "m", "stream": True, "messages": [{"role": "user", "content": "How big is A2?"}]}) as response:
        chunks = [json.loads(sse.data) for sse in EventSource(response).iter_sse() if sse.data != "[DONE]"]
    assert chunks[0]["facts"][0]["statement"] == "A2 is 420 × 594 mm (16.5 × 23.4 in)."
    assert all("facts" not in chunk for chunk in chunks[1:])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "A2 is big."


def test_grounding_off_is_the_plain_model(server):
    provider = FakeProvider(["Sure."])
    url = server(provider, grounding=False).url
    body = httpx.post(f"{url}/chat", json={"message": CONTRAST_QUESTION, "conversation_history": []}).json()
    assert "Measured" not in system_prompt(provider) and body["facts"] == [] and body["response"] == "Sure."


@pytest.mark.parametrize("stream", [False, True])
def test_an_all_clear_for_a_poster_with_errors_never_reaches_the_designer(server, stream):
    provider = FakeProvider(["Your poster is fine. ", "The layout is balanced. ", "Nice work!"])
    url = server(provider).url
    request = {"message": "Is my poster readable?", "conversation_history": [], "poster": POSTER_WITH_ERRORS,
               "stream": stream}
    if stream:
        with httpx.stream("POST", f"{url}/chat", json=request) as response:
            from .support.sse import events

            received = list(events(response))
        body = received[-1][1]
        assert "".join(data["text"] for name, data in received if name == "delta") == body["response"]
    else:
        body = httpx.post(f"{url}/chat", json=request).json()
    errors = [note for note in body["design_notes"] if note["severity"] == "error"]
    assert errors and body["response"].startswith(f"**Your poster has {len(errors)} problem")
    assert all(note["message"] in body["response"] for note in errors)
    assert "is fine" not in body["response"] and "is balanced" not in body["response"]
    assert body["response"].endswith("Nice work!")
    assert "Poster error to fix" in system_prompt(provider)  # the model was told, first


def test_a_clean_poster_may_be_called_fine(server):
    provider = FakeProvider(["Your poster is fine."])
    url = server(provider).url
    clean = apply_fixes(SAMPLE_POSTER, check_poster(SAMPLE_POSTER))
    assert not [f for f in check_poster(clean) if f.severity == "error"]
    body = httpx.post(f"{url}/chat", json={"message": "Is it ok?", "conversation_history": [],
                                           "poster": clean}).json()
    assert body["response"].endswith("Your poster is fine.")


@pytest.mark.parametrize(("question", "sentence", "kept"), [
    (CONTRAST_QUESTION, "Yes, #777777 on white is readable.", False),
    (CONTRAST_QUESTION, "It is 2.1:1, which is low.", False),
    (CONTRAST_QUESTION, "AA asks for 4.5:1 and this is 4.48:1.", True),
    (CONTRAST_QUESTION, "It is not readable for small text.", True),
    (CONTRAST_QUESTION, "It is not only readable but very readable.", False),
    ("How big is A2?", "An A2 poster is 120 mm wide.", False),
    ("How big is A2?", "A2 is 420 mm × 594 mm.", True),
    ("How big is A2?", "A2 is 16.5 by 23.4 inches.", True),
    ("How big should text be read from 5 m?", "Use at least 24 pt.", False),
    ("How big should text be read from 5 m?", "Headlines can be 200 pt.", True),
    ("What is bleed?", "Add 1/8 in (1.5 mm) on each side.", False),
    ("What is bleed?", "Add 1/8 in (3.2 mm) on each side.", True),
])
def test_guard_table(question, sentence, kept):
    assert Guard(measure(question), []).keep(sentence) is kept


def test_guard_drops_repeats_and_streams_whole_sentences():
    chunks = ["Use bold ", "type. Use bold type.", "\n\nKeep it ", "short"]
    stream = SentenceFilter(Guard([], []))
    out = "".join(stream.feed(chunk) for chunk in chunks) + stream.flush()
    assert out == "Use bold type. \n\nKeep it short"
    assert inconsistent_units("12.5 mm (2.95 inches)") and not inconsistent_units("25.4 mm (1 in)")


def test_the_embedded_model_answers_with_the_measured_fact(embedded_service):
    result = run(lambda: embedded_service.complete("How big is an A2 poster?", [], **FAST))
    assert result.response.startswith("**Measured:** A2 is 420 × 594 mm (16.5 × 23.4 in).")
    assert result.facts[0].values["name"] == "A2"
    assert "120 mm" not in result.response
