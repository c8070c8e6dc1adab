"""What a chat turn is asked with, its shape checked once by pydantic and its size against the settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..config import Settings
from ..errors import InvalidInput
from ..facts import Fact
from ..poster import Finding, Poster
from ..providers import Usage


class Strict(BaseModel):
    """Unknown fields are an error, and so are values of the wrong JSON type (true for 1, "1" for 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class HistoryMessage(Strict):
    """One earlier message of the conversation; the system prompt is the server's, so no `system` role."""

    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(description="What was said.")


class ChatInput(Strict):
    """One turn as the Python API, the CLI and /chat ask for it."""

    message: str = Field(min_length=1, description="The user's new message.")
    conversation_history: list[HistoryMessage] = Field(default_factory=list,
                                                       description="Earlier messages, oldest first.")
    model: str | None = Field(None, min_length=1, max_length=200)
    temperature: float | None = Field(None, ge=0, le=2, description="None: the caller's preference, else 0.7.")
    max_tokens: int | None = Field(None, ge=1)
    system_message: str | None = None
    poster: Poster | None = None

    @classmethod
    def parse(cls, **fields: Any) -> ChatInput:
        """Validate fields from Python callers; a mistake is InvalidInput naming the field."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise invalid(exc) from None


def invalid(exc: ValidationError, root: str = "") -> InvalidInput:
    """The first problem pydantic found, as one readable InvalidInput naming the field."""
    first = exc.errors()[0]
    where = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    where = where.removeprefix(".") or "body"
    hint = " (roles are 'user' or 'assistant'; the system prompt is the server's)" if where.endswith("role") else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    return InvalidInput(f"{where}: {message}{hint}", param=where)


def check_limits(chat: ChatInput, settings: Settings) -> None:
    """The size limits the settings put on a turn (the shape was checked by ChatInput)."""
    if not chat.message.strip():
        raise InvalidInput("message must be a non-empty string", param="message")
    if len(chat.message) > settings.max_message_chars:
        raise InvalidInput(f"message is {len(chat.message)} characters long; the limit is {settings.max_message_chars}",
                           param="message")
    if "\x00" in chat.message or any("\x00" in m.content for m in chat.conversation_history):
        raise InvalidInput("the text contains a NUL character (U+0000), which cannot be stored", param="message")
    if len(chat.conversation_history) > settings.max_history_entries:
        raise InvalidInput(f"conversation_history has {len(chat.conversation_history)} entries; the limit is "
                           f"{settings.max_history_entries}", param="conversation_history")
    if sum(len(m.content) for m in chat.conversation_history) > settings.max_history_chars:
        raise InvalidInput(f"conversation_history is longer than {settings.max_history_chars} characters in total",
                           param="conversation_history")
    if chat.max_tokens is not None and chat.max_tokens > settings.max_tokens_cap:
        raise InvalidInput(f"max_tokens may be at most {settings.max_tokens_cap}", param="max_tokens")


class ChatRequest(Strict):
    """POST /chat: the spec's fields, plus stored conversations and streaming."""

    message: str | None = Field(None, min_length=1, description="The user's new message (optional with regenerate).",
                                examples=["Hello! I need help with my poster design."])
    conversation_history: list[HistoryMessage] | None = Field(
        None, description="Earlier messages, when the client keeps the conversation itself (the spec's way).")
    conversation_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="Continue a stored conversation; omit both this and conversation_history to start one.")
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    model: str | None = Field(None, min_length=1, max_length=200, description="Model id; default from settings.")
    max_tokens: int | None = Field(None, ge=1, description="Longest answer in tokens.")
    stream: bool = Field(False, description="Answer with Server-Sent Events: delta…, then done (or error).")
    regenerate: bool = Field(False, description="Replace the last turn of the stored conversation with a new answer.")
    poster: Poster | None = Field(None, description="The poster being worked on; measured, and kept with a stored "
                                                     "conversation (later turns reuse the latest one).")
    include_history: bool = Field(
        True, description="false: conversation_history in the answer holds only this turn. With a stored "
                          "conversation the server then reads only the newest messages the model can see, so a "
                          "turn costs the same however long the conversation (GET /conversations/{id} has it all).")

    @model_validator(mode="after")
    def _message_or_regenerate(self) -> ChatRequest:
        if self.message is None and not self.regenerate:
            raise ValueError("message is required")
        return self

    def chat(self, message: str | None = None, history: list[HistoryMessage] | None = None) -> ChatInput:
        """The turn this asks for; the request was validated, so this is not validated again."""
        return ChatInput.model_construct(
            message=message or self.message, conversation_history=history if history is not None else [],
            model=self.model,
            temperature=self.temperature if "temperature" in self.model_fields_set else None,  # else preferences
            max_tokens=self.max_tokens, system_message=None, poster=self.poster)


class Reference(BaseModel):
    """A knowledge-base entry an answer used, with its source."""

    id: str
    title: str
    text: str
    source: str
    url: str = Field(description="Where the fact comes from.")


class ChatResult(BaseModel):
    """A finished turn: the spec's response, conversation_history and model_used, and what else posterchat knows."""

    response: str
    conversation_history: list[HistoryMessage]
    model_used: str
    conversation_id: str | None = None
    message_id: int | None = Field(None, description="Id of the stored answer, for feedback.")
    truncated_turns: int = Field(0, description="Oldest turns left out to fit the model's context.")
    usage: Usage
    design_notes: list[Finding] = Field([], description="Measured findings on the poster, each with a fix.")
    facts: list[Fact] = Field([], description="Facts measured from the message (contrast, paper sizes, text size "
                                              "for a distance, conversions, resolution); the answer opens with them.")
    references: list[Reference] = Field([], description="Sourced design knowledge the answer drew on.")
    fallback_from: str | None = Field(None, description="The model that failed before this one answered.")
