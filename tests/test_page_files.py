"""The generated page files match their sources: chat_ui.html is the served page, sample-poster.js is SAMPLE_POSTER.

When they drift, run `make page`.
"""

from __future__ import annotations

from scripts.build_page import FILE_PAGE, INDEX, SAMPLE_JS, file_page, sample_script


def test_file_page_is_the_served_page():
    assert FILE_PAGE.read_text(encoding="utf-8") == file_page(), "chat_ui.html drifted: run `make page`"


def test_sample_poster_script_is_sample_poster():
    assert SAMPLE_JS.read_text(encoding="utf-8") == sample_script(), "sample-poster.js drifted: run `make page`"


def test_pages_have_no_inline_script_or_style():
    for page in (INDEX, FILE_PAGE):
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and " on" + "click=" not in text and " style=" not in text
