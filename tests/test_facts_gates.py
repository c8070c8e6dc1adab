"""The facts extractors skip a pattern when the question lacks a word or character it needs; a skip never hides a
match."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posterchat.facts import colours, conversion, lengths, paper, scan, typesize

# Pieces of questions that the patterns look for, the letters that ignore-case matching treats as ASCII ones, and
# characters around them, joined at random.
PIECES = [
    "#fff", "#777", "rgb(10, 20, 30)", "hsl(120 50% 50%)", "hſl(1,2%,3%)", "RGBA(0,0,0,.5)", "white", "Black", "navy",
    "dark slate grey", "a lice blue", "on", "text", "amber", "ruſt", "Slate", "12", "12pt", "3 m", "A4", "a3",
    "US letter", "letter size", "Tabloid", "ANSI B", "ArchE", "ARCHA", "how", "big", "text size", "font-size", "ſize",
    "enough", "min.", "minimum", "smallest type", "how many mm in an inch", "inch", "İnch", "ınch", "MM", "Millimetres",
    "pointſ", "convert", "points to mm", "pt->px", "1920x1080", "24 x 36 in", "300 dpi", "pica", "K", "ſ", "İ", "ı",
    " ", " ", "-", ",", ".", "?", "(", ")", "\n", "é", "’",
]
QUESTIONS = st.lists(st.sampled_from(PIECES) | st.text(max_size=2), max_size=12).map("".join)
FUZZ = settings(max_examples=400, derandomize=True, deadline=None, database=None)

GATES = {  # a pattern's match, and the cheap test that lets it run
    "digits": (lambda t: lengths._SINGLE.search(t) or lengths._SIZE.search(t) or paper._ISO.search(t),
               scan.has_digit),
    "US paper names": (paper._US.search, lambda t: not scan.word_set(t).isdisjoint(paper._US_NAMES)),
    "ANSI and ARCH": (paper._ANSI_ARCH.search, lambda t: any(kind in t for kind in paper._ANSI_ARCH_KINDS)),
    "text size asked": (typesize._ASKS_SIZE.search, typesize.may_ask_size),
    "colour functions": (colours._FUNCTION.search, lambda t: not scan.word_set(t).isdisjoint(colours._FUNCTIONS)),
    "colour labels": (colours._LABEL_WORDS.search, lambda t: not scan.word_set(t).isdisjoint(colours._LABELS)),
    "units asked in words": (conversion._asked_in_words, conversion.may_ask_in_words),
}


@pytest.mark.parametrize("gate", GATES)
@FUZZ
@given(text=QUESTIONS)
def test_a_pattern_is_skipped_only_where_it_cannot_match(gate, text):
    matches, may_match = GATES[gate]
    assert may_match(text) or not matches(text)


@FUZZ
@given(text=QUESTIONS)
def test_colour_names_are_looked_for_only_where_words_spell_one(text):
    if not colours._may_name(text):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(colours, "_may_name", lambda _: True)
            assert colours._names(text) == []


def test_the_letters_ignorecase_adds_are_the_ones_mapped():
    """Over every code point: what matches an ASCII letter under IGNORECASE, and what lower() turns into one."""
    extra = {chr(c) for c in range(sys.maxunicode + 1)
             if not chr(c).isascii() and re.fullmatch("[a-z]", chr(c), re.IGNORECASE)}
    assert extra == {chr(c) for c in scan.IGNORECASE_LETTERS}
    for table in (scan.IGNORECASE_LETTERS, scan.NOT_LETTERS):
        made = [chr(c) for c in range(0x80, sys.maxunicode + 1)
                if c not in table and re.search("[a-z]", chr(c).lower())]
        assert made == [], made


def test_words_are_read_as_the_patterns_see_them():
    assert scan.word_list("\u0130nch \u017fize, \u212a") == ("inch", "size", "k")
    assert scan.word_list("\u0130nch \u017fize, \u212a", ignorecase=False) == ("nch", "ize")
    assert scan.word_set("Font-Size?") == {"font", "size"}
    assert not scan.has_digit("no numbers here") and scan.has_digit("A4")
