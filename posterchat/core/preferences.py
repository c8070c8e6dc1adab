"""An owner's preferences, and how they shape a turn: model, temperature, answer length, tone and brand kit."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field, ValidationError

from ..config import Settings
from ..poster.schema import HexColor, plain_name
from ..store import Store
from .messages import ChatInput, Strict

log = logging.getLogger("posterchat.preferences")

DEFAULT_TEMPERATURE = 0.7

AnswerLength = Literal["short", "medium", "long"]
Tone = Literal["friendly", "professional", "playful", "concise"]

LENGTHS: dict[str, tuple[int, str]] = {
    "short": (150, "Keep answers short: two or three sentences, or a brief list."),
    "medium": (400, "Give answers of moderate length: a few short paragraphs at most."),
    "long": (1000, "Give thorough, detailed answers with concrete steps and examples."),
}
TONES = {
    "friendly": "Use a warm, friendly and encouraging tone.",
    "professional": "Use a clear, professional tone.",
    "playful": "Use a playful, lively tone while staying helpful.",
    "concise": "Be concise and direct; skip pleasantries.",
}

FontName = plain_name(60)
ColourName = plain_name(40)


class BrandColour(Strict):
    """A brand colour: CSS hex, optionally named."""

    hex: HexColor
    name: ColourName | None = Field(None, description="What the brand calls it.", examples=["Signal red"])


class BrandKit(Strict):
    """Colours and fonts the assistant should design with."""

    colours: list[BrandColour] = Field(default_factory=list, max_length=12)
    fonts: list[FontName] = Field(default_factory=list, max_length=6, description="Font family names, e.g. Inter.",
                                  examples=[["Inter", "Playfair Display"]])

    def describe(self) -> str:
        """The brand kit as a sentence or two for the system prompt."""
        parts = []
        if self.colours:
            listed = ", ".join(f"{c.name} ({c.hex.upper()})" if c.name else c.hex.upper() for c in self.colours)
            parts.append(f"Brand colours: {listed}.")
        if self.fonts:
            parts.append(f"Brand fonts: {', '.join(self.fonts)}.")
        if parts:
            parts.append("Prefer these in colour and typography suggestions.")
        return " ".join(parts)


class Preferences(Strict):
    """PUT /preferences: every field optional; a field left out means the server's default."""

    default_model: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[\w.:/@+-]+$",
                                      description="Model used when a request names none.")
    temperature: float | None = Field(None, ge=0, le=2, description="Temperature when a request names none.")
    answer_length: AnswerLength | None = Field(None, description="short, medium or long answers.")
    tone: Tone | None = Field(None, description="friendly, professional, playful or concise.")
    brand_kit: BrandKit | None = None


def instructions(prefs: Preferences) -> str | None:
    """Extra system-prompt text for these preferences, or None when they add nothing."""
    lines = []
    if prefs.answer_length:
        lines.append(LENGTHS[prefs.answer_length][1])
    if prefs.tone:
        lines.append(TONES[prefs.tone])
    if prefs.brand_kit and (kit := prefs.brand_kit.describe()):
        lines.append(kit)
    return "\n".join(lines) or None


def load(store: Store, owner: str) -> Preferences | None:
    """The owner's saved preferences (a small read: call it through Store.read); None when none are saved."""
    data = store.preferences.get(owner)
    if data is None:
        return None
    try:
        return Preferences.model_validate(data)
    except ValidationError:  # saved under older, looser rules: behave as if unset rather than fail every chat
        log.warning("ignoring stored preferences that no longer validate", extra={"owner": owner})
        return None


def save(store: Store, owner: str, prefs: Preferences) -> None:
    """Replace the owner's preferences."""
    store.preferences.put(owner, prefs.model_dump(mode="json", exclude_none=True))


def apply(chat: ChatInput, prefs: Preferences | None, settings: Settings) -> tuple[ChatInput, str | None]:
    """The turn with the request's own values first, then the preferences, then the defaults; and their
    instructions for the system prompt."""
    prefs = prefs or Preferences()
    max_tokens = chat.max_tokens
    if max_tokens is None:
        max_tokens = min(LENGTHS[prefs.answer_length][0], settings.max_tokens_cap) if prefs.answer_length \
            else settings.max_tokens
    temperature = chat.temperature
    if temperature is None:
        temperature = prefs.temperature if prefs.temperature is not None else DEFAULT_TEMPERATURE
    chat = chat.model_copy(update={"model": chat.model or prefs.default_model, "temperature": temperature,
                                   "max_tokens": max_tokens})
    return chat, instructions(prefs)
