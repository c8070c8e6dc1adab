"""openai-node (tests/clients/node, pinned by its package-lock.json) against a real posterchat server whose model
server is the fake upstream: create, stream, and a tool call whole and streamed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from posterchat.web.app import create_app

from .conftest import make_settings
from .support.servers import ROOT, ThreadServer
from .support.upstream import ok

NODE_PROJECT = ROOT / "tests" / "clients" / "node"
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def node_project():
    """The node project with its locked dependencies installed (`npm ci` when node_modules is missing)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the openai-node tests")
    if not (NODE_PROJECT / "node_modules" / "openai").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_PROJECT, check=True, capture_output=True,
                       timeout=600)
    return NODE_PROJECT


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_upstream_server):
    settings = make_settings(tmp_path_factory.mktemp("node"), openai_api_key="sk-node-upstream",
                             openai_base_url=fake_upstream_server.base_url, default_model=MODEL, retry_wait=0.01,
                             request_timeout=5, rate_limit_rpm=0, rate_limit_tpm=0)
    with ThreadServer(create_app(settings)) as running:
        yield running


def test_openai_node_create_stream_and_tool_calls(node_project, server, fake_upstream):
    weather = ok(tool_calls=[("get_weather", {"city": "Oslo"})])
    fake_upstream.script(ok(), ok(), weather, weather)
    done = subprocess.run(["node", "client.mjs", f"{server.url}/v1", MODEL], cwd=node_project, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)

    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert seen["created"] == {"content": "echo: Weather in Oslo?", "model": MODEL, "usage": usage}
    assert seen["streamed"] == {"content": "echo: Weather in Oslo?", "usage": usage}
    call = {"id": "call_fake_0", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    assert seen["tool_call"] == {"finish_reason": "tool_calls", "calls": [call]}
    assert seen["tool_stream"]["finish_reason"] == "tool_calls"
    assert [{key: c[key] for key in ("id", "type", "function")} for c in seen["tool_stream"]["calls"]] == [call]

    create, stream, tool_call, tool_stream = [r.body for r in fake_upstream.requests]
    assert create["messages"][-1] == {"role": "user", "content": "Weather in Oslo?"} and "stream" not in create
    assert stream["stream"] is True and stream["stream_options"] == {"include_usage": True}
    assert tool_call["tools"][0]["function"]["name"] == "get_weather" and tool_stream["stream"] is True
