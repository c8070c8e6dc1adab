"""Simon Willison's `llm` CLI, configured for posterchat as an OpenAI-compatible server, against a real posterchat
server whose model server is the fake upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from posterchat.web.app import create_app

from .conftest import make_settings
from .support.servers import ThreadServer
from .support.upstream import ok

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_upstream_server):
    settings = make_settings(tmp_path_factory.mktemp("llm"), openai_api_key="sk-llm-upstream",
                             openai_base_url=fake_upstream_server.base_url, default_model=MODEL, retry_wait=0.01,
                             request_timeout=5, rate_limit_rpm=0, rate_limit_tpm=0)
    with ThreadServer(create_app(settings)) as running:
        yield running


@pytest.fixture
def llm(server, fake_upstream, tmp_path):
    """Run `llm ARGS...` with its own user directory, where extra-openai-models.yaml names posterchat."""
    config = [{"model_id": "posterchat", "model_name": MODEL, "api_base": f"{server.url}/v1"}]
    (tmp_path / "extra-openai-models.yaml").write_text(json.dumps(config))  # JSON is YAML
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path), "LLM_LOAD_PLUGINS": ""}  # none: faster, and only llm
    env.pop("OPENAI_API_KEY", None)

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "llm", *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def received(fake_upstream) -> dict:
    return fake_upstream.requests[-1].body


def test_prompt_and_answer(llm, fake_upstream):
    assert llm("-m", "posterchat", "Suggest a headline").strip() == "echo: Suggest a headline"
    body = received(fake_upstream)
    assert body["model"] == MODEL and body["stream"] is True
    assert body["messages"][-1] == {"role": "user", "content": "Suggest a headline"}


def test_system_prompt_options_and_a_follow_up(llm, fake_upstream):
    fake_upstream.script(ok("Jazz Night"), ok("Blue Notes"))
    assert llm("-m", "posterchat", "--no-stream", "-s", "Answer in two words.", "-o", "temperature", "0.3",
               "A headline?").strip() == "Jazz Night"
    body = received(fake_upstream)
    assert "stream" not in body and body["temperature"] == 0.3
    assert body["messages"] == [{"role": "system", "content": "Answer in two words."},
                                {"role": "user", "content": "A headline?"}]
    assert llm("-c", "--no-stream", "Another?").strip() == "Blue Notes"  # continues the logged conversation
    assert received(fake_upstream)["messages"][1:] == [
        {"role": "user", "content": "A headline?"}, {"role": "assistant", "content": "Jazz Night"},
        {"role": "user", "content": "Another?"}]
