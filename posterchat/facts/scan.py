"""Shared pieces for reading the question: numbers, sentence breaks, number formatting."""

from __future__ import annotations

import math
import re
from functools import lru_cache

# 1,234.5 (thousands), 12.5 or 12,5 (decimal comma), .5; at most 7 digits, so nothing overflows or takes long.
NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,4})?|[0-9]{1,7}(?:[.,][0-9]{1,4})?|\.[0-9]{1,4}"
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
# A sentence ends at . ? ! ; followed by a space (not a decimal point) or at a line break.
SENTENCE_END = re.compile(r"[.?!;](?=\s|$)|\n")
_DIGIT = re.compile(r"[0-9]")
_LOWER_LETTERS = re.compile(r"[a-z]+")
# The four letters an ASCII letter matches under re.IGNORECASE besides its own two cases (Python's re docs), as the
# letter they match; without IGNORECASE the two of them that lower() would turn into ASCII letters are no letters.
# Once these are mapped, lower() makes no new ASCII letters (tests/test_facts_gates.py checks both over every code
# point).
IGNORECASE_LETTERS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
NOT_LETTERS = str.maketrans({"\u0130": " ", "\u212a": " "})


def has_digit(text: str) -> bool:
    """Whether the text holds a digit 0-9, which every number the extractors read starts from."""
    return _DIGIT.search(text) is not None


def word_list(text: str, *, ignorecase: bool = True) -> tuple[str, ...]:
    """The runs of ASCII letters in order, lower-cased; with `ignorecase`, as an ignore-case pattern sees them."""
    return _word_list(text, ignorecase or text.isascii())  # an ASCII text's words are the same either way


@lru_cache(maxsize=64)  # every extractor asks about the same question
def _word_list(text: str, ignorecase: bool) -> tuple[str, ...]:
    if not text.isascii():
        text = text.translate(IGNORECASE_LETTERS if ignorecase else NOT_LETTERS)
    return tuple(_LOWER_LETTERS.findall(text.lower()))


@lru_cache(maxsize=64)
def word_set(text: str) -> frozenset[str]:
    """The words an ignore-case pattern sees: a pattern that needs a word absent here cannot match, so an extractor
    skips its patterns (most questions have no numbers, colours or units)."""
    return frozenset(word_list(text))


def to_number(text: str) -> float:
    """The value of a NUMBER match."""
    return float(text.replace(",", "") if _THOUSANDS.fullmatch(text) else text.replace(",", "."))


def rounded(value: float, places: int = 2) -> float:
    """`value` to `places` decimals, with at least 3 significant digits below 1 and at most 6 in all."""
    if not math.isfinite(value) or value == 0:
        return value
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, min(max(places, 2 - magnitude) if magnitude < 0 else places, 5 - magnitude, 8))


def fmt(value: float, places: int = 2) -> str:
    """A number as rounded() gives it, without trailing zeros: 4.2333 → '4.23', 0.013889 → '0.0139', 16.0 → '16'."""
    text = f"{rounded(value, places):.8f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clause_before(text: str, start: int, width: int = 40) -> str:
    """Up to `width` characters before `start`, cut at the last sentence break."""
    window = text[max(0, start - width):start]
    breaks = list(SENTENCE_END.finditer(window))
    return window[breaks[-1].end():] if breaks else window


def finite_positive(*values: float) -> bool:
    """Whether every value is a finite, positive number."""
    return all(math.isfinite(v) and v > 0 for v in values)
