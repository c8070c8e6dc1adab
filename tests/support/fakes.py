"""Test doubles shared by the tests and the benchmarks: a scripted provider and a router that always picks it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from posterchat.config import Settings
from posterchat.providers import Provider, Router, Usage


def chunk(text: str = "", finish: str | None = None, **delta) -> dict:
    """One `chat.completion.chunk` with some text (or other delta fields) and maybe a finish reason."""
    delta = {"content": text, **delta} if text else delta
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class FakeProvider(Provider):
    """Yields scripted chunks and records every request, for testing plumbing."""

    kind = "fake"
    supports_tools = True

    def __init__(self, chunks=("Hello", " from", " fake"), *, usage=Usage(prompt_tokens=11, completion_tokens=3),
                 delay: float = 0.0, fail: Exception | None = None, context: int = 100_000):
        self.chunks = list(chunks)
        self.usage = usage
        self.delay = delay
        self.fail = fail
        self.context = context
        self.requests: list[dict] = []
        self.cancelled = 0

    @property
    def received(self) -> list[list[dict]]:
        """The messages of every request."""
        return [request["messages"] for request in self.requests]

    @property
    def params(self) -> list[SimpleNamespace]:
        """Every request, its fields as attributes."""
        return [SimpleNamespace(**{"tools": None, **request}) for request in self.requests]

    async def stream(self, request, *, timeout):
        self.requests.append(request)
        try:
            for text in self.chunks:
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield chunk(text) if isinstance(text, str) else text
            if self.fail:
                raise self.fail
            yield chunk(finish="stop")
            yield {**chunk(), "choices": [], "usage": self.usage.model_dump()}
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise

    async def complete(self, request, *, timeout):
        text = "".join([part async for part in self._texts(request)])
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": request["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": self.usage.model_dump()}

    async def _texts(self, request):
        async for item in self.stream(request, timeout=0):
            for choice in item.get("choices", ()):
                yield choice["delta"].get("content") or ""

    def count_tokens(self, text: str, model: str) -> int:
        return len(text) // 4 + 1

    def context_window(self, model: str) -> int:
        return self.context


class FakeRouter(Router):
    """Routes every model id to one provider."""

    def __init__(self, settings: Settings, provider: Provider):
        super().__init__(settings)
        self.provider = provider

    def resolve(self, model):
        return self.canonical(model), self.provider
