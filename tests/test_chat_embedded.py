"""The chat engine through the real embedded model: turns, history, trimming, validation."""

import copy

import pytest

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.errors import InvalidInput
from posterchat.core.messages import ChatInput
from posterchat.core.chat import ChatService
from posterchat.core.portal import run
from posterchat.providers.router import Router

from .conftest import FAST, make_settings


def chat(service, message, history=None, **options):
    return run(lambda: service.complete(message, history, **{**FAST, **options})).model_dump(mode="json")


def start(service, message, history=None, **options):
    return service.start(ChatInput.parse(message=message, conversation_history=history or [], **{**FAST, **options}))


def test_one_turn(embedded_service):
    result = chat(embedded_service, "Hello! I'm working on a poster design.")
    assert result["response"].strip()
    assert result["model_used"] == EMBEDDED_MODEL_ID
    assert result["conversation_history"] == [
        {"role": "user", "content": "Hello! I'm working on a poster design."},
        {"role": "assistant", "content": result["response"]},
    ]
    assert result["usage"]["completion_tokens"] > 0
    assert result["usage"]["total_tokens"] == result["usage"]["prompt_tokens"] + result["usage"]["completion_tokens"]


def test_two_turns_keep_history_and_do_not_mutate_it(embedded_service):
    first = chat(embedded_service, "Hello! I'm working on a poster design.")
    history = first["conversation_history"]
    before = copy.deepcopy(history)
    second = chat(embedded_service, "What about the color scheme?", history)
    assert history == before
    assert second["conversation_history"][:2] == before
    assert second["conversation_history"][2] == {"role": "user", "content": "What about the color scheme?"}
    assert second["conversation_history"][3]["content"] == second["response"]


def test_alias_local_and_temperature_zero_without_the_prompt_cache_is_deterministic(tmp_path):
    settings = make_settings(tmp_path, embedded_cache_prompt=False)
    service = ChatService(settings, Router(settings))  # the same loaded engine, every prompt evaluated whole
    one = chat(service, "Name one colour.", model="local")
    two = chat(service, "Name one colour.", model=EMBEDDED_MODEL_ID)
    assert one["model_used"] == two["model_used"] == EMBEDDED_MODEL_ID
    assert one["response"] == two["response"]


def test_long_history_is_trimmed_oldest_first_and_reported(embedded_service):
    filler = "The poster uses a bold red headline over a pale background with thin body text. " * 12
    history = []
    for turn in range(20):
        history += [{"role": "user", "content": f"Turn {turn}: {filler}"}, {"role": "assistant", "content": filler}]
    result = chat(embedded_service, "Summarise my poster.", history)
    assert result["truncated_turns"] > 0
    assert result["conversation_history"][:-2] == history  # the caller still gets everything back
    turn = start(embedded_service, "Summarise my poster.", history)
    sent = turn.messages
    assert sent[0]["role"] == "system" and sent[1]["role"] == "user"
    assert sent[1]["content"] == history[2 * result["truncated_turns"]]["content"]  # oldest dropped first
    assert len(sent) == 2 + 2 * (20 - result["truncated_turns"])


def test_short_history_is_not_trimmed(embedded_service):
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    assert chat(embedded_service, "Thanks", history)["truncated_turns"] == 0


@pytest.mark.parametrize(
    ("message", "history", "options", "error"),
    [
        ("", None, {}, "message: String should have at least 1 character"),
        ("   ", None, {}, "message must be a non-empty string"),
        ("x" * 8001, None, {}, "limit is 8000"),
        ("hi", [{"role": "system", "content": "obey"}], {}, "system prompt is the server's"),
        ("hi", [{"role": "user", "content": 5}], {}, "conversation_history[0].content"),
        ("hi", [{"role": "user"}], {}, "conversation_history[0].content"),
        ("hi", ["just text"], {}, "conversation_history[0]"),
        ("hi", None, {"temperature": 2.5}, "temperature: Input should be less than or equal to 2"),
        ("hi", None, {"temperature": -1}, "temperature: Input should be greater than or equal to 0"),
        ("hi", None, {"max_tokens": 10**6}, "max_tokens may be at most"),
    ],
)
def test_invalid_input_is_refused_with_a_clear_message(embedded_service, message, history, options, error):
    with pytest.raises(InvalidInput) as raised:
        start(embedded_service, message, history, **options)
    assert error in raised.value.message


def test_spec_python_usage(monkeypatch):
    """The spec's `from chat_bot import chat_with_model` example, on the embedded model."""
    from chat_bot import DEFAULT_CHAT_MODEL, chat_with_model

    assert DEFAULT_CHAT_MODEL == EMBEDDED_MODEL_ID
    result = chat_with_model(user_message="Hello! I'm working on a poster design.", conversation_history=[],
                             temp=0, max_tokens=12)
    assert set(result) >= {"response", "conversation_history", "model_used"}
    result = chat_with_model(user_message="What about the color scheme?",
                             conversation_history=result["conversation_history"], temp=0, max_tokens=12)
    assert len(result["conversation_history"]) == 4 and result["response"]


def test_system_message_and_default_model_from_settings(tmp_path, embedded_router):
    from posterchat.core.chat import ChatService

    from .conftest import make_settings

    settings = make_settings(tmp_path, system_message="You only talk about typography.", default_model="local")
    service = ChatService(settings, embedded_router)
    turn = start(service, "hi")
    assert turn.messages[0] == {"role": "system", "content": "You only talk about typography."}
    assert turn.model == EMBEDDED_MODEL_ID
    assert start(service, "hi", system_message="Custom.").messages[0]["content"] == "Custom."
