"""The poster in the chat: design_notes, the summary the model is given, tool calling, /poster/check, CLI."""

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.poster import SAMPLE_POSTER, check_poster

from .conftest import FAST, make_settings
from .support.posters import apply_fixes
from .support.upstream import ok

ROOT = Path(__file__).resolve().parent.parent
POSTER = {
    "width": 420, "height": 594, "unit": "mm", "background": "#ffffff",
    "elements": [
        {"id": "title", "type": "text", "x": 40, "y": 60, "width": 340, "height": 60, "content": "JAZZ NIGHT",
         "font_family": "Inter", "font_size": 120, "font_weight": 700, "color": "#777777", "role": "headline"},
        {"id": "body", "type": "text", "x": 40, "y": 200, "width": 340, "height": 100, "content": "Friday 9pm",
         "font_family": "Inter", "font_size": 10, "color": "#222222", "role": "body"},
    ],
}


def test_chat_with_a_poster_returns_design_notes_and_tells_the_model(fake_server, fake):
    body = httpx.post(f"{fake_server.url}/chat", json={"message": "Is my poster readable?", "poster": POSTER}).json()
    checks = {note["check"] for note in body["design_notes"]}
    assert "min_text_size" in checks
    assert all({"check", "severity", "elements", "measured", "threshold", "message", "fix"} <= set(n)
               for n in body["design_notes"])
    system = fake.received[-1][0]["content"]
    assert "Measured design checks on the current poster" in system and "'body' is 10 pt" in system
    assert "JAZZ NIGHT" in system


def test_stored_conversation_keeps_the_latest_poster(fake_server, fake):
    first = httpx.post(f"{fake_server.url}/chat", json={"message": "Hi", "poster": POSTER}).json()
    conversation = first["conversation_id"]
    fixed = apply_fixes(POSTER, check_poster(POSTER))
    httpx.post(f"{fake_server.url}/chat", json={"message": "Fixed it", "conversation_id": conversation,
                                                 "poster": fixed})
    later = httpx.post(f"{fake_server.url}/chat", json={"message": "And now?", "conversation_id": conversation}).json()
    assert "min_text_size" not in {n["check"] for n in later["design_notes"]}  # measured on the latest poster
    assert "Measured design checks" in fake.received[-1][0]["content"]
    stored = httpx.get(f"{fake_server.url}/conversations/{conversation}").json()
    assert stored["poster"]["elements"][1]["font_size"] == fixed["elements"][1]["font_size"]


def test_invalid_poster_is_a_clear_422(fake_server):
    bad = {**POSTER, "elements": [{**POSTER["elements"][0], "color": "red-ish"}]}
    response = httpx.post(f"{fake_server.url}/chat", json={"message": "Hi", "poster": bad})
    assert response.status_code == 422 and "color" in response.json()["error"]["message"]


def test_poster_check_endpoint(fake_server):
    body = httpx.post(f"{fake_server.url}/poster/check", json={"poster": SAMPLE_POSTER}).json()
    assert body["findings"] and body["summary"].startswith("Measured design checks")
    near = httpx.post(f"{fake_server.url}/poster/check", json={"poster": POSTER, "viewing_distance_m": 0.5}).json()
    assert "min_text_size" not in {f["check"] for f in near["findings"]}
    schema = httpx.get(f"{fake_server.url}/openapi.json").json()
    assert "Poster" in schema["components"]["schemas"] and "Finding" in schema["components"]["schemas"]


def test_embedded_model_answers_with_the_poster_in_context(embedded_server):
    body = httpx.post(f"{embedded_server.url}/chat", json={"message": "How is my poster?", "poster": POSTER, **FAST},
                      timeout=60).json()
    assert body["response"].strip() and body["design_notes"]


def test_openai_model_may_call_the_check_tool(tmp_path, fake_upstream, serve):
    settings = make_settings(tmp_path, openai_api_key="sk-test", openai_base_url=fake_upstream.base_url,
                             retry_wait=0.01)
    server = serve(create_app(settings, service=ChatService(settings)))
    fake_upstream.script(ok(tool_calls=[("check_poster", {"checks": ["contrast"]})]),
                         ok("The headline's grey fails contrast."))
    body = httpx.post(f"{server.url}/chat", json={"message": "Check my contrast", "poster": POSTER,
                                                  "model": "ft:gpt-4o-mini-2024-07-18:a:b:c"}).json()
    assert body["response"].endswith("\n\nThe headline's grey fails contrast.")  # after the poster's errors
    assert fake_upstream.calls == 2
    first, second = (r.body for r in fake_upstream.requests[-2:])
    assert "check_poster" in [tool["function"]["name"] for tool in first["tools"]]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and second["messages"][-2]["tool_calls"][0]["function"]["name"] == "check_poster"
    findings = json.loads(tool_message["content"])["findings"]
    assert findings and {f["check"] for f in findings} == {"contrast"}
    assert body["usage"]["prompt_tokens"] == 20  # both calls counted


def test_cli_takes_a_poster_file(tmp_path):
    poster = tmp_path / "poster.json"
    poster.write_text(json.dumps(POSTER))
    result = subprocess.run([sys.executable, "chat_bot.py", "--message", "How is it?", "--poster", str(poster),
                             "--temp", "0", "--max-tokens", "8"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "design note (error): Text 'body' is 10 pt" in result.stderr


@pytest.mark.parametrize(("content", "fragment"), [("{", "not valid JSON"), ('{"width": -1}', "poster.width")])
def test_cli_rejects_a_bad_poster_file(tmp_path, content, fragment):
    poster = tmp_path / "poster.json"
    poster.write_text(content)
    result = subprocess.run([sys.executable, "chat_bot.py", "--message", "x", "--poster", str(poster)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.splitlines()) == 1
