"""An owner's preferences, and how they shape a turn: model, temperature, answer length, tone and brand kit."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from anyio import to_thread
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .config import Settings

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

# Names reach the system prompt, so they are single-line and plain: letters, digits, spaces and a little punctuation.
_PLAIN = re.compile(r"\w[\w .,&'()+/-]*")
_HEX = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")


def _plain(value: str) -> str:
    if not _PLAIN.fullmatch(value):
        raise ValueError("must be a plain name: letters, digits, spaces and . , & ' ( ) + / -")
    return value


def _hex(value: str) -> str:
    if not _HEX.fullmatch(value):
        raise ValueError("must be a CSS hex colour such as #E4572E or #FFF")
    return value


def _name(max_length: int) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
                     AfterValidator(_plain)]


FontName = _name(60)
ColourName = _name(40)
HexColour = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_hex)]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)  # no true for 1


class BrandColour(Strict):
    """A brand colour: CSS hex, optionally named."""

    hex: HexColour = Field(description="CSS hex colour: #RGB, #RGBA, #RRGGBB or #RRGGBBAA.", examples=["#E4572E"])
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


def turn_options(prefs: Preferences | None, settings: Settings, *, model: str | None = None,
                 temperature: float | None = None, max_tokens: int | None = None,
                 context: str | None = None, **options: Any) -> dict[str, Any]:
    """ChatService.start options: the request's own values win, then preferences, then the defaults."""
    prefs = prefs or Preferences()
    if max_tokens is None and prefs.answer_length:
        max_tokens = min(LENGTHS[prefs.answer_length][0], settings.max_tokens_cap)
    extra = instructions(prefs)
    return {
        **options,
        "model": model or prefs.default_model,
        "temperature": temperature if temperature is not None else (
            prefs.temperature if prefs.temperature is not None else DEFAULT_TEMPERATURE),
        "max_tokens": max_tokens,
        "context": "\n\n".join(part for part in (context, extra) if part) or None,
    }


async def load(store: Any, owner: str) -> Preferences | None:
    """The owner's stored preferences (see Store.read); None when they saved none."""
    if hasattr(store, "read"):
        return await store.read(store.preferences.get, owner)
    return await to_thread.run_sync(store.preferences.get, owner)
