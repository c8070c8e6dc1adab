"""Idempotency-Key on /chat: repeats get the first answer, never a second turn, across instances too."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from posterchat.core import idempotency
from posterchat.web.app import create_app
from posterchat.store.models import IdempotentRequest, Message, utcnow

from .conftest import make_settings, wait_for
from .support.owners import as_owner, with_test_owners
from .support.sse import events
from .support.upstream import hang, ok, status, trickle

MODEL = "ft:gpt-4o-mini-2024-07-18:x:y:z"


def settings_for(tmp_path, upstream, **overrides):
    return make_settings(tmp_path, openai_api_key="sk-idem", openai_base_url=upstream.base_url, retry_wait=0.01,
                         default_model=MODEL, rate_limit_rpm=0, rate_limit_tpm=0, **overrides)


@pytest.fixture
def app(tmp_path, fake_upstream):
    return with_test_owners(create_app(settings_for(tmp_path, fake_upstream)))


@pytest.fixture
def server(app, serve):
    return serve(app)


def post(url, body, key=None, **headers):
    headers = {**({"Idempotency-Key": key} if key is not None else {}), **headers}
    return httpx.post(f"{url}/chat", json=body, headers=headers, timeout=30)


def stream_done(url, body, key):
    """A streaming request's events."""
    with httpx.stream("POST", f"{url}/chat", json={**body, "stream": True}, headers={"Idempotency-Key": key},
                      timeout=30) as response:
        return list(events(response))


def count(app, model) -> int:
    with app.state.services.store.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "semi;colon", "../../etc/passwd", "a/b", "quote\"s",
                                 "tab\there"])
