"""Quantities written in the question: single lengths ("12 pt", "5 m", "300 dpi") and sizes ("24 × 36 in")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..poster.geometry import MM_PER_INCH, MM_PER_POINT
from .scan import NUMBER, finite_positive, has_digit, to_number

MM_PER = {
    "mm": 1.0, "cm": 10.0, "m": 1000.0, "in": MM_PER_INCH, "ft": 12 * MM_PER_INCH,
    "pt": MM_PER_POINT, "pc": 12 * MM_PER_POINT,
}
# "in" is the unit only where it cannot be the preposition: at the end, before punctuation, or before a size word
# ("12 in wide", "24 in x 36 in"), never in "set 12 in Helvetica".
_IN = (r'inch(?:es)?|in(?=\s*$|\s*[^\sa-z0-9]|\s+(?:wide|tall|high|long|across|poster|print|sheet|paper|frame|canvas|'
       r'banner|format|size|landscape|portrait|photo|image|x|by|and|or|at)\b)|["″]')
# Words for the units a length can be converted to; "points" counts as the unit before them ("12 points in mm").
_TARGET_WORDS = (r"mm|millimet(?:re|er)s?|cm|centimet(?:re|er)s?|inch(?:es)?|pts?|points?|pc|picas?|px|pixels?|"
                r"ft|feet|foot")
_UNITS = {
    "dpi": r"dpi|ppi|(?:pixels?|px|dots)[ \t]*(?:per|/)[ \t]*(?:inch|in)\b",
    "mm": r"mm|millimet(?:re|er)s?",
    "cm": r"cm|centimet(?:re|er)s?",
    "m": r"m|met(?:re|er)s?",
    "in": _IN,
    "ft": r"ft|feet|foot",
    "px": r"px|pixels?",
    "pc": r"pc|picas?",
    "pt": r"pts?|points?(?=[\s-]+(?:type|text|font|size|body|headlines?|lettering|letters|copy|captions?)\b|"
          rf"\s+(?:in|to|into|as|equals?|=)\s+(?:{_TARGET_WORDS})\b|\s*(?:is|are|=)\s+how\b)",
}
# What a written quantity may be, so that no fact shows an absurd number: lengths from 1 µm to 1 km, pixel counts
# up to a million, resolutions from 1 to 20,000 ppi.
_BOUNDS = {"px": (0.01, 1e6), "dpi": (1.0, 20_000.0)}
_MM_BOUNDS = (0.001, 1e6)
_UNIT = "|".join(f"(?P<{name}>{pattern})" for name, pattern in _UNITS.items())
_DIM_UNIT = "|".join(_UNITS[name] for name in ("mm", "cm", "m", "in", "ft", "px"))
_START = r"(?<![\w.,#/-])"
_SINGLE = re.compile(rf"{_START}(?P<num>{NUMBER})(?![0-9])\s?-?\s?(?:{_UNIT})(?![a-z])", re.I)
_SIZE = re.compile(
    rf"{_START}(?P<a>{NUMBER})(?![0-9])(?:\s?-?\s?(?P<ua>{_DIM_UNIT})(?![a-z]))?\s*(?:[x×*]|\bby\b)\s*"
    rf"(?P<b>{NUMBER})(?![0-9])(?:\s?-?\s?(?P<ub>{_DIM_UNIT})(?![a-z]))?", re.I)
_UNIT_OF = [(name, re.compile(pattern.split("(?=")[0] if name == "in" else pattern, re.I))
            for name, pattern in _UNITS.items()]


@dataclass(frozen=True)
class Quantity:
    """A number with a unit: a length (mm, cm, m, in, ft, pt, pc), pixels (px) or a resolution (dpi)."""

    start: int
    end: int
    value: float
    unit: str


@dataclass(frozen=True)
class Size:
    """Two numbers with a unit, 'width × height' as written; unit None when none is written."""

    start: int
    end: int
    width: float
    height: float
    unit: str | None


def unit_name(written: str) -> str:
    """The canonical unit of a unit as written ('inches' → 'in')."""
    if written in ('"', "″"):
        return "in"
    return next(name for name, pattern in _UNIT_OF if pattern.fullmatch(written))


def plausible(value: float, unit: str) -> bool:
    """Whether a written amount is one a design question could mean (see _BOUNDS)."""
    low, high = (_MM_BOUNDS[0] / MM_PER[unit], _MM_BOUNDS[1] / MM_PER[unit]) if unit in MM_PER else _BOUNDS[unit]
    return finite_positive(value) and low <= value <= high


def quantities(text: str) -> list[Quantity]:
    """Every single quantity with a unit, in order."""
    if not has_digit(text):
        return []
    found = []
    for m in _SINGLE.finditer(text):
        unit = next(name for name in _UNITS if m.group(name))
        if m.group(unit) in ('"', "″") and text[m.start() - 1:m.start()] in ('"', "“"):
            continue  # a quoted number, not inches
        value = to_number(m.group("num"))
        if plausible(value, unit):
            found.append(Quantity(m.start(), m.end(), value, unit))
    return found


def sizes(text: str) -> list[Size]:
    """Every 'a × b' pair of numbers, with its unit when one is written (once is enough: '24 x 36 in')."""
    if not has_digit(text):
        return []
    found = []
    for m in _SIZE.finditer(text):
        written = m.group("ub") or m.group("ua")
        a, b, unit = to_number(m.group("a")), to_number(m.group("b")), written and unit_name(written)
        if plausible(a, unit or "px") and plausible(b, unit or "px"):
            found.append(Size(m.start(), m.end(), a, b, unit))
    return found


def covered(spans: list[tuple[int, int]]) -> set[int]:
    """The character positions the spans cover."""
    return {i for start, end in spans for i in range(start, end)}
