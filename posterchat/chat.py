"""The chat service: validate, fit the context, generate with retries, and report the turn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any, Protocol

from pydantic import ValidationError

from . import portal
from .config import Settings, get_settings
from .context import trim_history
from .errors import InvalidInput, PosterchatError
from .messages import validate_history, validate_message, validate_temperature
from .poster import CheckOptions
from .poster.assistant import PosterView
from .providers import Chunk, GenerationParams, Provider, Router, Usage
from .retry import retrying

log = logging.getLogger("posterchat.chat")

MAX_TOOL_ROUNDS = 3  # model calls per turn when it asks for tools; the last one must answer


@dataclass
class ChatResult:
    """A finished turn, in the spec's shape plus extras."""

    response: str
    conversation_history: list[dict[str, str]]
    model_used: str
    truncated_turns: int = 0
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    design_notes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The spec's response object: response, conversation_history, model_used, and extras."""
        return {
            "response": self.response,
            "conversation_history": self.conversation_history,
            "model_used": self.model_used,
            "truncated_turns": self.truncated_turns,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
            "design_notes": self.design_notes,
        }


class ToolBox(Protocol):
    """Functions the model may call: their OpenAI definitions, and running one to a JSON string."""

    definitions: list[dict[str, Any]]

    def call(self, name: str, arguments: str) -> str: ...


@dataclass
class Turn:
    """One exchange being generated: iterate `stream()`, then read `result()`."""

    model: str
    provider: Provider
    user_message: str
    history: list[dict[str, str]]
    messages: list[dict[str, Any]]
    params: GenerationParams
    truncated_turns: int
    max_retries: int
    retry_wait: float
    max_retry_after: float
    on_retry: Callable[[PosterchatError], None] | None = None
    on_error: Callable[[PosterchatError], None] | None = None
    tools: ToolBox | None = None
    poster: PosterView | None = None
    tool_rounds: int = 0
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None

    async def stream(self) -> AsyncIterator[str]:
        """Yield the answer's text as it arrives, running any tools the model calls in between."""
        try:
            for _ in range(MAX_TOOL_ROUNDS):
                calls = None
                async for chunk in self._attempt():
                    calls = chunk.tool_calls or calls
                    if chunk.text:
                        self.parts.append(chunk.text)
                        yield chunk.text
                if not (calls and self.tools):
                    return
                self._answer_tool_calls(calls)
        except PosterchatError as exc:
            if self.on_error:
                self.on_error(exc)
            raise

    async def _attempt(self) -> AsyncIterator[Chunk]:
        """One model call with retries before the first chunk; usage adds up over calls."""
        chunks = retrying(
            lambda: self.provider.stream(self.messages, self.params), max_retries=self.max_retries,
            retry_wait=self.retry_wait, max_retry_after=self.max_retry_after, on_retry=self.on_retry,
        )
        async for chunk in chunks:
            if chunk.usage:
                self.usage = chunk.usage if self.usage is None else self.usage + chunk.usage
            if chunk.finish_reason:
                self.finish_reason = chunk.finish_reason
            yield chunk

    def _answer_tool_calls(self, calls: list[dict[str, Any]]) -> None:
        """Append the model's tool calls and their results; the last round offers no tools, forcing an answer."""
        self.messages = [
            *self.messages, {"role": "assistant", "content": None, "tool_calls": calls},
            *({"role": "tool", "tool_call_id": call["id"],
               "content": self.tools.call(call["function"]["name"], call["function"]["arguments"])}
              for call in calls),
        ]
        self.tool_rounds += 1
        if self.tool_rounds >= MAX_TOOL_ROUNDS - 1:
            self.params = replace(self.params, tools=None)

    async def finish(self, on_token: Callable[[str], None] | None = None) -> ChatResult:
        """Generate the rest of the answer and return the result."""
        async for text in self.stream():
            if on_token:
                on_token(text)
        return self.result()

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self.parts)

    def result(self) -> ChatResult:
        """The finished turn; usage is estimated where the provider reported none."""
        usage = self.usage or Usage(
            sum(self.provider.count_tokens(m.get("content") or "", self.model) for m in self.messages),
            self.provider.count_tokens(self.text, self.model),
        )
        history = [*self.history, {"role": "user", "content": self.user_message},
                   {"role": "assistant", "content": self.text}]
        notes = [f.model_dump(mode="json") for f in self.poster.findings] if self.poster else []
        return ChatResult(self.text, history, self.model, self.truncated_turns, usage, self.finish_reason or "stop",
                          notes)


