"""Chat messages as callers send them, and their validation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .config import Settings
from .errors import InvalidInput


class HistoryMessage(BaseModel):
    """One earlier message of the conversation; the system prompt is the server's, so no `system` role."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(description="What was said.")


_HISTORY = TypeAdapter(list[HistoryMessage])


def validate_history(raw: Any, settings: Settings) -> list[dict[str, str]]:
    """Check a caller's history and return it as plain dicts (a new list; the caller's is untouched)."""
    if raw is None:
        return []
    try:
        history = _HISTORY.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "conversation_history" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        hint = " (roles are 'user' or 'assistant'; the system prompt is the server's)" if "role" in where else ""
        raise InvalidInput(f"{where}: {first['msg']}{hint}") from None
    if len(history) > settings.max_history_entries:
        raise InvalidInput(f"conversation_history has {len(history)} entries; the limit is {settings.max_history_entries}")
    if sum(len(m.content) for m in history) > settings.max_history_chars:
        raise InvalidInput(f"conversation_history is longer than {settings.max_history_chars} characters in total")
    return [{"role": m.role, "content": m.content} for m in history]


def validate_message(message: Any, settings: Settings) -> str:
    """Check the new user message."""
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("message must be a non-empty string")
    if len(message) > settings.max_message_chars:
        raise InvalidInput(f"message is {len(message)} characters long; the limit is {settings.max_message_chars}")
    return message


def validate_temperature(temperature: Any) -> float:
    """Temperature must be a number from 0 to 2."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise InvalidInput("temperature must be a number from 0 to 2")
    return float(temperature)
