"""OpenAI's Responses API on the Chat Completions path: a response's input (after the conversation of its
`previous_response_id`) and instructions become a Chat Completions request answered by `completion_turn`, so
grounding, preferences, limits, retries and fallbacks are the same; the answer becomes a response object, its
stream the Responses events, and a stored response the start of the next one. Requests and responses are dicts
here, checked at the edge (web/schemas/responses.py)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound, PosterchatError, RateLimited
from ..providers import Usage
from ..store import Store
from . import preferences
from .chat import ChatService
from .completions import completion_turn
from .grounding import Grounding
from .retry import RetryPolicy
from .turn import Turn, message_text

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}  # finish_reason → reason
CHAT_PARAMS = {"messages": "input", "max_tokens": "max_output_tokens"}  # Chat Completions' names → Responses'
Record = Callable[[Session | None, dict[str, Any]], None]


def new_id(prefix: str) -> str:
    """An unguessable id in OpenAI's style (`resp_…`, `msg_…`)."""
    return f"{prefix}_{secrets.token_hex(24)}"


@dataclass
class ResponseTurn:
    """A response under way: the Chat Completions turn that answers it, and what its response object echoes."""

    body: dict[str, Any]
    turn: Turn
    grounding: Grounding
    history: list[dict[str, Any]]  # the conversation before the answer: earlier responses' and this input
    id: str = field(default_factory=lambda: new_id("resp"))
    message_id: str = field(default_factory=lambda: new_id("msg"))
    created_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def stored(self) -> bool:
        return self.body.get("store") is not False


async def begin(service: ChatService, store: Store, owner: str, body: dict[str, Any],
                prefs: preferences.Preferences | None, policy: RetryPolicy) -> ResponseTurn:
    """The turn for a Responses request body (already checked), continuing the owner's previous response."""
    cap = service.settings.max_tokens_cap
    if (body.get("max_output_tokens") or 0) > cap:
        raise InvalidInput(f"max_output_tokens may be at most {cap}", param="max_output_tokens")
    history = [*await _earlier(store, owner, body.get("previous_response_id")), *input_messages(body["input"])]
    try:
        turn, grounding = completion_turn(service, chat_request(body, history), prefs, policy)
    except InvalidInput as exc:
        exc.param = CHAT_PARAMS.get(exc.param, exc.param)
        raise
    return ResponseTurn(body, turn, grounding, history)


async def _earlier(store: Store, owner: str, response_id: str | None) -> list[dict[str, Any]]:
    """The conversation through the owner's response `response_id` (none without one)."""
    if response_id is None:
        return []
    found = await store.read(store.responses.get, owner, response_id)
    if found is None:
        raise NotFound(f"Previous response with id {response_id!r} not found.", param="previous_response_id")
    return found.messages


async def stored(store: Store, owner: str, response_id: str) -> dict[str, Any]:
    """The owner's stored response object; NotFound for any other id."""
    found = await store.read(store.responses.get, owner, response_id)
    if found is None:
        raise NotFound(f"Response with id {response_id!r} not found.", param="response_id")
    return found.body


def input_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items as Chat Completions messages, their text parts joined."""
    return [{"role": item["role"], "content": message_text(item)} for item in items]


def chat_request(body: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The Chat Completions request for a response: `instructions` first, as a system message."""
    instructions = body.get("instructions")
    request = {
        "model": body.get("model"), "temperature": body.get("temperature"), "top_p": body.get("top_p"),
        "max_tokens": body.get("max_output_tokens"), "user": body.get("user"),
        "messages": [{"role": "system", "content": instructions}, *history] if instructions else history,
    }
    return {name: value for name, value in request.items() if value is not None}


def status(turn: Turn) -> str:
    """`incomplete` when the answer was cut short (by max_output_tokens or a content filter)."""
    return "incomplete" if turn.finish_reason in INCOMPLETE else "completed"


def finish(rt: ResponseTurn) -> dict[str, Any]:
    """The response object of a turn that has answered."""
    return response_object(rt, status(rt.turn), text=rt.turn.answer, usage=rt.turn.usage())


def failure(exc: PosterchatError | None, message: str) -> dict[str, str]:
    """The response's `error` for a turn that failed after its first words (OpenAI's codes)."""
    return {"code": "rate_limit_exceeded" if isinstance(exc, RateLimited) else "server_error", "message": message}


