"""Shared pieces for reading the question: numbers, sentence breaks, number formatting."""

from __future__ import annotations

import math
import re

# 1,234.5 (thousands), 12.5 or 12,5 (decimal comma), .5; at most 7 digits, so nothing overflows or takes long.
NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,4})?|[0-9]{1,7}(?:[.,][0-9]{1,4})?|\.[0-9]{1,4}"
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
# A sentence ends at . ? ! ; followed by a space (not a decimal point) or at a line break.
SENTENCE_END = re.compile(r"[.?!;](?=\s|$)|\n")


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
