"""Conversion facts: a length in the other units designers use ("12 pt = 4.23 mm = 0.167 in = 16 px at 96 px/in").

Rule: each pt, pc or px length that no other fact has used becomes a conversion, and so does each mm, cm or in
length when the question asks for a conversion (it names another unit, or says "convert"), so that a sign "mounted
60 in high" is not converted; a unit asked about in words ("how many mm in an inch?", "a pica in points") is
converted as one of it. Each distinct one once, the first MAX_CONVERSIONS only, so a question full of numbers does
not bury the other facts.
"""

from __future__ import annotations

import re

from ..poster.geometry import MM_PER_INCH, MM_PER_POINT
from .lengths import MM_PER, Quantity
from .model import Fact, Found
from .scan import finite_positive, fmt, rounded, word_set

MAX_CONVERSIONS = 3
CSS_PX_PER_IN = 96.0  # CSS reference pixel; a dpi/ppi written in the question replaces it
CONVERTIBLE = ("pt", "pc", "mm", "cm", "in", "px")
_ALWAYS = ("pt", "pc", "px")  # type and screen sizes, whose physical size is always worth giving
_TARGETS = (("mm", 2), ("cm", 2), ("in", 3), ("pt", 2), ("pc", 2), ("px", 2))
_SHOWN = ("mm", "in", "pt", "px")  # cm and pc only when the question names them
_UNIT_WORDS = {
    "mm": ("millimetres", "millimeters", "millimetre", "millimeter", "mm"),
    "cm": ("centimetres", "centimeters", "centimetre", "centimeter", "cm"),
    "in": ("inches", "inch"), "pt": ("points", "point", "pts", "pt"), "pc": ("picas", "pica", "pc"),
    "px": ("pixels", "pixel", "px"),
}
_WORDS = {unit: "|".join(written) for unit, written in _UNIT_WORDS.items()}
_ANY_UNIT_WORD = frozenset(word for written in _UNIT_WORDS.values() for word in written)
_UNIT = "|".join(_WORDS.values())
_ONE = r"(?:(?:one|a|an|a\s+single)\s+)"
_KIND = r"(?:(?:typographic(?:al)?|printer'?s|css|desktop|dtp|postscript|pdf|standard)\s+)?"
# "how many millimetres (are there) in an inch", "a pica in points", "convert points to mm", "pt to mm conversion".
_ASKED = [re.compile(p, re.I) for p in (
    (rf"\bhow\s+(?:many|much)\s+(?P<t>{_UNIT})\s+(?:(?:are|is|fit|go|make|makes|equal|equals|there)\s+){{0,2}}"
     rf"(?:(?:in|into)\s+)?{_ONE}?{_KIND}(?P<s>{_UNIT})\b"),
    (rf"(?<![\w-]){_ONE}{_KIND}(?P<s>{_UNIT})\s+(?:(?:is|equals?|=)\s+)?(?:in|to|into|as|how\s+many|how\s+much)\s+"
     rf"(?P<t>{_UNIT})\b"),
    (rf"\bconver(?:t|ts|ting|sion|sions)\s+(?:(?:from|of)\s+)?{_ONE}?{_KIND}(?P<s>{_UNIT})\s+(?:to|into|in|and)\s+"
     rf"(?P<t>{_UNIT})\b"),
    rf"\b(?P<s>{_UNIT})\s*(?:\s+to\s+|-to-|→|->)\s*(?P<t>{_UNIT})\s+(?:conversions?|converter|ratio|chart|formula)\b",
)]
_NAMED = re.compile(rf"\b(?:{_UNIT})\b", re.I)
_CONVERT = re.compile(r"\b(?:conver(?:t|ts|ting|sion|sions)|equivalents?|metric|imperial)\b", re.I)


def unit_of(word: str) -> str:
    """The unit a unit word names ('millimetres' → 'mm')."""
    return next(unit for unit, pattern in _WORDS.items() if re.fullmatch(pattern, word, re.I))


def _fact(q: Quantity, px_per_in: float, extra: frozenset[str]) -> Fact | None:
    """The conversion fact for one length, into the usual units and any `extra` ones; None if a value is absurd."""
    mm = q.value * MM_PER_INCH / px_per_in if q.unit == "px" else q.value * MM_PER[q.unit]
    amounts = {"mm": mm, "cm": mm / 10, "in": mm / MM_PER_INCH, "pt": mm / MM_PER_POINT,
               "pc": mm / MM_PER_POINT / 12, "px": mm / MM_PER_INCH * px_per_in}
    shown = [(unit, places) for unit, places in _TARGETS if unit != q.unit and (unit in _SHOWN or unit in extra)]
    if not finite_positive(*(rounded(amounts[unit], places) for unit, places in shown)):
        return None  # so small that it would show as 0
    parts = [f"{fmt(q.value, 3)} {q.unit}", *(f"{fmt(amounts[unit], places)} {unit}" for unit, places in shown)]
    return Fact(kind="conversion", statement=f"{' = '.join(parts)} at {fmt(px_per_in)} px/in.", values={
        "value": rounded(q.value, 3), "unit": q.unit, "px_per_in": px_per_in,
        **{u: rounded(amounts[u], 4) for u, _ in _TARGETS if u in _SHOWN or u in extra},
    })


def _asked_in_words(text: str) -> list[Quantity]:
    """Units asked about in words, each as one of it: 'how many mm in an inch?' gives 1 in."""
    found = []
    for pattern in _ASKED:
        for m in pattern.finditer(text):
            if unit_of(m.group("s")) != unit_of(m.group("t")):
                found.append(Quantity(m.start("s"), m.end("s"), 1.0, unit_of(m.group("s"))))
    return sorted(found, key=lambda q: q.start)


def may_ask_in_words(text: str) -> bool:
    """Whether the question has two different unit words, which asking about a unit in words takes."""
    return len(word_set(text) & _ANY_UNIT_WORD) >= 2


def conversion_facts(text: str, found: list[Quantity]) -> list[Found]:
    """Conversions of lengths no other fact used and units asked about in words, at the first dpi/ppi (else 96)."""
    if not found and not may_ask_in_words(text):
        return []
    px_per_in = rounded(next((q.value for q in found if q.unit == "dpi"), CSS_PX_PER_IN))
    spans = [(q.start, q.end) for q in found]
    words = list(_NAMED.finditer(text))
    named = {unit_of(m.group()) for m in words if not any(s <= m.start() < e for s, e in spans)}
    asked = bool(_CONVERT.search(text))
    lengths = [q for q in found if q.unit in _ALWAYS or (q.unit in CONVERTIBLE and (asked or named - {q.unit}))]
    in_words = _asked_in_words(text) if len(words) > 1 else []  # asking in words takes two unit words
    facts, seen = [], set()
    for q in sorted(lengths + in_words, key=lambda q: q.start):
        fact = None if (q.value, q.unit) in seen else _fact(q, px_per_in, frozenset(named))
        if fact:
            facts.append(Found(q.start, q.end, fact))
            seen.add((q.value, q.unit))
            if len(facts) == MAX_CONVERSIONS:
                break
    return facts
