"""The command line as users run it: `python chat_bot.py …`, `posterchat ask`, `posterchat chat`, `python test_chat.py`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTERCHAT = str(Path(sys.executable).with_name("posterchat"))


def run(args, *, tmp_path, input=None, env=None, cwd=ROOT, timeout=120):
    environment = {**os.environ, "POSTERCHAT_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    return subprocess.run(args, cwd=cwd, env=environment, input=input, capture_output=True, text=True,
                          timeout=timeout)


def chat_bot(*args, tmp_path, **kw):
    return run([sys.executable, "chat_bot.py", *args], tmp_path=tmp_path, **kw)


def assert_one_line_error(result, code=2):
    assert result.returncode == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_message_prints_the_answer(tmp_path):
    result = chat_bot("--message", "Hello! I need help with my poster design.", "--temp", "0",
                      "--max-tokens", "12", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""


def test_history_file_is_read_and_rewritten(tmp_path):
    conversation = tmp_path / "conversation.json"
    earlier = [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi! How can I help?"}]
    conversation.write_text(json.dumps(earlier))
    result = chat_bot("--message", "What about the color scheme?", "--history", str(conversation),
                      "--temp", "0", "--max-tokens", "12", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = json.loads(conversation.read_text())
    assert saved[:2] == earlier
    assert saved[2] == {"role": "user", "content": "What about the color scheme?"}
    assert saved[3] == {"role": "assistant", "content": result.stdout.rstrip("\n")}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".conversation")] == []  # no temp left


def test_model_and_temp_options(tmp_path):
    result = chat_bot("--message", "Hello!", "--model", "local", "--temp", "0.8", "--max-tokens", "8",
                      tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"a": 1}', "must hold a JSON list"),
        ('[{"role": "system", "content": "x"}]', "system prompt is the server's"),
    ],
)
def test_bad_history_file_gives_exit_2_and_one_line(tmp_path, content, fragment):
    path = tmp_path / "history.json"
    if content is not None:
        path.write_text(content)
    result = chat_bot("--message", "hi", "--history", str(path), tmp_path=tmp_path)
    assert_one_line_error(result)
    assert fragment in result.stderr
    if content is not None:
        assert path.read_text() == content  # untouched


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--message", ""], "message: String should have at least 1 character"),
        (["--message", "hi", "--temp", "hot"], "temperature must be a number"),
        (["--message", "hi", "--temp", "3"], "temperature: Input should be less than or equal to 2"),
        ([], "--message"),
    ],
)
def test_bad_arguments_give_exit_2_and_one_line(tmp_path, args, fragment):
    result = chat_bot(*args, tmp_path=tmp_path)
    assert_one_line_error(result)
    assert fragment in result.stderr


def test_openai_model_without_key_names_the_setting(tmp_path):
    result = chat_bot("--message", "hi", "--model", "ft:gpt-4o-mini-2024-07-18:x:y:z", tmp_path=tmp_path)
    assert_one_line_error(result)
    assert "OPENAI_API_KEY" in result.stderr


def test_invalid_setting_is_named(tmp_path):
    result = chat_bot("--message", "hi", tmp_path=tmp_path, env={"POSTERCHAT_MAX_TOKENS": "lots"})
    assert_one_line_error(result)
    assert "POSTERCHAT_MAX_TOKENS" in result.stderr


def test_posterchat_ask_streams_the_answer(tmp_path):
    result = run([POSTERCHAT, "ask", "Hello!", "--temp", "0", "--max-tokens", "8"], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_posterchat_chat_is_interactive(tmp_path):
    result = run([POSTERCHAT, "chat", "--temp", "0", "--max-tokens", "8"], tmp_path=tmp_path,
                 input="Hello!\n/reset\nWhat colours work for a jazz poster?\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("assistant> ") == 2
    assert "Conversation history reset" in result.stderr


def test_spec_test_script_passes(tmp_path):
    result = run([sys.executable, "test_chat.py"], tmp_path=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 0 failed" in result.stdout
