"""Fitting a conversation into a model's context window, oldest turns dropped first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from ..errors import InvalidInput


class Said(Protocol):
    role: str
    content: str


M = TypeVar("M", bound=Said)

MESSAGE_OVERHEAD = 4  # role markers and separators a chat template adds per message
SAFETY_MARGIN = 16


def trim_history(
    history: Sequence[M],
    *,
    context_window: int,
    reserved: int,
    fixed: list[str],
    count: Callable[[str], int],
) -> tuple[list[M], int]:
    """Keep the newest whole turns that fit; return them and how many turns were left out."""
    budget = context_window - reserved - SAFETY_MARGIN - sum(count(text) + MESSAGE_OVERHEAD for text in fixed)
    if budget < 0:
        raise InvalidInput("The message is too long for the model's context window; shorten it or lower max_tokens.")
    start = len(history)
    for index in range(len(history) - 1, -1, -1):
        budget -= count(history[index].content) + MESSAGE_OVERHEAD
        if budget < 0:
            break
        start = index
    while start < len(history) and history[start].role != "user":
        start += 1  # a kept part begins with a user message, never half a turn
    dropped = history[:start]
    turns = sum(1 for message in dropped if message.role == "user") or (1 if dropped else 0)
    return list(history[start:]), turns
