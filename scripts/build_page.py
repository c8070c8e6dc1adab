"""Write the generated page files: chat_ui.html (the page opened from disk) and the page's copy of the sample poster.

Run `make page` (or `python -m scripts.build_page`) after changing posterchat/static/index.html or SAMPLE_POSTER;
tests/test_page_files.py fails while they differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from posterchat.poster import SAMPLE_POSTER

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "posterchat" / "static"
INDEX = STATIC / "index.html"
FILE_PAGE = ROOT / "chat_ui.html"
SAMPLE_JS = STATIC / "sample-poster.js"
FILE_CSP = ('  <meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'self\'; '
            "style-src 'self'; img-src 'self' data:; connect-src http://localhost:* http://127.0.0.1:*; "
            "base-uri 'none'; form-action 'none'\">\n")
SAMPLE_HEADER = "/* The sample poster (posterchat.poster.SAMPLE_POSTER); written by scripts/build_page.py. */\n"
SAMPLE_ASSIGNMENT = "(window.posterchat = window.posterchat || {}).samplePoster = "


def file_page() -> str:
    """index.html with assets under posterchat/static/ and the CSP as a meta tag (no header on file://)."""
    text = INDEX.read_text(encoding="utf-8").replace('="static/', '="posterchat/static/')
    head = text.index("<head>\n") + len("<head>\n")
    first_line_end = text.index("\n", head) + 1  # after <meta charset>, which must come first
    return text[:first_line_end] + FILE_CSP + text[first_line_end:]


def sample_script() -> str:
    """The sample poster as a script: a page opened from disk cannot fetch a JSON file."""
    return f"{SAMPLE_HEADER}{SAMPLE_ASSIGNMENT}{json.dumps(SAMPLE_POSTER, indent=2, ensure_ascii=False)};\n"


def main() -> None:
    FILE_PAGE.write_text(file_page(), encoding="utf-8")
    SAMPLE_JS.write_text(sample_script(), encoding="utf-8")
    print(f"wrote {FILE_PAGE.relative_to(ROOT)} and {SAMPLE_JS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
