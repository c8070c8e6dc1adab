"""Many chats at once on one store: no 5xx, no database-busy errors, and unguessable conversation ids."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from posterchat.web.app import create_app
from posterchat.store import new_conversation_id

from .conftest import make_settings
from .support.sse import events
from .support.upstream import ok

MODEL = "ft:gpt-4o-mini-2024-07-18:x:y:z"
CONVERSATION_ID = re.compile(r"^[0-9a-f]{32}$")
BUSY = ("database is locked", "database is busy", "could not serialize", "deadlock")


def _chat(url: str, number: int, conversation_id: str | None) -> tuple[int, dict]:
    """One chat, continuing `conversation_id` or starting one; every third one streams."""
    body = {"message": f"message {number}", **({"conversation_id": conversation_id} if conversation_id else {})}
    if number % 3:
        response = httpx.post(f"{url}/chat", json=body, timeout=60)
        return response.status_code, response.json()
    with httpx.stream("POST", f"{url}/chat", json={**body, "stream": True}, timeout=60) as response:
        if response.status_code != 200:
            return response.status_code, response.read() and response.json()
        name, data = list(events(response))[-1]
        return (200 if name == "done" else 599), data


def test_fifty_concurrent_chats_against_a_slow_upstream(tmp_path, fake_upstream, serve, database_url, caplog):
    settings = make_settings(tmp_path, openai_api_key="sk-c", openai_base_url=fake_upstream.base_url,
                             default_model=MODEL, database_url=database_url, rate_limit_rpm=0, rate_limit_tpm=0)
    app = create_app(settings)
    url = serve(app).url
    shared = [httpx.post(f"{url}/chat", json={"message": "start"}, timeout=10).json()["conversation_id"]
              for _ in range(5)]
    fake_upstream.default = ok(delay=0.5)
    with caplog.at_level(logging.WARNING), ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda n: _chat(url, n, shared[n % 5] if n % 2 else None), range(50)))
    failures = [(status, body) for status, body in results if status != 200]
    assert failures == []
    logged = caplog.text.lower()
    assert not any(word in logged for word in BUSY) and "traceback" not in logged
    created = [body["conversation_id"] for number, (_, body) in enumerate(results) if number % 2 == 0]
    assert all(CONVERSATION_ID.match(c) for c in created) and len(set(created) | set(shared)) == 30
    with app.state.services.store.engine.connect() as connection:
        counts = dict(connection.execute(text(
            "SELECT conversation_id, count(*) FROM messages GROUP BY conversation_id")).all())
    assert all(counts[c] == 2 for c in created)
    assert all(counts[c] == 2 + 2 * 5 for c in shared)  # each got its 5 concurrent turns, none lost


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    from posterchat.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_conversation_ids_have_at_least_122_random_bits():
    ids = [new_conversation_id() for _ in range(20_000)]
    assert all(CONVERSATION_ID.match(i) for i in ids) and len(set(ids)) == len(ids)
    values = [int(i, 16) for i in ids]
    balanced = sum(0.45 < sum(v >> bit & 1 for v in values) / len(values) < 0.55 for bit in range(128))
    assert balanced >= 122  # every random bit is a coin toss; fixed, counter or clock bits are not
