"""chat_ui.html (the page opened from disk) is the served page, index.html, with its own asset paths and CSP.

When index.html changes, write chat_ui.html again with:

    .venv/bin/python -c "from tests.test_page_files import write; write()"
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "posterchat" / "static" / "index.html"
FILE_PAGE = ROOT / "chat_ui.html"
FILE_CSP = ('  <meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'self\'; '
            "style-src 'self'; img-src 'self' data:; connect-src http://localhost:* http://127.0.0.1:*; "
            "base-uri 'none'; form-action 'none'\">\n")


def render() -> str:
    """index.html with assets under posterchat/static/ and the CSP as a meta tag (no header on file://)."""
    text = INDEX.read_text(encoding="utf-8").replace('="static/', '="posterchat/static/')
    head = text.index("<head>\n") + len("<head>\n")
    first_line_end = text.index("\n", head) + 1  # after <meta charset>, which must come first
    return text[:first_line_end] + FILE_CSP + text[first_line_end:]


def write() -> None:
    FILE_PAGE.write_text(render(), encoding="utf-8")


def test_file_page_is_the_served_page():
    assert FILE_PAGE.read_text(encoding="utf-8") == render(), "chat_ui.html drifted: see this module's docstring"


def test_pages_have_no_inline_script_or_style():
    for page in (INDEX, FILE_PAGE):
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and " on" + "click=" not in text and " style=" not in text
