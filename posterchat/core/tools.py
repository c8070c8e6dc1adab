"""Tools posterchat offers models that can call them: its knowledge lookup, its calculators, and the poster checks."""

from __future__ import annotations

import json
from typing import Any

from .. import knowledge
from ..facts import measure
from ..poster.assistant import PosterView

SEARCH = "search_design_knowledge"
MEASURE = "measure_design_facts"
DEFINITIONS = [
    {"type": "function", "function": {
        "name": SEARCH,
        "description": "Look up sourced design facts (WCAG contrast, paper sizes, bleed and margins, print "
                       "resolution, colour modes, type sizes, layout, colour harmony, file formats).",
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "The question."}},
                       "required": ["query"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": MEASURE,
        "description": "Compute exact facts from a text that names them: two colours (contrast ratio and WCAG "
                       "verdicts), a paper size, a viewing distance (smallest readable text), lengths to convert "
                       "(pt, mm, in, px), or pixel dimensions with a print size (effective ppi).",
        "parameters": {"type": "object", "properties": {"text": {"type": "string", "description": "e.g. '#777 on "
                                                                 "white', 'A2', 'read from 5 m', '12 pt in mm'"}},
                       "required": ["text"], "additionalProperties": False}}},
]


class DesignTools:
    """The tool definitions for a turn and running a call to a JSON string the model can read."""

    def __init__(self, poster: PosterView | None, viewing_distance_m: float):
        self.poster = poster
        self.viewing_distance_m = viewing_distance_m
        self.definitions = [*DEFINITIONS, *(poster.definitions if poster else ())]

    def call(self, name: str, arguments: str) -> str:
        """Run one call; a bad call gets an error object, never an exception."""
        if self.poster and name not in (SEARCH, MEASURE):
            return self.poster.call(name, arguments)
        try:
            args = json.loads(arguments or "{}")
            text = str(args.get("query") or args.get("text") or "")
        except (json.JSONDecodeError, AttributeError):
            return json.dumps({"error": "arguments must be a JSON object"})
        if name == SEARCH:
            found = [{"title": e.title, "text": e.text, "source": e.source} for e in knowledge.search(text)]
            return _json({"results": found})
        if name == MEASURE:
            return _json({"facts": [f.statement for f in measure(text, viewing_distance_m=self.viewing_distance_m)]})
        return json.dumps({"error": f"unknown tool {name!r}"})


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