class ChatService:
    """Turns a message and its history into an answer from the routed model."""

    def __init__(self, settings: Settings | None = None, router: Router | None = None):
        self.settings = settings or get_settings()
        self.router = router or Router(self.settings)
        self.on_retry: Callable[[PosterchatError], None] | None = None
        self.on_error: Callable[[PosterchatError], None] | None = None  # a turn failed for good (metrics)

    def start(
        self,
        message: Any,
        history: Any = None,
        *,
        model: str | None = None,
        temperature: Any = 0.7,
        max_tokens: int | None = None,
        system_message: str | None = None,
        context: str | None = None,
        max_retries: int | None = None,
        retry_wait: float | None = None,
        poster: PosterView | None = None,
        trusted_history: bool = False,
    ) -> Turn:
        """Validate the request, fit it into the model's context and prepare the turn.

        `trusted_history`: the history comes from the store, already plain {role, content} dicts, so it is not
        validated again (that costs time in proportion to its length, on every turn of a long conversation).
        """
        settings = self.settings
        message = validate_message(message, settings)
        history = list(history) if trusted_history else validate_history(history, settings)
        temperature = validate_temperature(temperature)
        max_tokens = self._max_tokens(max_tokens)
        model, provider = self.router.resolve(model)
        system = system_message if system_message is not None else settings.system_message
        for extra in (context, poster.summary() if poster else None):
            if extra:
                system = f"{system}\n\n{extra}"
        count = partial(provider.count_tokens, model=model)
        kept, truncated = trim_history(
            history, context_window=provider.context_window(model), reserved=max_tokens,
            fixed=[system, message], count=count,
        )
        messages = [{"role": "system", "content": system}, *kept, {"role": "user", "content": message}]
        tools = poster if provider.supports_tools else None
        params = GenerationParams(model=model, temperature=temperature, max_tokens=max_tokens,
                                  timeout=settings.request_timeout, tools=tools.definitions if tools else None)
        return Turn(
            model, provider, message, history, messages, params, truncated,
            max_retries=settings.max_retries if max_retries is None else max_retries,
            retry_wait=settings.retry_wait if retry_wait is None else retry_wait,
            max_retry_after=settings.max_retry_after, on_retry=self.on_retry, on_error=self.on_error, tools=tools,
            poster=poster,
        )

    def measure_poster(self, poster: dict[str, Any]) -> PosterView:
        """Check a poster with the configured viewing distance; an invalid one is InvalidInput."""
        try:
            return PosterView.measure(poster, CheckOptions(viewing_distance_m=self.settings.viewing_distance_m))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "poster"
            raise InvalidInput(f"poster {where}: {first['msg']}") from None

    def _max_tokens(self, max_tokens: Any) -> int:
        """The answer length: the request's, within the cap, or the default."""
        if max_tokens is None:
            return self.settings.max_tokens
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InvalidInput("max_tokens must be a positive whole number")
        if max_tokens > self.settings.max_tokens_cap:
            raise InvalidInput(f"max_tokens may be at most {self.settings.max_tokens_cap}")
        return max_tokens

    async def complete(self, message: Any, history: Any = None, *, on_token: Callable[[str], None] | None = None,
                       **options) -> ChatResult:
        """Run a whole turn and return its result."""
        return await self.start(message, history, **options).finish(on_token)


@lru_cache(maxsize=1)
def default_service() -> ChatService:
    """The process-wide service used by chat_with_model and the CLI."""
    service = ChatService()
    portal.close_at_exit(service.router.aclose)
    return service


def chat_with_model(
    user_message: str,
    conversation_history: list[dict[str, str]] | None = None,
    model: str | None = None,
    temp: float = 0.7,
    max_retries: int = 3,
    retry_wait: float = 1.0,
    *,
    max_tokens: int | None = None,
    system_message: str | None = None,
    poster: dict[str, Any] | None = None,
    on_token: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Send one message with its history; return the spec's {response, conversation_history, model_used}."""
    service = default_service()
    run = partial(
        service.complete, user_message, conversation_history, model=model, temperature=temp,
        max_retries=max_retries, retry_wait=retry_wait, max_tokens=max_tokens, system_message=system_message,
        poster=service.measure_poster(poster) if poster else None, on_token=on_token,
    )
    return portal.run(run).as_dict()
