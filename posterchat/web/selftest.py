"""The spec's three checks (basic chat, conversation with history, reset), run against the embedded model."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from ..config import EMBEDDED_MODEL_ID, load_settings
from ..core.chat import chat_with_model
from .app import create_app

OPTIONS = {"model": EMBEDDED_MODEL_ID, "temp": 0.0, "max_tokens": 24}


def check_basic() -> str:
    result = chat_with_model("Hello! I'm working on a poster design.", [], **OPTIONS)
    assert result["response"].strip(), "the answer is empty"
    assert result["model_used"] == EMBEDDED_MODEL_ID, f"model_used is {result['model_used']!r}"
    assert len(result["conversation_history"]) == 2, "the history should hold the new turn"
    return f"answered {len(result['response'])} characters"


def check_history() -> str:
    first = chat_with_model("Hello! I'm working on a poster design.", [], **OPTIONS)
    sent = list(first["conversation_history"])
    second = chat_with_model("What about the color scheme?", sent, **OPTIONS)
    assert sent == first["conversation_history"], "the caller's history was changed"
    assert second["conversation_history"][:2] == sent, "earlier turns were lost"
    assert [m["role"] for m in second["conversation_history"]] == ["user", "assistant"] * 2
    return "four messages, in order"


def check_reset() -> str:
    with tempfile.TemporaryDirectory() as data, TestClient(create_app(load_settings(data_dir=Path(data)))) as http:
        started = http.post("/chat", json={"message": "Hi!", "model": "local", "temperature": 0, "max_tokens": 8})
        assert started.status_code == 200, started.text
        conversation = started.json()["conversation_id"]
        reset = http.post("/chat/reset", json={"conversation_id": conversation}).json()
        assert reset["message"] == "Conversation history reset" and reset["conversation_history"] == []
        assert http.get(f"/conversations/{conversation}").json()["messages"] == [], "messages survived the reset"
    return "stored conversation emptied"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("Basic chat bot functionality", check_basic),
    ("Conversation with history", check_history),
    ("Chat reset functionality", check_reset),
]


def run(out=print) -> bool:
    """Run every check, print a line each and a summary; True when all pass."""
    passed = 0
    for name, check in CHECKS:
        try:
            detail = check()
        except Exception as exc:
            out(f"FAIL  {name}: {exc}")
        else:
            passed += 1
            out(f"PASS  {name}: {detail}")
    out(f"\n{passed} passed, {len(CHECKS) - passed} failed")
    return passed == len(CHECKS)
