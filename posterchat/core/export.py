"""Conversations as files: JSON, Markdown (each message's metadata in a comment) and OpenAI fine-tuning JSONL.

Fine-tuning rules (OpenAI chat format, one JSON object per line):
- every example starts with the system message, then alternates user/assistant and ends with an assistant message;
  stored messages that break the alternation (or answers left empty) are dropped with their turn;
- by default a conversation is one example; answers rated thumbs-down stay as context but carry `"weight": 0`,
  so the model is not trained to repeat them; a conversation with nothing left to learn from is skipped;
- with `only_liked`, each thumbs-up answer becomes one example: the conversation up to and including it, where
  only that answer is learnt (`"weight": 1`) and every earlier answer is context (`"weight": 0`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

FORMATS = {  # format: (Content-Type, file extension)
    "json": ("application/json", "json"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "jsonl": ("application/jsonl; charset=utf-8", "jsonl"),
}
JSON_FORMAT = "posterchat.conversation"
LIKED, DISLIKED = 1, -1

_NEEDS_ESCAPE = re.compile(r"^(\\*<!-- posterchat:)", re.MULTILINE)
_META = ("id", "title", "model", "created_at", "updated_at", "poster")
_FEEDBACK_MARK = {LIKED: " 👍", DISLIKED: " 👎"}


def filename(conversation_id: str, fmt: str) -> str:
    """The download name for a conversation in a format."""
    return f"conversation-{conversation_id}.{FORMATS[fmt][1]}"


def render(conversation: dict[str, Any], fmt: str, system_message: str) -> str:
    """A stored conversation (as ConversationStore.get returns it) in `fmt`."""
    if fmt == "json":
        return to_json(conversation)
    if fmt == "markdown":
        return to_markdown(conversation)
    return to_jsonl(conversation_examples(conversation, system_message))


# JSON


def to_json(conversation: dict[str, Any]) -> str:
    """The conversation and all its messages, as one JSON document."""
    body = {"format": JSON_FORMAT, "version": 1, **{k: conversation.get(k) for k in _META},
            "messages": conversation["messages"]}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


# Markdown: readable, with each message's metadata in an HTML comment so the file reads back exactly.


def _comment(kind: str, data: dict[str, Any]) -> str:
    # ">" only occurs inside JSON strings, so escaping it keeps the JSON valid and the comment closed
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace(">", "\\u003e")
    return f"<!-- posterchat:{kind} {payload} -->"


def to_markdown(conversation: dict[str, Any]) -> str:
    """A Markdown document: a heading per message, the text as written, metadata in comments."""
    title = " ".join((conversation.get("title") or "Conversation").split())
    parts = [f"# {title}\n\n", _comment("conversation", {k: conversation.get(k) for k in _META}), "\n\n"]
    for message in conversation["messages"]:
        heading = f"### {message['role'].capitalize()}{_FEEDBACK_MARK.get(message.get('feedback'), '')}"
        text = _NEEDS_ESCAPE.sub(r"\\\1", message["content"])
        meta = {k: v for k, v in message.items() if k != "content"}
        parts += [_comment("message", meta), "\n", heading, "\n\n", text, "\n\n"]
    return "".join(parts)


# Fine-tuning JSONL


def turns(messages: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(user, assistant) pairs in order; a message that breaks the alternation is dropped with its turn."""
    pairs, pending = [], None
    for message in messages:
        if message["role"] == "user":
            pending = message if message["content"].strip() else None
        elif message["role"] == "assistant" and pending is not None:
            if message["content"].strip():
                pairs.append((pending, message))
            pending = None
    return pairs


def example(system_message: str, pairs: list[tuple[dict[str, Any], dict[str, Any]]],
            weights: list[int] | None = None) -> dict[str, Any]:
    """One fine-tuning example: system, then the turns; `weights` marks which answers are learnt."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_message}]
    for index, (user, answer) in enumerate(pairs):
        messages.append({"role": "user", "content": user["content"]})
        assistant = {"role": "assistant", "content": answer["content"]}
        if weights is not None:
            assistant["weight"] = weights[index]
        messages.append(assistant)
    return {"messages": messages}


def conversation_examples(conversation: dict[str, Any], system_message: str, *,
                          only_liked: bool = False) -> list[dict[str, Any]]:
    """The fine-tuning examples one conversation yields (see the module's rules)."""
    pairs = turns(conversation["messages"])
    ratings = [answer.get("feedback") for _, answer in pairs]
    if only_liked:
        return [example(system_message, pairs[:i + 1], [0] * i + [1])
                for i, rating in enumerate(ratings) if rating == LIKED]
    if not pairs or all(rating == DISLIKED for rating in ratings):
        return []
    weights = [0 if rating == DISLIKED else 1 for rating in ratings] if DISLIKED in ratings else None
    return [example(system_message, pairs, weights)]


def to_jsonl(examples: Iterable[dict[str, Any]]) -> str:
    """Examples as JSON Lines."""
    return "".join(jsonl_lines(examples))


def jsonl_lines(examples: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each example as one line of JSON."""
    for item in examples:
        yield json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


def training_examples(conversations: Iterable[dict[str, Any]], system_message: str, *,
                      only_liked: bool = False) -> Iterator[dict[str, Any]]:
    """Every example from many conversations, in order."""
    for conversation in conversations:
        yield from conversation_examples(conversation, system_message, only_liked=only_liked)
