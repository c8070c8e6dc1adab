"""The chat page's copy of the sample poster (posterchat/static/sample-poster.js) is SAMPLE_POSTER itself.

The page embeds the sample in a script because a page opened from disk cannot fetch a JSON file. When SAMPLE_POSTER
changes, write the copy again with:

    .venv/bin/python -c "from tests.test_poster_sample_file import write; write()"
"""

from __future__ import annotations

import json
from pathlib import Path

from posterchat.poster import SAMPLE_POSTER

SAMPLE_JS = Path(__file__).resolve().parent.parent / "posterchat" / "static" / "sample-poster.js"
HEADER = "/* The sample poster (posterchat.poster.SAMPLE_POSTER); written by tests/test_poster_sample_file.py. */\n"
ASSIGNMENT = "(window.posterchat = window.posterchat || {}).samplePoster = "


def render() -> str:
    return f"{HEADER}{ASSIGNMENT}{json.dumps(SAMPLE_POSTER, indent=2, ensure_ascii=False)};\n"


def write() -> None:
    SAMPLE_JS.write_text(render(), encoding="utf-8")


def test_sample_poster_script_is_sample_poster():
    text = SAMPLE_JS.read_text(encoding="utf-8")
    assert text.startswith(HEADER + ASSIGNMENT) and text.endswith(";\n"), "unexpected layout of sample-poster.js"
    embedded = json.loads(text[len(HEADER + ASSIGNMENT):-2])
    assert embedded == SAMPLE_POSTER, "sample-poster.js drifted from SAMPLE_POSTER: see this module's docstring"
