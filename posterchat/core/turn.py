"""One model call: routed, retried and falling back before its first chunk, its usage counted even when cut short."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from ..errors import InvalidInput, Overloaded, PosterchatError, RateLimited, UpstreamError
from ..providers import ChunkDict, Provider, Request, Usage, delta_text, first_choice
from .retry import RetryPolicy

log = logging.getLogger("posterchat.turn")


class TurnListener(Protocol):
    """Told what happens to turns (the metrics implement it)."""

    def retried(self, exc: PosterchatError) -> None: ...

    def failed(self, exc: PosterchatError) -> None: ...

    def fell_back(self, model: str, to: str, exc: PosterchatError) -> None: ...


def may_fall_back(exc: PosterchatError) -> bool:
    """Failures of the model server itself (down, busy, out of quota), not of the request."""
    return isinstance(exc, UpstreamError | RateLimited | Overloaded)


def check_supported(provider: Provider, request: Request) -> None:
    """A 400 naming the first field set in `request` that `provider` cannot honour."""
    for name in provider.unsupported:
        if request.get(name) not in (None, False, [], {}):
            raise InvalidInput(f"{name} is not supported by model {request.get('model')!r}", param=name)


class Turn:
    """A request for one answer, sent to the first route that answers; read chunks(), then the counts."""

    def __init__(self, route: list[tuple[str, Provider]], request: Request, *, policy: RetryPolicy,
                 timeout: float, listeners: tuple[TurnListener, ...] = (), longest: int = 4096,
                 optional: frozenset[str] = frozenset()):
        self.route = route
        self.optional = optional  # fields posterchat added itself: a fallback that cannot honour them goes without
        self.longest = longest  # the answer's length when the request sets no limit, for worst-case costs
        self.request = request
        self.policy = policy
        self.timeout = timeout
        self.listeners = listeners
        self.model, self.provider = route[0]
        self.fallback_from: str | None = None
        self.parts: list[str] = []
        self.reported: Usage | None = None
        self.finish_reason: str | None = None
        self.tool_calls: dict[int, dict[str, Any]] = {}
        check_supported(self.provider, {**request, "model": self.model})

    async def chunks(self) -> AsyncIterator[ChunkDict]:
        """The answer's chunks as the provider sends them; text, usage and tool calls are tallied on the way."""
        stream = await self._open(lambda provider, request: self.policy.open(
            lambda: provider.stream(request, timeout=self.timeout)))
        try:
            async for chunk in stream:
                self._tally(chunk)
                yield chunk
        except PosterchatError as exc:
            self._tell("failed", exc)
            raise
        finally:
            await stream.aclose()

    async def text(self) -> AsyncIterator[str]:
        """Only the answer's text, as it arrives."""
        async for chunk in self.chunks():
            if text := delta_text(chunk):
                yield text

    async def complete(self) -> dict[str, Any]:
        """The whole `chat.completion`, not streamed."""
        completion = await self._open(lambda provider, request: self.policy.call(
            lambda: provider.complete(request, timeout=self.timeout)))
        choice = first_choice(completion)
        message = choice.get("message") or {}
        if "\x00" in (message.get("content") or ""):
            message["content"] = message["content"].replace("\x00", "")
        self.parts.append(message.get("content") or "")
        self.reported = Usage.read(completion.get("usage"))
        self.finish_reason = choice.get("finish_reason")
        return completion

    async def _open(self, attempt):
        """`attempt(provider, request)` on each route in turn until one does not fail in a way a fallback helps."""
        for index, (model, provider) in enumerate(self.route):
            request = {**self.request, "model": model}
            try:
                if index:
                    for name in self.optional & provider.unsupported:
                        request.pop(name, None)
                    check_supported(provider, request)
                result = await attempt(provider, request)
            except PosterchatError as exc:
                if index + 1 == len(self.route) or not may_fall_back(exc):
                    self._tell("failed", exc)
                    raise
                following = self.route[index + 1][0]
                log.warning("model %s failed (%s); falling back to %s", model, exc.message, following)
                self._tell("fell_back", model, following, exc)
                self.fallback_from = self.fallback_from or model
                continue
            self.model, self.provider = model, provider
            return result
        raise AssertionError("a route is never empty")

    def _tally(self, chunk: ChunkDict) -> None:
        choice = first_choice(chunk)
        delta = choice.get("delta") or {}
        if text := delta.get("content"):
            if "\x00" in text:  # U+0000 cannot be stored (PostgreSQL text) and no answer needs it
                text = delta["content"] = text.replace("\x00", "")
            self.parts.append(text)
        for call in delta.get("tool_calls") or ():
            slot = self.tool_calls.setdefault(call.get("index", 0), {"id": "", "type": "function",
                                                                      "function": {"name": "", "arguments": ""}})
            slot["id"] = call.get("id") or slot["id"]
            if function := call.get("function"):
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
        self.finish_reason = choice.get("finish_reason") or self.finish_reason
        if usage := chunk.get("usage"):
            self.reported = Usage.read(usage)

    def _tell(self, event: str, *args) -> None:
        for listener in self.listeners:
            getattr(listener, event)(*args)

    @property
    def started(self) -> bool:
        """Whether the model began answering (only then has the turn used anything)."""
        return bool(self.parts or self.reported or self.tool_calls or self.finish_reason)

    @property
    def answer(self) -> str:
        """The answer so far."""
        return "".join(self.parts)

    def calls(self) -> list[dict[str, Any]]:
        """Whole tool calls the model asked for."""
        return [self.tool_calls[index] for index in sorted(self.tool_calls)]

    def worst(self) -> Usage:
        """The most this call can use: its prompt and the longest answer it allows."""
        prompt = sum(self.provider.count_tokens(message_text(m), self.model) for m in self.request.get("messages", ()))
        longest = self.request.get("max_completion_tokens") or self.request.get("max_tokens") or self.longest
        return Usage(prompt, longest * (self.request.get("n") or 1))

    def usage(self) -> Usage:
        """Tokens used: as the provider reported them, else counted from the prompt and the answer so far."""
        if self.reported is not None:
            return self.reported
        prompt = sum(self.provider.count_tokens(message_text(m), self.model) for m in self.request.get("messages", ()))
        answer = self.provider.count_tokens(self.answer, self.model) if self.parts else 0
        return Usage(prompt_tokens=prompt, completion_tokens=answer)


def message_text(message: dict[str, Any]) -> str:
    """A message's text, with text parts joined."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content if isinstance(part, dict))
    return content or ""
