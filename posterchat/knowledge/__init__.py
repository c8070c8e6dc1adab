"""Design knowledge base: short sourced facts for grounding answers, and retrieval over them.

This package sits at the bottom layer: it imports nothing else from posterchat.
"""

import functools
import threading
from typing import NamedTuple

from .index import Index
from .model import TOPICS, Entry, KnowledgeError, Topic, load_entries

__all__ = ["TOPICS", "Entry", "Hit", "KnowledgeError", "Topic", "entries", "hits", "search"]

_lock = threading.Lock()


class Hit(NamedTuple):
    """A retrieved entry and its relevance (bm25 score, higher is better)."""

    entry: Entry
    relevance: float


def entries() -> tuple[Entry, ...]:
    """All entries, loaded and validated once."""
    with _lock:
        return _entries()


def hits(question: str, limit: int = 3) -> list[Hit]:
    """The entries most relevant to the question, best first, with their relevance; [] when none is relevant."""
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
        raise ValueError(f"limit must be an int from 1 to 50, got {limit!r}")
    with _lock:
        all_entries, index = _entries(), _index()
    return [Hit(all_entries[row], relevance) for row, relevance in index.ranked(question, limit)]


def search(question: str, limit: int = 3) -> list[Entry]:
    """The entries most relevant to the question, best first; [] when none is relevant."""
    return [hit.entry for hit in hits(question, limit)]


@functools.cache
def _entries() -> tuple[Entry, ...]:
    """Load once (callers hold _lock)."""
    return load_entries()


@functools.cache
def _index() -> Index:
    """Build the full-text index once (callers hold _lock)."""
    return Index(_entries())
