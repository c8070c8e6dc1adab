"""Shared fixtures: isolated settings, a fake provider for plumbing, the real embedded model, real servers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from posterchat.config import EMBEDDED_MODEL_ID, Settings, load_settings
from posterchat.core.chat import ChatService
from posterchat.providers import Router

from .support.fakes import FakeProvider, FakeRouter
from .support.servers import ThreadServer
from .support.upstream import fake_upstream, fake_upstream_server  # noqa: F401  (fixtures)

for name in list(os.environ):  # the tests decide every setting themselves
    if name.startswith("POSTERCHAT_") and not name.startswith("POSTERCHAT_TEST_") or name.startswith("OPENAI_"):
        del os.environ[name]

FAST = {"temperature": 0, "max_tokens": 12}  # real-model requests: greedy and short


def wait_for(condition, timeout: float = 5.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings isolated from the environment and any .env file, with data in tmp_path."""
    return load_settings(_env_file=None, data_dir=tmp_path, **overrides)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def fake_service(settings, fake) -> ChatService:
    """A ChatService whose every model is the fake provider."""
    return ChatService(settings, FakeRouter(settings, fake))


@pytest.fixture(scope="session")
def embedded_router(tmp_path_factory) -> Router:
    """One loaded embedded model for the whole run."""
    router = Router(make_settings(tmp_path_factory.mktemp("embedded")))
    router.local(EMBEDDED_MODEL_ID).count_tokens("warm", EMBEDDED_MODEL_ID)
    return router


@pytest.fixture
def embedded_service(settings, embedded_router) -> ChatService:
    """A ChatService on the real embedded model (loaded once per run), with this test's settings."""
    return ChatService(settings, embedded_router)


@pytest.fixture
def serve():
    """Start a real server on a random port for an app: `with serve(app) as server: server.url`."""
    started: list[ThreadServer] = []

    def start(app) -> ThreadServer:
        server = ThreadServer(app).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


@pytest.fixture
def fake_server(settings, fake_service, serve) -> ThreadServer:
    """A real server whose models are all the fake provider."""
    from posterchat.web.app import create_app

    return serve(create_app(settings, service=fake_service))


@pytest.fixture
def embedded_server(settings, embedded_service, serve) -> ThreadServer:
    """A real server on the real embedded model."""
    from posterchat.web.app import create_app

    return serve(create_app(settings, service=embedded_service))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a schema of its own in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get("POSTERCHAT_TEST_DATABASE_URL")
    if not base:
        pytest.skip("POSTERCHAT_TEST_DATABASE_URL is not set")
    with postgres_schema(base) as url:
        yield url


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A throwaway PostgreSQL schema; the URL points every connection's search_path at it."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
