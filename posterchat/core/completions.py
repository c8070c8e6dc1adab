"""OpenAI Chat Completions through posterchat: the client's request passes through, with routing, the server's
system prompt where the client sent none, the caller's preferences, posterchat's reference notes, and the size
limits. What the model answers comes back as it is: the answer's lead and guard are /chat's (core/chat.py)."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from . import preferences
from .chat import ChatService
from .grounding import Grounding
from .retry import RetryPolicy
from .turn import Turn, message_text

PROMPT_ROLES = ("system", "developer")


def completion_turn(service: ChatService, body: dict[str, Any], prefs: preferences.Preferences | None,
                    policy: RetryPolicy) -> tuple[Turn, Grounding]:
    """The turn for a Chat Completions request body (already checked against the request model), and what
    posterchat measured and retrieved for its last user message (given to the model as reference notes)."""
    settings = service.settings
    prefs = prefs or preferences.Preferences()
    _check_sizes(body, settings)
    model = service.router.canonical(body.get("model") or prefs.default_model)
    request = {**body, "model": model}
    if request.get("temperature") is None and prefs.temperature is not None:
        request["temperature"] = prefs.temperature
    if prefs.answer_length and request.get("max_tokens") is None and request.get("max_completion_tokens") is None:
        # the caller's own preference; OpenAI's current name for the limit, which its reasoning models require
        limit = "max_tokens" if service.router.is_local(model) else "max_completion_tokens"
        request[limit] = min(preferences.LENGTHS[prefs.answer_length][0], settings.max_tokens_cap)
    asked = next((message_text(m) for m in reversed(body["messages"]) if m.get("role") == "user"), "")
    grounding = service.ground(asked)
    extra = "\n\n".join(part for part in (preferences.instructions(prefs), grounding.context()) if part)
    request["messages"] = _with_system(body["messages"], settings.system_message, extra or None)
    request.pop("stream", None)  # the provider's stream() or complete() decides; stream_options go with the former
    return service.turn(service.router.route(model), request, policy), grounding


def _with_system(messages: list[dict[str, Any]], default: str, extra: str | None) -> list[dict[str, Any]]:
    """The client's messages with the server's system prompt first if they have none, and `extra` (the caller's
    own preferences) added to the first system message."""
    first = next((i for i, message in enumerate(messages) if message.get("role") in PROMPT_ROLES), None)
    if first is None:
        return [{"role": "system", "content": "\n\n".join(part for part in (default, extra) if part)}, *messages]
    if not extra or not isinstance(messages[first].get("content"), str):
        return messages
    updated = {**messages[first], "content": f"{messages[first]['content']}\n\n{extra}"}
    return [*messages[:first], updated, *messages[first + 1:]]


def _check_sizes(body: dict[str, Any], settings) -> None:
    """The limits posterchat owns: answer length, number and size of messages, no NUL characters."""
    for name in ("max_tokens", "max_completion_tokens"):
        if (body.get(name) or 0) > settings.max_tokens_cap:
            raise InvalidInput(f"{name} may be at most {settings.max_tokens_cap}", param=name)
    texts = [message_text(message) for message in body["messages"]]
    *earlier, last = texts
    if len(last) > settings.max_message_chars:
        raise InvalidInput(f"the last message is {len(last)} characters long; the limit is "
                           f"{settings.max_message_chars}", param="messages")
    if len(earlier) > settings.max_history_entries:
        raise InvalidInput(f"messages has {len(earlier)} entries before the last; the limit is "
                           f"{settings.max_history_entries}", param="messages")
    if sum(map(len, earlier)) > settings.max_history_chars:
        raise InvalidInput(f"the messages before the last are longer than {settings.max_history_chars} characters "
                           "in total", param="messages")
    if any("\x00" in text for text in texts):
        raise InvalidInput("the text contains a NUL character (U+0000), which cannot be stored", param="messages")