def test_invalid_keys_are_refused_with_400(server, app, fake_upstream, key):
    response = post(server.url, {"message": "Hi"}, key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert fake_upstream.calls == 0 and count(app, Message) == 0 and count(app, IdempotentRequest) == 0


def test_the_longest_allowed_key_and_every_allowed_character_work(server):
    for key in ("k" * idempotency.MAX_KEY_CHARS, "Az09_.:-"):
        assert post(server.url, {"message": "Hi"}, key).status_code == 200


@pytest.mark.parametrize("history", [False, True], ids=["stored", "client_history"])
def test_a_repeat_gets_the_first_answer_and_adds_no_turn(server, app, fake_upstream, history):
    body = {"message": "Hi", **({"conversation_history": []} if history else {})}
    first = post(server.url, body, "key-1")
    again = post(server.url, body, "key-1")
    replayed = stream_done(server.url, body, "key-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [name for name, _ in replayed] == ["done"]
    assert {k: replayed[0][1][k] for k in first.json()} == first.json()
    assert fake_upstream.calls == 1
    assert count(app, Message) == (0 if history else 2)
    other = post(server.url, body, "key-2")  # another key is another request
    assert other.status_code == 200 and fake_upstream.calls == 2


@pytest.mark.parametrize(("first_streams", "repeat_streams"), [(False, False), (True, False), (False, True)])
def test_a_repeat_while_the_first_runs_waits_for_its_answer(server, app, fake_upstream, first_streams,
                                                            repeat_streams):
    fake_upstream.default = trickle("slow answer in several words", interval=0.2)
    body = {"message": "Hi"}
    results = {}

    def first():
        if first_streams:
            results["first"] = stream_done(server.url, body, "same")[-1][1]
        else:
            results["first"] = post(server.url, body, "same").json()

    worker = threading.Thread(target=first)
    worker.start()
    assert wait_for(lambda: fake_upstream.calls == 1)
    repeat = stream_done(server.url, body, "same")[-1][1] if repeat_streams else post(server.url, body, "same").json()
    repeat_at = time.monotonic()
    worker.join(10)
    assert repeat["response"] == results["first"]["response"] == "slow answer in several words"
    assert repeat["message_id"] == results["first"]["message_id"]
    assert repeat_at >= fake_upstream.requests[0].received_at + 0.8  # it waited for the whole slow answer
    assert fake_upstream.calls == 1 and count(app, Message) == 2


def test_the_same_key_with_another_body_is_422(server, app, fake_upstream):
    fake_upstream.default = ok(delay=0.5)
    running = threading.Thread(target=post, args=(server.url, {"message": "Hi"}, "k"))
    running.start()
    assert wait_for(lambda: fake_upstream.calls == 1)
    during = post(server.url, {"message": "Something else"}, "k")
    running.join(10)
    after = post(server.url, {"message": "Hi", "temperature": 0.1}, "k")
    for response in (during, after):
        assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_key_reused"
    assert post(server.url, {"message": "Hi", "stream": True}, "k").status_code == 200  # streaming is not the body
    assert fake_upstream.calls == 1 and count(app, Message) == 2


def test_keys_belong_to_their_owner(server, app, fake_upstream):
    alice = post(server.url, {"message": "Hi"}, "shared", **as_owner("alice")).json()
    bob = post(server.url, {"message": "Hi"}, "shared", **as_owner("bob")).json()
    assert alice["conversation_id"] != bob["conversation_id"] and fake_upstream.calls == 2


def test_a_failed_turn_releases_the_key_so_a_retry_runs(server, app, fake_upstream):
    fake_upstream.default = status(500)
    failed = post(server.url, {"message": "Hi"}, "retry-me")
    assert failed.status_code == 502 and count(app, IdempotentRequest) == 0
    fake_upstream.default = ok()
    retried = post(server.url, {"message": "Hi"}, "retry-me")
    assert retried.status_code == 200 and count(app, Message) == 2


def test_a_repeat_waiting_on_a_first_that_fails_runs_the_turn_itself(tmp_path, fake_upstream, serve):
    app = create_app(settings_for(tmp_path, fake_upstream, max_retries=0, request_timeout=0.5))
    server = serve(app)
    fake_upstream.script(hang(5))  # the first times out after 0.5 s
    first = []
    worker = threading.Thread(target=lambda: first.append(post(server.url, {"message": "Hi"}, "k")))
    worker.start()
    assert wait_for(lambda: fake_upstream.calls == 1)
    repeat = post(server.url, {"message": "Hi"}, "k")
    repeat_at = time.monotonic()
    worker.join(10)
    assert first[0].status_code == 504 and repeat.status_code == 200
    assert fake_upstream.requests[1].received_at < repeat_at < fake_upstream.requests[0].received_at + 3
    assert fake_upstream.calls == 2 and count(app, Message) == 2


def test_a_client_that_leaves_mid_stream_releases_the_key(server, app, fake_upstream):
    fake_upstream.script(trickle(" ".join(["word"] * 100), interval=0.05))
    with httpx.stream("POST", f"{server.url}/chat", json={"message": "Hi", "stream": True},
                      headers={"Idempotency-Key": "k"}, timeout=30) as response:
        for number, _ in enumerate(events(response)):
            if number == 2:
                break
    assert wait_for(lambda: count(app, IdempotentRequest) == 0)
    again = post(server.url, {"message": "Hi"}, "k")
    assert again.status_code == 200 and again.json()["response"] == "echo: Hi" and count(app, Message) == 2


def test_answers_expire_after_the_ttl(tmp_path, fake_upstream, serve):
    app = create_app(settings_for(tmp_path, fake_upstream, idempotency_ttl=60))
    server = serve(app)
    first = post(server.url, {"message": "Hi"}, "k").json()
    _age(app, timedelta(seconds=30))
    assert post(server.url, {"message": "Hi"}, "k").json() == first and fake_upstream.calls == 1
    _age(app, timedelta(seconds=61))
    fresh = post(server.url, {"message": "Hi"}, "k").json()
    assert fresh["conversation_id"] != first["conversation_id"] and fake_upstream.calls == 2
    assert count(app, IdempotentRequest) == 1


def test_a_claim_left_by_a_dead_instance_is_taken_over(server, app, fake_upstream):
    body = {"message": "Hi"}
    fingerprint = idempotency.fingerprint(body)
    with app.state.services.store.engine.begin() as connection:  # as if an instance died holding the key
        connection.execute(IdempotentRequest.__table__.insert().values(
            owner="public", key="orphan", fingerprint=fingerprint, response=None,
            created_at=utcnow() - timedelta(seconds=idempotency.STALE_SECONDS + 5)))
    started = time.monotonic()
    response = post(server.url, body, "orphan")
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 5 and fake_upstream.calls == 1


def test_a_running_request_keeps_its_claim_fresh(server, app, fake_upstream, monkeypatch):
    monkeypatch.setattr(idempotency, "STALE_SECONDS", 0.6)
    monkeypatch.setattr(idempotency, "HEARTBEAT_SECONDS", 0.1)
    fake_upstream.default = trickle("a slow answer that takes a while", interval=0.3)  # 2 s, far past 0.6 s
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, server.url, {"message": "Hi"}, "k")
        assert wait_for(lambda: fake_upstream.calls == 1)
        repeat = pool.submit(post, server.url, {"message": "Hi"}, "k")
        assert first.result().json() == repeat.result().json()
    assert fake_upstream.calls == 1 and count(app, Message) == 2  # never taken over while running


def test_heartbeats_racing_the_commit_never_lose_the_answer(tmp_path, fake_upstream, serve, database_url,
                                                           monkeypatch):
    monkeypatch.setattr(idempotency, "HEARTBEAT_SECONDS", 0.002)  # refreshing all the time, commits included
    app = create_app(settings_for(tmp_path, fake_upstream, database_url=database_url))
    server = serve(app)
    fake_upstream.default = trickle("a few words", interval=0.05)
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: post(server.url, {"message": f"m{i}"}, f"key-{i}"), range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    with app.state.services.store.engine.connect() as connection:
        pending = connection.scalar(select(func.count()).select_from(IdempotentRequest)
                                    .where(IdempotentRequest.response.is_(None)))
    assert pending == 0 and count(app, IdempotentRequest) == 20 and count(app, Message) == 40


@pytest.mark.parametrize("stream", [False, True])
def test_instances_sharing_a_database_answer_a_key_once(tmp_path, fake_upstream, serve, database_url, stream):
    apps = [create_app(settings_for(tmp_path / str(i), fake_upstream, database_url=database_url)) for i in (0, 1)]
    urls = [serve(app).url for app in apps]
    fake_upstream.default = ok(delay=0.5)
    body = {"message": "Once only", "stream": stream}

    def send(i):
        if stream:
            return stream_done(urls[i % 2], body, "shared-key")[-1][1]
        return post(urls[i % 2], body, "shared-key").json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert fake_upstream.calls == 1
    assert len({(a["conversation_id"], a["message_id"], a["response"]) for a in answers}) == 1
    assert count(apps[0], Message) == 2


def _age(app, by: timedelta) -> None:
    """Make every idempotency record look `by` older."""
    with app.state.services.store.engine.begin() as connection:
        for key, stamp in connection.execute(select(IdempotentRequest.key, IdempotentRequest.created_at)).all():
            connection.execute(update(IdempotentRequest).where(IdempotentRequest.key == key)
                               .values(created_at=stamp - by))
