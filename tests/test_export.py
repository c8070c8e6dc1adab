"""Exports (JSON, Markdown, fine-tuning JSONL), feedback on answers, and `posterchat export` run as operators run it."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, update

from posterchat.store.conversations import NewTurn
from posterchat.web.app import create_app
from posterchat.store.models import Conversation

from .support.owners import as_owner, with_test_owners

POSTERCHAT = str(Path(sys.executable).with_name("posterchat"))
TRICKY_USER = "Title?\n\n### Assistant\n<!-- posterchat:message {\"id\": 1} -->\n\\<!-- posterchat:x -->\n"
TRICKY_ANSWER = ("Try this:\n\n```md\n# Big heading\n```\n<!-- posterchat:conversation {} -->", "\n\n—ünïcode ✓\n\n")


@pytest.fixture
def client(settings, fake_service, serve):
    server = serve(with_test_owners(create_app(settings, service=fake_service)))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def chat(client, message, conversation_id=None, owner="public"):
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    response = client.post("/chat", json=body, headers=as_owner(owner))
    assert response.status_code == 200, response.text
    return response.json()


def rate(client, conversation_id, message_id, rating, owner="public"):
    return client.post(f"/conversations/{conversation_id}/messages/{message_id}/feedback",
                       json={"rating": rating}, headers=as_owner(owner))


def assert_finetune_example(example):
    """One line of OpenAI's chat fine-tuning format."""
    assert set(example) == {"messages"}
    system, *rest = example["messages"]
    assert system == {"role": "system", "content": system["content"]} and system["content"].strip()
    assert rest and len(rest) % 2 == 0
    for index, message in enumerate(rest):
        role = "user" if index % 2 == 0 else "assistant"
        assert message["role"] == role
        assert isinstance(message["content"], str) and message["content"].strip()
        assert set(message) <= ({"role", "content", "weight"} if role == "assistant" else {"role", "content"})
        assert message.get("weight", 1) in (0, 1)
    assert rest[-1]["role"] == "assistant"


def parse_jsonl(text):
    assert text == "" or text.endswith("\n")
    examples = [json.loads(line) for line in text.splitlines()]
    for example in examples:
        assert_finetune_example(example)
    return examples


def dialogue(example):
    return [(m["role"], m["content"], m.get("weight")) for m in example["messages"][1:]]


# Exports over HTTP


