"""The benchmark's questions: loading and checking questions.toml, choosing a subset, scoring an answer."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUESTIONS_FILE = Path(__file__).with_name("questions.toml")
CATEGORIES = ("wcag", "contrast", "paper", "print", "type", "layout", "colour", "formats", "poster")
FLAGS = re.IGNORECASE | re.DOTALL
_KEYS = {"id", "category", "question", "expect", "forbid", "poster", "source", "example", "note", "fg", "bg", "ratio"}


class QuestionsError(ValueError):
    """questions.toml is malformed; the message names the question and the field."""


@dataclass(frozen=True)
class Question:
    """One checkable question and what a correct answer must (and must not) say."""

    id: str
    category: str
    question: str
    expect: tuple[re.Pattern[str], ...]
    forbid: tuple[re.Pattern[str], ...] = ()
    poster: dict[str, Any] | None = None
    source: dict[str, str] = field(default_factory=dict)
    example: str | None = None
    note: str | None = None
    fg: str | None = None
    bg: str | None = None
    ratio: float | None = None


@dataclass(frozen=True)
class Verdict:
    """Whether an answer passed, which expected patterns it missed and which forbidden ones it hit."""

    passed: bool
    missing: tuple[str, ...]
    forbidden: tuple[str, ...]


def score(question: Question, answer: str) -> Verdict:
    """Pass when every `expect` pattern matches the answer and no `forbid` pattern does."""
    missing = tuple(p.pattern for p in question.expect if not p.search(answer))
    forbidden = tuple(p.pattern for p in question.forbid if p.search(answer))
    return Verdict(passed=not missing and not forbidden, missing=missing, forbidden=forbidden)


def load(path: Path = QUESTIONS_FILE) -> list[Question]:
    """Every question in the file, checked; QuestionsError names the first mistake."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise QuestionsError(f"{path}: {error}") from error
    posters = data.get("posters", {})
    entries = data.get("questions")
    if not isinstance(entries, list) or not entries:
        raise QuestionsError(f"{path}: no [[questions]]")
    questions = [_question(entry, posters, index) for index, entry in enumerate(entries)]
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise QuestionsError(f"question id {question.id!r} is used more than once")
        seen.add(question.id)
    return questions


def _question(entry: dict[str, Any], posters: dict[str, Any], index: int) -> Question:
    """One [[questions]] table as a Question."""
    name = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index + 1}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise QuestionsError(f"question {name}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "category", "question"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise QuestionsError(f"question {name}: {key!r} must be a non-empty string")
    if entry["category"] not in CATEGORIES:
        raise QuestionsError(f"question {name}: category {entry['category']!r} is not one of {', '.join(CATEGORIES)}")
    source = entry.get("source")
    if not isinstance(source, dict) or not source.get("title") or not str(source.get("url", "")).startswith("http"):
        raise QuestionsError(f"question {name}: 'source' must be {{ title = ..., url = \"http...\" }}")
    ratio = entry.get("ratio")
    return Question(
        id=entry["id"], category=entry["category"], question=entry["question"],
        expect=_patterns(entry, "expect", name, required=True), forbid=_patterns(entry, "forbid", name),
        poster=_poster(entry.get("poster"), posters, name), source=dict(source), example=entry.get("example"),
        note=entry.get("note"), fg=entry.get("fg"), bg=entry.get("bg"),
        ratio=float(ratio) if isinstance(ratio, int | float) else None,
    )


def _patterns(entry: dict[str, Any], key: str, name: str, required: bool = False) -> tuple[re.Pattern[str], ...]:
    """The regexes under `key`, compiled case-insensitive with `.` matching newlines."""
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values) or (required and not values):
        raise QuestionsError(f"question {name}: {key!r} must be a {'non-empty ' if required else ''}list of regexes")
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, FLAGS))
        except re.error as error:
            raise QuestionsError(f"question {name}: {key} regex {value!r}: {error}") from error
    return tuple(compiled)


def _poster(value: Any, posters: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An inline poster table, or the [posters.NAME] table a string names."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and isinstance(posters.get(value), dict):
        return posters[value]
    raise QuestionsError(f"question {name}: poster {value!r} is neither a table nor a name under [posters]")


def select(questions: list[Question], only: set[str] | None = None, limit: int | None = None) -> list[Question]:
    """The questions in `only`'s categories; with `limit`, the first N taken in turn from each category."""
    chosen = [q for q in questions if only is None or q.category in only]
    if limit is None or limit >= len(chosen):
        return chosen
    queues = {category: [q for q in chosen if q.category == category] for category in CATEGORIES}
    picked: list[Question] = []
    while len(picked) < limit:
        for category in CATEGORIES:
            if queues[category] and len(picked) < limit:
                picked.append(queues[category].pop(0))
    return picked
