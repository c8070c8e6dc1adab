"""Knowledge-base entries: the typed model and loading the TOML files shipped in entries/."""

import tomllib
from importlib import resources
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

Topic = Literal[
    "contrast",
    "paper-sizes",
    "bleed",
    "resolution",
    "print-colour",
    "text-size",
    "layout",
    "typography",
    "colour",
    "file-formats",
    "accessibility",
    "print-production",
]
TOPICS: tuple[str, ...] = get_args(Topic)

_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\n]*$")]
# Markup that would show up raw when an entry is quoted to the user.
_MARKUP = ("**", "__", "`", "](", "\n", "<", ">")


class KnowledgeError(ValueError):
    """A knowledge file is missing, unreadable or holds an invalid entry."""


class Entry(BaseModel):
    """One short, sourced design fact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
    topic: Topic
    title: _Line
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=600)]
    keywords: Annotated[tuple[_Line, ...], Field(min_length=1, max_length=20)]
    source: _Line
    url: Annotated[str, StringConstraints(pattern=r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", max_length=300)]

    @field_validator("text")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        """Reject markup so the text can be quoted verbatim."""
        found = [mark for mark in _MARKUP if mark in value]
        if found:
            raise ValueError(f"text must be plain (found {found!r})")
        return value


def load_entries() -> tuple[Entry, ...]:
    """Read and validate every entries/*.toml file, in file-name order."""
    folder = resources.files(__package__).joinpath("entries")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    if not files:
        raise KnowledgeError(f"no knowledge files in {folder}")
    loaded: list[Entry] = []
    seen: dict[str, str] = {}
    for file in files:
        for entry in _parse_file(file.name, file.read_text(encoding="utf-8")):
            if entry.id in seen:
                raise KnowledgeError(f"{file.name}: duplicate id {entry.id!r} (already in {seen[entry.id]})")
            seen[entry.id] = file.name
            loaded.append(entry)
    return tuple(loaded)


def _parse_file(name: str, content: str) -> list[Entry]:
    """Parse one TOML file into validated entries; errors name the file and the entry."""
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as err:
        raise KnowledgeError(f"{name}: not valid TOML: {err}") from err
    raw = data.get("entries")
    if set(data) != {"entries"} or not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"{name}: expected only a non-empty [[entries]] array, found keys {sorted(data)}")
    parsed = []
    for number, item in enumerate(raw, start=1):
        label = item.get("id", "<no id>") if isinstance(item, dict) else "<not a table>"
        try:
            parsed.append(Entry.model_validate(item))
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in err.errors())
            raise KnowledgeError(f"{name}: entry {number} ({label!r}): {problems}") from err
    return parsed
