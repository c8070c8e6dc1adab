"""SIGKILL mid-stream: every acknowledged turn survives exactly once, none is half-stored, the database is sound."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

from .conftest import wait_for
from .support.servers import ProcessServer
from .support.sse import events
from .support.upstream import Behaviour, trickle

MODEL = "ft:gpt-4o-mini-2024-07-18:x:y:z"
ANSWER = " ".join(f"w{i}" for i in range(12))  # streamed a word every 20-80 ms: about half a second a turn
WORKERS = 16


@dataclass
class Client:
    """One conversation driven turn after turn, remembering what the server acknowledged."""

    number: int
    conversation_id: str | None = None
    sent: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    failure: str | None = None
    mid_stream: bool = False  # some of an answer has arrived, not yet its end

    def run(self, url: str, stop: threading.Event) -> None:
        while not stop.is_set():
            message = f"client {self.number} turn {len(self.sent)}"
            self.sent.append(message)
            try:
                body = self._turn(url, message)
            except httpx.HTTPError as exc:
                self.failure = repr(exc)
                return  # the server is gone
            if isinstance(body, str):
                self.failure = body
                return
            self.conversation_id = body["conversation_id"]
            self.acknowledged.append(message)

    def _turn(self, url: str, message: str) -> dict | str:
        """The acknowledged body: a 200 JSON response, or a stream's `done` event; else what came instead."""
        body = {"message": message, **({"conversation_id": self.conversation_id} if self.conversation_id else {})}
        if self.number % 2:
            response = httpx.post(f"{url}/chat", json=body, timeout=30)
            return response.json() if response.status_code == 200 else f"{response.status_code} {response.text}"
        with httpx.stream("POST", f"{url}/chat", json={**body, "stream": True}, timeout=30) as response:
            if response.status_code != 200:
                return f"{response.status_code} {response.read()}"
            for name, data in events(response):
                self.mid_stream = name == "delta"
                if name != "delta":
                    return data if name == "done" else f"{name} {data}"
        return "the stream ended without done"


def paced() -> Behaviour:
    """The trickled answer, each client at its own pace, so the kill finds them at every stage of a turn."""
    paces = {f"client {n} ": trickle(ANSWER, interval=0.02 + 0.004 * n) for n in range(WORKERS)}

    async def respond(ex) -> bool:
        client = " ".join(ex.last_user_content().split()[:2]) + " "
        return await paces.get(client, paces["client 0 "]).respond(ex)

    return Behaviour("paced", respond)


def test_sigkill_mid_stream_keeps_acknowledged_turns_and_half_stores_nothing(tmp_path, fake_upstream, database_url):
    fake_upstream.default = paced()
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DATABASE_URL": database_url, "OPENAI_API_KEY": "sk-crash",
           "OPENAI_BASE_URL": fake_upstream.base_url, "POSTERCHAT_DEFAULT_MODEL": MODEL,
           "POSTERCHAT_RATE_LIMIT_RPM": "0", "POSTERCHAT_RATE_LIMIT_TPM": "0", "POSTERCHAT_LOG_LEVEL": "WARNING",
           "POSTERCHAT_GROUNDING": "false"}  # the answers are compared word for word with what was streamed
    server = ProcessServer(env).start()
    clients, stop = [Client(n) for n in range(WORKERS)], threading.Event()
    threads = [threading.Thread(target=c.run, args=(server.url, stop)) for c in clients]
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: sum(len(c.acknowledged) for c in clients) >= 2 * WORKERS
                  and sum(c.mid_stream for c in clients) >= 2, timeout=30)
        failures = [c.failure for c in clients if c.failure]
    finally:
        server.stop(kill=True)  # SIGKILL, with answers mid-stream
        cut_off = sum(c.mid_stream for c in clients)
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []  # every client was busy when the kill came
    assert cut_off >= 1 and sum(len(c.acknowledged) for c in clients) >= 2 * WORKERS

    with ProcessServer(env) as restarted:
        for client in filter(lambda c: c.conversation_id, clients):
            stored = httpx.get(f"{restarted.url}/conversations/{client.conversation_id}", timeout=10).json()
            users = [m["content"] for m in stored["messages"] if m["role"] == "user"]
            assert users == client.sent[: len(users)]  # in order, each once
            assert len(client.acknowledged) <= len(users) <= len(client.sent)  # a turn stored as the kill hit is fine
        after = httpx.post(f"{restarted.url}/chat", json={"message": "still there?"}, timeout=30)
        assert after.status_code == 200 and after.json()["response"] == ANSWER
    _assert_sound(database_url)


def _assert_sound(url: str) -> None:
    """Every conversation alternates user/assistant with whole answers, and the database checks out."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT conversation_id, role, content FROM messages ORDER BY id")).all()
            conversations: dict[str, list[tuple[str, str]]] = {}
            for conversation_id, role, content in rows:
                conversations.setdefault(conversation_id, []).append((role, content))
            for messages in conversations.values():
                assert [role for role, _ in messages] == ["user", "assistant"] * (len(messages) // 2)
                assert all(content == ANSWER for role, content in messages if role == "assistant")
            assert connection.execute(text("SELECT count(*) FROM messages m LEFT JOIN conversations c "
                                           "ON c.id = m.conversation_id WHERE c.id IS NULL")).scalar() == 0
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            else:
                _postgres_checks(connection)
    finally:
        engine.dispose()


def _postgres_checks(connection) -> None:
    """Constraints still hold for every row, and B-tree indexes verify with amcheck where it is available."""
    assert connection.execute(text("SELECT count(*) FROM messages WHERE role NOT IN ('user', 'assistant') "
                                   "OR content IS NULL OR conversation_id IS NULL")).scalar() == 0
    assert connection.execute(text("SELECT count(*) FROM pg_constraint WHERE NOT convalidated "
                                   "AND connamespace = current_schema()::regnamespace")).scalar() == 0
    if not connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'")).first():
        return
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    schema = connection.execute(text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                     "ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'")).scalar()
    indexes = connection.execute(text(
        "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
        "WHERE a.amname = 'btree' AND c.relnamespace = current_schema()::regnamespace")).scalars().all()
    assert indexes
    for oid in indexes:
        connection.execute(text(f'SELECT "{schema}".bt_index_check(:oid, true)'), {"oid": oid})
    connection.commit()
