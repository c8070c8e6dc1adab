"""API keys over real HTTP: who gets in, whose data they see, the CLI, and where the server may listen."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import httpx
import pytest

from posterchat.web.app import create_app
from posterchat.core.keys import KEY_PREFIX, create_key, hash_key
from posterchat.store import open_store
from posterchat.store.cache import READ_CACHE_SECONDS

from .conftest import make_settings, wait_for
from .support.servers import ROOT, ProcessServer, free_port

OPEN_PATHS = ["/health", "/", "/openapi.json", "/docs", "/static/app.js"]


def make_key(settings, name="client", monthly_budget=None) -> tuple[str, str]:
    """A key in the settings' database: (id, key)."""
    store = open_store(settings.resolved_database_url)
    try:
        record, key = create_key(store.keys, name, monthly_budget)
    finally:
        store.close()
    return record.id, key


def revoke(settings, key_id: str) -> None:
    store = open_store(settings.resolved_database_url)
    try:
        store.keys.revoke(key_id)
    finally:
        store.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`posterchat ARGS` in a child process."""
    code = "from posterchat.cli import main; raise SystemExit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, cwd=ROOT)


@pytest.fixture
def keyed(settings, fake_service, serve):
    """A server with two keys: (url, {"a": key, "b": key}, {"a": id, "b": id})."""
    ids, keys = {}, {}
    for name in ("a", "b"):
        ids[name], keys[name] = make_key(settings, name)
    return serve(create_app(settings, service=fake_service)).url, keys, ids


def test_keys_look_right_and_only_hashes_are_stored(settings):
    key_id, key = make_key(settings)
    assert key.startswith(KEY_PREFIX) and len(key) >= len(KEY_PREFIX) + 32
    store = open_store(settings.resolved_database_url)
    try:
        with store.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT * FROM api_keys").all()
    finally:
        store.close()
    assert key not in repr(rows) and hash_key(key) in repr(rows) and key[len(KEY_PREFIX) + 8:] not in repr(rows)


def test_missing_wrong_and_revoked_keys_get_401(settings, keyed):
    url, keys, ids = keyed
    no_key = httpx.get(f"{url}/conversations")
    assert no_key.status_code == 401
    assert no_key.json()["error"]["code"] == "unauthorized"
    assert no_key.headers["www-authenticate"].startswith("Bearer")
    for headers in (bearer("pc_" + "x" * 43), {"Authorization": keys["a"]}, {"Authorization": "Basic abc"}):
        wrong = httpx.post(f"{url}/chat", json={"message": "hi"}, headers=headers)
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(f"{url}/conversations", headers=bearer(keys["a"])).status_code == 200
    revoke(settings, ids["a"])  # from another process, as `posterchat keys revoke` does
    # the server trusts a key it has looked up for a second at most
    assert wait_for(lambda: httpx.get(f"{url}/conversations", headers=bearer(keys["a"])).status_code != 200,
                    READ_CACHE_SECONDS + 0.5)
    revoked = httpx.get(f"{url}/conversations", headers=bearer(keys["a"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    assert httpx.get(f"{url}/conversations", headers=bearer(keys["b"])).status_code == 200


def test_page_health_docs_and_assets_stay_open(keyed):
    url, _, _ = keyed
    for path in OPEN_PATHS:
        assert httpx.get(f"{url}{path}").status_code == 200, path


def test_refusals_carry_cors_headers(keyed):
    url, _, _ = keyed
    response = httpx.get(f"{url}/conversations", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    preflight = httpx.options(f"{url}/chat", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200


def test_one_key_cannot_touch_anothers_conversation(keyed):
    url, keys, ids = keyed
    a, b = bearer(keys["a"]), bearer(keys["b"])
    started = httpx.post(f"{url}/chat", json={"message": "My poster is for a jazz night."}, headers=a).json()
    conversation = started["conversation_id"]
    assert httpx.get(f"{url}/conversations/{conversation}", headers=a).status_code == 200

    for response in (
        httpx.get(f"{url}/conversations/{conversation}", headers=b),
        httpx.post(f"{url}/chat", json={"message": "and now?", "conversation_id": conversation}, headers=b),
        httpx.post(f"{url}/chat/reset", json={"conversation_id": conversation}, headers=b),
        httpx.delete(f"{url}/conversations/{conversation}", headers=b),
    ):
        assert response.status_code == 404, response.text
    assert httpx.get(f"{url}/conversations", headers=b).json()["data"] == []
    assert httpx.get(f"{url}/usage", headers=b).json()["total"]["requests"] == 0

    mine = httpx.get(f"{url}/conversations/{conversation}", headers=a).json()
    assert len(mine["messages"]) == 2  # untouched by b
    assert httpx.get(f"{url}/usage", headers=a).json()["total"]["requests"] == 1
    continued = httpx.post(f"{url}/chat", json={"message": "and now?", "conversation_id": conversation}, headers=a)
    assert continued.status_code == 200 and len(continued.json()["conversation_history"]) == 4


def test_conversations_belong_to_the_key_id(settings, keyed):
    url, keys, ids = keyed
    httpx.post(f"{url}/chat", json={"message": "hello"}, headers=bearer(keys["b"]))
    store = open_store(settings.resolved_database_url)
    try:
        with store.engine.connect() as connection:
            owners = {row[0] for row in connection.exec_driver_sql("SELECT owner FROM conversations")}
        wait_for(lambda: store.usage.rows(ids["b"]), 10)  # stored behind the answer, within USAGE_FLUSH_SECONDS
        with store.engine.connect() as connection:
            usage_owners = {row[0] for row in connection.exec_driver_sql("SELECT owner FROM usage")}
    finally:
        store.close()
    assert owners == usage_owners == {ids["b"]}


def test_keys_never_appear_in_responses_or_logs(settings, keyed, caplog):
    caplog.set_level(logging.DEBUG)
    url, keys, ids = keyed
    key = keys["a"]
    seen = []
    with httpx.Client(base_url=url, headers=bearer(key)) as client:
        seen.append(client.post("/chat", json={"message": "hi"}))
        seen.append(client.post("/chat", json={"message": "hi", "stream": True}))
        seen.append(client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}))
        seen += [client.get(path) for path in ("/conversations", "/usage", "/openapi.json")]
    revoke(settings, ids["a"])
    seen.append(httpx.get(f"{url}/conversations", headers=bearer(key)))
    seen.append(httpx.get(f"{url}/conversations", headers=bearer(key[:-1])))
    secret = key[len(KEY_PREFIX):]
    for response in seen:
        assert secret not in response.text and secret not in str(response.headers)
        assert hash_key(key) not in response.text
    assert caplog.records and secret not in caplog.text and hash_key(key) not in caplog.text


def test_cli_create_list_revoke(tmp_path, settings, fake_service, serve):
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DATABASE_URL": settings.resolved_database_url}
    created = cli("keys", "create", "--name", "poster plugin", "--monthly-budget", "5", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith(KEY_PREFIX) and "\n" not in key and "shown only this once" in created.stderr

    listed = cli("keys", "list", env=env)
    assert listed.returncode == 0 and "poster plugin" in listed.stdout and "$5.00" in listed.stdout
    as_json = json.loads(cli("keys", "list", "--json", env=env).stdout)
    assert [k["name"] for k in as_json] == ["poster plugin"] and as_json[0]["revoked_at"] is None
    assert key.startswith(as_json[0]["prefix"])
    assert key[len(as_json[0]["prefix"]):] not in listed.stdout + json.dumps(as_json)
    assert hash_key(key) not in listed.stdout + json.dumps(as_json)

    url = serve(create_app(settings, service=fake_service)).url
    assert httpx.get(f"{url}/conversations", headers=bearer(key)).status_code == 200
    revoked = cli("keys", "revoke", as_json[0]["id"], env=env)
    assert revoked.returncode == 0 and as_json[0]["id"] in revoked.stdout
    assert json.loads(cli("keys", "list", "--json", env=env).stdout)[0]["revoked_at"]
    assert httpx.get(f"{url}/conversations", headers=bearer(key)).status_code in (200, 401)  # open again soon

    unknown = cli("keys", "revoke", "nope", env=env)
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1 and "nope" in unknown.stderr
    bad = cli("keys", "create", "--name", "x", "--monthly-budget", "-3", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_a_key_made_by_the_cli_closes_an_open_server_within_seconds(tmp_path, settings, fake_service, serve):
    url = serve(create_app(settings, service=fake_service)).url
    assert httpx.get(f"{url}/conversations").status_code == 200  # open: no keys yet
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DATABASE_URL": settings.resolved_database_url}
    key = cli("keys", "create", "--name", "late", env=env).stdout.strip()
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/conversations").status_code != 401:
        assert time.monotonic() < deadline, "the new key did not take effect"
        time.sleep(0.2)
    assert httpx.get(f"{url}/conversations", headers=bearer(key)).status_code == 200


def test_open_server_refuses_a_public_address_without_insecure(tmp_path):
    env = {**os.environ, "POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DEFAULT_MODEL": "gpt-4o-mini"}
    result = subprocess.run([sys.executable, "server.py", "--host", "0.0.0.0", "--port", str(free_port())],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--insecure" in result.stderr and "0.0.0.0" in result.stderr


def test_insecure_allows_a_public_address(tmp_path):
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DEFAULT_MODEL": "gpt-4o-mini"}
    with ProcessServer(env, ["--host", "0.0.0.0", "--insecure"]) as server:
        assert httpx.get(f"{server.url}/conversations").status_code == 200


def test_public_server_with_keys_refuses_everyone_once_they_are_revoked(tmp_path, settings):
    env = {"POSTERCHAT_DATA_DIR": str(tmp_path), "POSTERCHAT_DEFAULT_MODEL": "gpt-4o-mini"}
    key_id, key = make_key(settings)
    with ProcessServer(env, ["--host", "0.0.0.0"]) as server:
        assert httpx.get(f"{server.url}/conversations", headers=bearer(key)).status_code == 200
        assert httpx.get(f"{server.url}/conversations").status_code == 401
        revoke(settings, key_id)
        deadline = time.monotonic() + 10  # the server trusts "keys exist" for up to 5 s
        while "keys create" not in (refused := httpx.get(f"{server.url}/conversations")).text:
            assert refused.status_code == 401 and time.monotonic() < deadline
            time.sleep(0.2)
        assert refused.status_code == 401


@pytest.mark.postgres
def test_two_server_processes_share_conversations_on_postgresql(tmp_path):
    from .conftest import postgres_schema

    base = os.environ.get("POSTERCHAT_TEST_DATABASE_URL")
    if not base:
        pytest.skip("POSTERCHAT_TEST_DATABASE_URL is not set")
    chat = {"temperature": 0, "max_tokens": 4}
    with postgres_schema(base) as url:
        settings = make_settings(tmp_path, database_url=url)
        mine, other = make_key(settings, "mine")[1], make_key(settings, "other")[1]
        env = {"POSTERCHAT_DATABASE_URL": url, "POSTERCHAT_DEFAULT_MODEL": "local"}
        with ProcessServer({**env, "POSTERCHAT_DATA_DIR": str(tmp_path / "one")}) as one, \
                ProcessServer({**env, "POSTERCHAT_DATA_DIR": str(tmp_path / "two")}) as two:
            started = httpx.post(f"{one.url}/chat", json={"message": "Hi", **chat}, headers=bearer(mine), timeout=60)
            conversation = started.json()["conversation_id"]
            continued = httpx.post(f"{two.url}/chat", headers=bearer(mine), timeout=60,
                                   json={"message": "More?", "conversation_id": conversation, **chat})
            assert continued.status_code == 200 and len(continued.json()["conversation_history"]) == 4
            stored = httpx.get(f"{one.url}/conversations/{conversation}", headers=bearer(mine)).json()
            assert [m["content"] for m in stored["messages"]][::2] == ["Hi", "More?"]
            assert httpx.get(f"{two.url}/conversations/{conversation}", headers=bearer(other)).status_code == 404
            def requests() -> int:
                return httpx.get(f"{two.url}/usage", headers=bearer(mine)).json()["total"]["requests"]

            wait_for(lambda: requests() >= 2, 10)  # each instance stores its usage within USAGE_FLUSH_SECONDS
            assert requests() == 2
