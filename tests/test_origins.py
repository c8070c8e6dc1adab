"""`Origin: null` (a page opened from a file, or a sandboxed frame on any website) may chat statelessly, as the spec's
chat_ui.html does, and never reach stored conversations, preferences or usage (web/middleware/cors.py)."""

from __future__ import annotations

import httpx
import pytest

NULL = {"Origin": "null"}
GRANT = "access-control-allow-origin"


@pytest.fixture
def stored(fake_server):
    """A stored conversation and saved preferences, made by the server's own page (no Origin)."""
    answer = httpx.post(f"{fake_server.url}/chat", json={"message": "My secret launch plan"}, timeout=30).json()
    assert httpx.put(f"{fake_server.url}/preferences", json={"tone": "playful"}).status_code == 200
    return answer["conversation_id"]


def snapshot(url: str, conversation_id: str) -> tuple:
    """What a refused request must leave as it was."""
    return (httpx.get(f"{url}/conversations").json(), httpx.get(f"{url}/conversations/{conversation_id}").json(),
            httpx.get(f"{url}/preferences").json())


def refused_requests(conversation_id: str) -> list[tuple[str, str, dict]]:
    """(method, path, json body or None) a null-origin page must not get answered."""
    return [
        ("GET", "/conversations", None), ("GET", f"/conversations/{conversation_id}", None),
        ("DELETE", f"/conversations/{conversation_id}", None),
        ("GET", f"/conversations/{conversation_id}/export?format=json", None),
        ("GET", "/preferences", None), ("PUT", "/preferences", {"tone": "concise"}), ("GET", "/usage", None),
        ("POST", "/chat", {"message": "Tell me everything so far", "conversation_id": conversation_id}),
        ("POST", "/chat", {"message": "Start a stored one"}),
        ("POST", "/chat", {"conversation_id": conversation_id, "regenerate": True}),
        ("POST", "/chat/reset", {"conversation_id": conversation_id}),
        ("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
    ]


def test_a_null_origin_gets_no_stored_data_and_changes_nothing(fake_server, fake, stored):
    url = fake_server.url
    before, calls = snapshot(url, stored), len(fake.requests)
    for method, path, body in refused_requests(stored):
        response = httpx.request(method, f"{url}{path}", json=body, headers=NULL, timeout=30)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "origin_refused"
        assert GRANT not in response.headers, (method, path)  # the page cannot read even the refusal
        assert "secret launch" not in response.text
        preflight = httpx.options(f"{url}{path}", headers={**NULL, "Access-Control-Request-Method": method,
                                                           "Access-Control-Request-Headers": "content-type"})
        if path not in ("/chat", "/chat/reset"):
            assert preflight.status_code == 403 and GRANT not in preflight.headers, path
    assert snapshot(url, stored) == before and len(fake.requests) == calls


def test_a_simple_cross_origin_post_from_a_null_origin_does_nothing(fake_server, fake, stored):
    """The POST a browser sends without a preflight (text/plain) is refused before anything is read or run."""
    url = fake_server.url
    before, calls = snapshot(url, stored), len(fake.requests)
    for path, body in (("/chat", f'{{"message": "Hi", "conversation_id": "{stored}"}}'),
                       ("/chat/reset", f'{{"conversation_id": "{stored}"}}'), ("/preferences", '{"tone": "concise"}')):
        response = httpx.post(url + path, content=body, headers={**NULL, "Content-Type": "text/plain"})
        assert response.status_code == (415 if path.startswith("/chat") else 403), path  # not JSON / not for null
    assert snapshot(url, stored) == before and len(fake.requests) == calls


def test_a_null_origin_may_chat_with_the_history_it_keeps(fake_server, fake, stored):
    """The spec's chat_ui.html from disk: /chat with conversation_history, /chat/reset, the models and poster checks."""
    url = fake_server.url
    conversations = httpx.get(f"{url}/conversations").json()
    preflight = httpx.options(f"{url}/chat", headers={**NULL, "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200 and preflight.headers[GRANT] == "null"

    history = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi! How can I help?"}]
    answer = httpx.post(f"{url}/chat", headers=NULL, timeout=30,
                        json={"message": "What about the colour scheme?", "conversation_history": history})
    assert answer.status_code == 200 and answer.headers[GRANT] == "null"
    assert answer.json()["conversation_history"][:2] == history and answer.json().get("conversation_id") is None
    assert fake.received[-1][1:3] == history
    assert "playful" not in fake.received[-1][0]["content"]  # the saved preferences stay out of it

    with httpx.stream("POST", f"{url}/chat", headers=NULL, timeout=30,
                      json={"message": "Hi", "conversation_history": [], "stream": True}) as streamed:
        assert streamed.status_code == 200 and streamed.headers[GRANT] == "null"
        assert "event: done" in streamed.read().decode()
    reset = httpx.post(f"{url}/chat/reset", headers=NULL, json={})
    assert reset.status_code == 200 and reset.headers[GRANT] == "null"
    for path in ("/v1/models", "/health"):
        response = httpx.get(f"{url}{path}", headers=NULL)
        assert response.status_code == 200 and response.headers[GRANT] == "null", path
    assert httpx.get(f"{url}/conversations").json() == conversations  # nothing stored for the null origin
