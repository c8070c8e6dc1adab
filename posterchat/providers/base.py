"""The provider interface: messages in, a stream of text chunks out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Usage:
    """Token counts for one completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class Chunk:
    """A piece of the answer; the last one may carry usage, a finish reason or tool calls."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


@dataclass
class GenerationParams:
    """What to generate: sampling settings and limits for one call."""

    model: str
    temperature: float = 0.7
    max_tokens: int = 512
    timeout: float = 60.0
    tools: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(ABC):
    """Turns chat messages into a stream of Chunks."""

    name: ClassVar[str] = "provider"
    supports_tools: ClassVar[bool] = False
    runs_in_process: ClassVar[bool] = False

    @abstractmethod
    def stream(self, messages: list[dict[str, Any]], params: GenerationParams) -> AsyncIterator[Chunk]:
        """Yield the answer as it is generated; closing the iterator stops generation."""

    @abstractmethod
    def count_tokens(self, text: str, model: str) -> int:
        """Tokens `text` takes for `model`, exact where the tokenizer is at hand, else a safe overestimate."""

    def context_window(self, model: str) -> int:
        """How many tokens `model` sees at once."""
        return 128_000

    def queue_depth(self) -> int:
        """Callers waiting for this provider; 0 where calls do not queue."""
        return 0

    def is_ready(self) -> bool:
        """Whether the provider can answer now without a slow start."""
        return True

    async def aclose(self) -> None:
        """Release connections or loaded models."""
