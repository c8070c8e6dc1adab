"""The provider interface: an OpenAI-shaped Chat Completions request in, OpenAI-shaped chunks out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, computed_field

Request = dict[str, Any]  # a Chat Completions request body, as OpenAI documents it
ChunkDict = dict[str, Any]  # one `chat.completion.chunk`, as OpenAI documents it


class Usage(BaseModel):
    """Token counts for one completion, in OpenAI's usage shape."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0, **data: Any):
        super().__init__(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, **data)

    @computed_field
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    @classmethod
    def read(cls, usage: dict[str, Any] | None) -> Usage | None:
        """From OpenAI's usage object; None when there is none."""
        if not usage:
            return None
        return cls(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)


def first_choice(chunk: ChunkDict) -> dict[str, Any]:
    """The chunk's first choice, or {} (the usage chunk has none)."""
    choices = chunk.get("choices")
    return choices[0] if choices else {}


def delta_text(chunk: ChunkDict) -> str:
    """The answer text a chunk adds."""
    return (first_choice(chunk).get("delta") or {}).get("content") or ""


class Provider(ABC):
    """Turns Chat Completions requests into streams of chunks; capabilities are class attributes."""

    supports_tools: ClassVar[bool] = False
    runs_in_process: ClassVar[bool] = False
    # Request fields this provider cannot honour; a request that sets one is refused with a 400 naming it.
    unsupported: ClassVar[frozenset[str]] = frozenset()
    kind: ClassVar[str] = "provider"  # shown in /health and /v1/models

    @abstractmethod
    def stream(self, request: Request, *, timeout: float) -> AsyncIterator[ChunkDict]:
        """Yield the answer's chunks as generated, the last with `usage`; closing the iterator stops generation."""

    @abstractmethod
    async def complete(self, request: Request, *, timeout: float) -> dict[str, Any]:
        """The whole `chat.completion`, not streamed."""

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
