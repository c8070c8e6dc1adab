"""Text-size facts: the smallest readable text at a viewing distance, by poster/typography.py's own rule."""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..poster.geometry import MM_PER_POINT
from ..poster.schema import CheckOptions
from ..poster.typography import X_HEIGHT_EM, min_font_size_pt
from .lengths import Quantity
from .model import Fact, Found
from .scan import clause_before, fmt, rounded, word_set

# Cap height of typical Latin text faces, in em: Helvetica 718 and Times 662 units per 1000 (their Adobe AFM metrics).
CAP_HEIGHT_EM = 0.7
METRES_PER = {"m": 1.0, "cm": 0.01, "ft": 0.3048}
MIN_DISTANCE_M = 0.1  # nearer than this is not reading distance: "from 0.5 cm" is a misreading
# A distance is a length in m, cm or ft with a viewing word before it in the same clause, or "away" after it, and no
# size word after it ("a 2 m wide banner", "3 m across" are sizes).
_CUE = re.compile(
    r"\b(?:from|away|distance|view(?:ed|ing|ers?)?|read(?:ing|able|ers?)?|legible|seen|see|room|hall(?:way)?|"
    r"corridor|street|road|passing|passers?-?by|walk(?:ing|s)?|standing|sitting|seated)\b"
    r"|\b(?:stand|sit)s?(?=\s+(?:about|around|roughly|some|approximately|at|within|up\s+to)\b|\s*$)", re.I)
_AWAY = re.compile(r"\s*(?:away|off)\b", re.I)
_SIZE_AFTER = re.compile(
    r"\s*(?:[x×*²]|(?:wide|tall|high|long|height|width|length|across|deep|banners?|posters?|signs?|boards?|walls?|"
    r"screens?|by|squared?|sq|of)\b)", re.I)
_ASKS_SIZE = re.compile(
    r"\b(?:font|text|type|point|letter(?:ing)?)[ -]sizes?\b"
    r"|\bhow (?:big|large|small|tall)\b[^.?!\n]{0,40}?\b(?:text|fonts?|type|letters|lettering|headlines?|titles?|"
    r"headings?|body|copy|words)\b"
    r"|\b(?:text|fonts?|type|letters|lettering|headlines?|titles?|body|copy)\b[^.?!\n]{0,40}?\b(?:big|large) enough\b"
    r"|\b(?:minimum|smallest|min\.?)\s+(?:readable\s+)?(?:text|fonts?|type|point)\b", re.I)
# Each branch of _ASKS_SIZE needs one of these words, or "how" with one of _HOW_BIG.
_ASKS_SIZE_WORDS = frozenset({"size", "sizes", "enough", "minimum", "smallest", "min"})
_HOW_BIG = ("big", "large", "small", "tall")


def allowed_distance(metres: float) -> bool:
    """Whether a reader could stand there (MIN_DISTANCE_M) and the poster checks accept it (CheckOptions: ≤ 1000 m)."""
    if not metres >= MIN_DISTANCE_M:
        return False
    try:
        CheckOptions(viewing_distance_m=metres)
    except ValidationError:
        return False
    return True


def text_size_fact(metres: float, written: str, *, assumed: bool = False) -> Fact:
    """'Read from 3 m, text needs to be at least 60 pt (x-height about 10.6 mm, cap height about 14.8 mm).'"""
    points = min_font_size_pt(metres)
    x_height, cap_height = points * MM_PER_POINT * X_HEIGHT_EM, points * MM_PER_POINT * CAP_HEIGHT_EM
    return Fact(kind="text_size", statement=(
        f"Read from {written}, text needs to be at least {points} pt "
        f"(x-height about {x_height:.1f} mm, cap height about {cap_height:.1f} mm)."
    ), values={
        "distance_m": rounded(metres, 4), "min_font_size_pt": points,
        "x_height_mm": rounded(x_height, 2), "cap_height_mm": rounded(cap_height, 2), "assumed": assumed,
    })


def is_distance(text: str, q: Quantity) -> bool:
    """Whether a quantity is a viewing distance."""
    if q.unit not in METRES_PER or _SIZE_AFTER.match(text, q.end):
        return False
    return bool(_AWAY.match(text, q.end) or _CUE.search(clause_before(text, q.start)))


def distance_facts(text: str, found: list[Quantity], limit: int) -> tuple[list[Found], set[int]]:
    """Text-size facts for the first `limit` distinct viewing distances, and where every distance starts."""
    facts, used, seen = [], set(), set()
    for q in found:
        metres = q.value * METRES_PER.get(q.unit, 0.0)
        if not is_distance(text, q) or not allowed_distance(metres):
            continue
        used.add(q.start)
        if (q.value, q.unit) not in seen and len(seen) < limit:
            seen.add((q.value, q.unit))
            written = f"{fmt(q.value)} {q.unit}" + ("" if q.unit == "m" else f" ({fmt(metres)} m)")
            facts.append(Found(q.start, q.end, text_size_fact(metres, written)))
    return facts, used


def may_ask_size(text: str) -> bool:
    """Whether the words _ASKS_SIZE needs are there: one of _ASKS_SIZE_WORDS, or "how" with one of _HOW_BIG."""
    said = word_set(text)
    return not said.isdisjoint(_ASKS_SIZE_WORDS) or ("how" in said and not said.isdisjoint(_HOW_BIG))


def assumed_distance_fact(text: str, viewing_distance_m: float) -> list[Found]:
    """When the question asks how big text should be but gives no distance: the fact at the assumed distance."""
    asked = _ASKS_SIZE.search(text) if may_ask_size(text) else None
    if not asked:
        return []
    written = f"{fmt(viewing_distance_m)} m (the assumed viewing distance)"
    return [Found(asked.start(), asked.end(), text_size_fact(viewing_distance_m, written, assumed=True))]