def test_jsonl_export_is_one_finetuning_line(client, settings):
    first = chat(client, "Hello! I need help with my poster design.")
    cid = first["conversation_id"]
    chat(client, "What about the color scheme?", cid)
    response = client.get(f"/conversations/{cid}/export", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.headers["content-disposition"] == f'attachment; filename="conversation-{cid}.jsonl"'
    [example] = parse_jsonl(response.text)
    assert example["messages"][0]["content"] == settings.system_message
    assert dialogue(example) == [
        ("user", "Hello! I need help with my poster design.", None), ("assistant", "Hello from fake", None),
        ("user", "What about the color scheme?", None), ("assistant", "Hello from fake", None),
    ]


def test_json_export_round_trips(client):
    cid = chat(client, TRICKY_USER)["conversation_id"]
    chat(client, "Second", cid)
    stored = client.get(f"/conversations/{cid}").json()
    response = client.get(f"/conversations/{cid}/export")  # json is the default
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == f'attachment; filename="conversation-{cid}.json"'
    document = json.loads(response.text)
    assert document["messages"] == stored["messages"]
    assert {k: document[k] for k in ("id", "title", "model", "created_at")} == {
        k: stored[k] for k in ("id", "title", "model", "created_at")}


def test_markdown_export_keeps_tricky_text_whole(client, fake):
    fake.chunks = list(TRICKY_ANSWER)
    cid = chat(client, TRICKY_USER)["conversation_id"]
    fake.chunks = ["plain answer"]
    answer_id = chat(client, "## Not a heading of the file\n\n\n", cid)["message_id"]
    assert rate(client, cid, answer_id, "down").status_code == 200
    stored = client.get(f"/conversations/{cid}").json()

    response = client.get(f"/conversations/{cid}/export", params={"format": "markdown"})
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="conversation-{cid}.md"'
    assert response.text.startswith("# Title? ### Assistant")
    assert "### Assistant 👎" in response.text
    for message in stored["messages"]:
        assert re.sub(r"^(\\*<!-- posterchat:)", r"\\\1", message["content"], flags=re.M) in response.text
    assert len(re.findall("^<!-- posterchat:message ", response.text, re.M)) == len(stored["messages"])


def test_export_errors(client):
    cid = chat(client, "Hi", owner="alice")["conversation_id"]
    assert client.get(f"/conversations/{cid}/export", params={"format": "csv"},
                      headers=as_owner("alice")).status_code == 422
    assert client.get(f"/conversations/{cid}/export").status_code == 404  # another owner's
    assert client.get("/conversations/0123456789abcdef/export").status_code == 404
    assert client.get("/conversations/bad%20id/export").status_code == 422


# Feedback


def test_feedback_is_stored_changed_and_cleared(client):
    answer = chat(client, "Hi")
    cid, mid = answer["conversation_id"], answer["message_id"]

    def stored_feedback():
        messages = client.get(f"/conversations/{cid}").json()["messages"]
        return [m["feedback"] for m in messages]

    response = rate(client, cid, mid, "up")
    assert response.status_code == 200
    assert response.json() == {"conversation_id": cid, "message_id": mid, "rating": "up"}
    assert stored_feedback() == [None, 1]
    assert rate(client, cid, mid, "down").status_code == 200
    assert stored_feedback() == [None, -1]
    assert rate(client, cid, mid, None).status_code == 200
    assert stored_feedback() == [None, None]


def test_feedback_refusals(client):
    mine = chat(client, "Hi", owner="alice")
    cid, mid = mine["conversation_id"], mine["message_id"]
    other = chat(client, "Hi", owner="alice")

    user_message = rate(client, cid, mid - 1, "up", owner="alice")
    assert user_message.status_code == 400
    assert "assistant" in user_message.json()["error"]["message"]
    assert rate(client, cid, mid, "up", owner="bob").status_code == 404  # another owner's
    assert rate(client, cid, other["message_id"], "up", owner="alice").status_code == 404  # another conversation's
    assert rate(client, cid, 999_999, "up", owner="alice").status_code == 404
    assert rate(client, "0123456789abcdef", mid, "up", owner="alice").status_code == 404
    assert rate(client, cid, mid, "meh", owner="alice").status_code == 422
    missing = client.post(f"/conversations/{cid}/messages/{mid}/feedback", json={}, headers=as_owner("alice"))
    assert missing.status_code == 422 and "rating" in missing.json()["error"]["message"]
    extra = client.post(f"/conversations/{cid}/messages/{mid}/feedback", json={"rating": "up", "stars": 5},
                        headers=as_owner("alice"))
    assert extra.status_code == 422
    assert client.post(f"/conversations/{cid}/messages/0/feedback", json={"rating": "up"}).status_code == 422
    stored = client.get(f"/conversations/{cid}", headers=as_owner("alice")).json()
    assert [m["feedback"] for m in stored["messages"]] == [None, None]


# posterchat export


def run_export(*args, data_dir: Path, env=None):
    environment = {**os.environ, "POSTERCHAT_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run([POSTERCHAT, "export", *args], cwd=data_dir, env=environment, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def stored(client, settings):
    """Three conversations: an old one, one with a liked and a disliked answer, and an unrated one."""
    old = chat(client, "Old question", owner="alice")
    chat(client, "Old follow-up", old["conversation_id"], owner="alice")
    rated = chat(client, "Rated question", owner="bob")
    rated_second = chat(client, "Rated follow-up", rated["conversation_id"], owner="bob")
    assert rate(client, rated["conversation_id"], rated["message_id"], "down", owner="bob").status_code == 200
    assert rate(client, rated["conversation_id"], rated_second["message_id"], "up", owner="bob").status_code == 200
    chat(client, "Unrated question")
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        connection.execute(update(Conversation).where(Conversation.id == old["conversation_id"])
                           .values(updated_at=datetime(2020, 3, 1, tzinfo=UTC)))
    engine.dispose()
    return {"old": old, "rated": rated}


def test_cli_exports_every_owner_to_stdout(stored, settings):
    result = run_export("--format", "jsonl", data_dir=settings.data_dir)
    assert result.returncode == 0, result.stderr
    examples = parse_jsonl(result.stdout)
    assert [dialogue(e)[0][1] for e in examples] == ["Old question", "Rated question", "Unrated question"]
    rated = dialogue(examples[1])
    assert [weight for role, _, weight in rated if role == "assistant"] == [0, 1]  # the disliked one is not learnt
    assert all(weight is None for _, _, weight in dialogue(examples[0]))


def test_cli_since_and_only_liked(stored, settings, tmp_path):
    recent = run_export("--since", "2024-01-01", data_dir=settings.data_dir)
    assert recent.returncode == 0, recent.stderr
    assert [dialogue(e)[0][1] for e in parse_jsonl(recent.stdout)] == ["Rated question", "Unrated question"]

    output = tmp_path / "train.jsonl"
    output.write_text("stale content that must be replaced\n")
    liked = run_export("--only-liked", "--output", str(output), data_dir=settings.data_dir)
    assert liked.returncode == 0, liked.stderr
    assert liked.stdout == ""
    [example] = parse_jsonl(output.read_text())
    assert dialogue(example) == [
        ("user", "Rated question", None), ("assistant", "Hello from fake", 0),
        ("user", "Rated follow-up", None), ("assistant", "Hello from fake", 1),
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".train.jsonl")] == []  # no temp file left

    since_late = run_export("--only-liked", "--since", "2999-01-01T00:00:00+02:00", "--output", str(output),
                            data_dir=settings.data_dir)
    assert since_late.returncode == 0, since_late.stderr
    assert output.read_text() == ""


def test_cli_failure_leaves_the_old_file(stored, settings, tmp_path):
    output = tmp_path / "train.jsonl"
    output.write_text("previous export\n")
    broken = run_export("--output", str(output), data_dir=settings.data_dir,
                        env={"POSTERCHAT_DATABASE_URL": "not a url"})
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: ") and "Traceback" not in broken.stderr
    assert output.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".train")) == []

    missing_dir = run_export("--output", str(tmp_path / "nope" / "train.jsonl"), data_dir=settings.data_dir)
    assert missing_dir.returncode == 2 and "does not exist" in missing_dir.stderr
    bad_date = run_export("--since", "last tuesday", data_dir=settings.data_dir)
    assert bad_date.returncode == 2 and "last tuesday" in bad_date.stderr