def response_object(rt: ResponseTurn, state: str, *, text: str | None = None, usage: Usage | None = None,
                    error: dict[str, str] | None = None) -> dict[str, Any]:
    """The response object in state `state` (in_progress, completed, incomplete or failed)."""
    body, request = rt.body, rt.turn.request
    reason = INCOMPLETE.get(rt.turn.finish_reason or "") if state == "incomplete" else None
    item_state = "completed" if state == "completed" else "incomplete"
    obj = {
        "id": rt.id, "object": "response", "created_at": rt.created_at, "status": state,
        "completed_at": int(time.time()) if state == "completed" else None, "background": False, "error": error,
        "incomplete_details": {"reason": reason} if reason else None, "instructions": body.get("instructions"),
        "max_output_tokens": request.get("max_tokens"), "metadata": body.get("metadata") or {},
        "model": rt.turn.model, "output": [] if text is None else [output_message(rt.message_id, text, item_state)],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"), "store": rt.stored,
        "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "text": {"format": {"type": "text"}}, "tool_choice": body.get("tool_choice") or "auto", "tools": [],
        "truncation": "disabled", "usage": usage_object(usage) if usage else None, "user": body.get("user"),
    }
    if rt.grounding.facts and state != "in_progress":  # a posterchat extra, as on /v1/chat/completions
        obj["facts"] = [fact.model_dump(mode="json") for fact in rt.grounding.facts]
    return obj


def output_message(message_id: str, text: str, state: str) -> dict[str, Any]:
    """The assistant's message output item, with its text as one part."""
    return {"type": "message", "id": message_id, "status": state, "role": "assistant",
            "content": [text_part(text)]}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def usage_object(usage: Usage) -> dict[str, Any]:
    """Chat Completions' token counts in the Responses shape."""
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total_tokens}


async def save(store: Store, owner: str, rt: ResponseTurn, response: dict[str, Any],
               record: Record | None = None) -> None:
    """Store the response unless `store` was false, with the conversation through its answer; `record(session,
    response)` (an Idempotency-Key's answer) is written in the same transaction."""
    also = None if record is None else (lambda session: record(session, response))
    if not rt.stored:
        if also is not None:
            await to_thread.run_sync(also, None)
        return
    messages = [*rt.history, {"role": "assistant", "content": rt.turn.answer}]
    await to_thread.run_sync(store.responses.add, owner, response, messages, also)


class Events:
    """The Responses stream's events for one response, each numbered in order (`sequence_number`)."""

    def __init__(self, shell: dict[str, Any], message_id: str):
        self.shell = shell  # the response object while in progress
        self.message_id = message_id
        self.sequence = 0

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.sequence += 1
        return {"type": kind, "sequence_number": self.sequence - 1, **fields}

    def _at(self, **fields: Any) -> dict[str, Any]:
        return {"item_id": self.message_id, "output_index": 0, "content_index": 0, **fields}

    def opening(self) -> list[dict[str, Any]]:
        """From response.created to the empty text part the deltas fill."""
        item = {**output_message(self.message_id, "", "in_progress"), "content": []}
        return [self._event("response.created", response=self.shell),
                self._event("response.in_progress", response=self.shell),
                self._event("response.output_item.added", output_index=0, item=item),
                self._event("response.content_part.added", **self._at(part=text_part("")))]

    def delta(self, text: str) -> dict[str, Any]:
        return self._event("response.output_text.delta", **self._at(delta=text, logprobs=[]))

    def closing(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        """The finished text, part and item, then response.completed (or response.incomplete when cut short)."""
        item = response["output"][0]
        part = item["content"][0]
        return [self._event("response.output_text.done", **self._at(text=part["text"], logprobs=[])),
                self._event("response.content_part.done", **self._at(part=part)),
                self._event("response.output_item.done", output_index=0, item=item),
                self._event(f"response.{response['status']}", response=response)]

    def failed(self, response: dict[str, Any]) -> dict[str, Any]:
        return self._event("response.failed", response=response)


def shell(rt: ResponseTurn) -> dict[str, Any]:
    """The response object while it is being answered."""
    return response_object(rt, "in_progress")


def replayed(response: dict[str, Any]) -> list[dict[str, Any]]:
    """A finished response's whole stream again (an Idempotency-Key's repeat): its text as one delta."""
    item = response["output"][0]
    events = Events({**response, "status": "in_progress", "output": [], "usage": None, "completed_at": None,
                     "incomplete_details": None}, item["id"])
    return [*events.opening(), events.delta(item["content"][0]["text"]), *events.closing(response)]