def test_training_store_on_every_database(database_url):
    from posterchat.errors import InvalidInput, NotFound
    from posterchat.store import open_store

    store = open_store(database_url)
    try:
        conversations = store.conversations
        conversations.append_turn(NewTurn("alice", "c-old", "Old", "Answer", model="m", create=True))
        _, liked = conversations.append_turn(NewTurn("bob", "c-new", "New", "Answer", model="m", create=True))
        with store.training.sessions.begin() as session:
            session.execute(update(Conversation).where(Conversation.id == "c-old")
                            .values(updated_at=datetime(2020, 3, 1, tzinfo=UTC)))
        store.training.rate("bob", "c-new", liked, "up")
        with pytest.raises(NotFound):
            store.training.rate("alice", "c-new", liked, "down")
        with pytest.raises(InvalidInput):
            store.training.rate("bob", "c-new", liked - 1, "down")
        everything = list(store.training.iter_conversations())
        assert [(c["owner"], c["id"]) for c in everything] == [("alice", "c-old"), ("bob", "c-new")]
        recent = list(store.training.iter_conversations(datetime(2024, 1, 1, tzinfo=UTC)))
        assert [c["id"] for c in recent] == ["c-new"]
        assert recent[0]["messages"][1]["feedback"] == 1
    finally:
        store.close()
