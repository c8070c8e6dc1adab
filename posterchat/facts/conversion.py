"""Conversion facts: a length in the other units designers use ("12 pt = 4.23 mm = 0.167 in = 16 px at 96 px/in").

Rule: each length (pt, pc, mm, cm, in, px) that no other fact has used becomes a conversion, each distinct one once,
the first MAX_CONVERSIONS only, so a question full of numbers does not bury the other facts.
"""

from __future__ import annotations

from ..poster.geometry import MM_PER_INCH, MM_PER_POINT
from .lengths import MM_PER, Quantity
from .model import Fact, Found
from .scan import finite_positive, fmt

MAX_CONVERSIONS = 3
CSS_PX_PER_IN = 96.0  # CSS reference pixel; a dpi/ppi written in the question replaces it
CONVERTIBLE = ("pt", "pc", "mm", "cm", "in", "px")
_TARGETS = (("mm", 2), ("in", 3), ("pt", 2), ("px", 2))


def _fact(q: Quantity, px_per_in: float) -> Fact:
    """The conversion fact for one length."""
    mm = q.value * MM_PER_INCH / px_per_in if q.unit == "px" else q.value * MM_PER[q.unit]
    amounts = {"mm": mm, "in": mm / MM_PER_INCH, "pt": mm / MM_PER_POINT, "px": mm / MM_PER_INCH * px_per_in}
    parts = [f"{fmt(q.value, 3)} {q.unit}"]
    parts += [f"{fmt(amounts[unit], places)} {unit}" for unit, places in _TARGETS if unit != q.unit]
    return Fact(kind="conversion", statement=f"{' = '.join(parts)} at {fmt(px_per_in)} px/in.", values={
        "value": q.value, "unit": q.unit, **{u: round(v, 4) for u, v in amounts.items()}, "px_per_in": px_per_in,
    })


def conversion_facts(found: list[Quantity]) -> list[Found]:
    """Conversions of the lengths no other fact used, at the first dpi/ppi written, else at 96 px/in."""
    px_per_in = next((q.value for q in found if q.unit == "dpi"), CSS_PX_PER_IN)
    facts, seen = [], set()
    for q in found:
        if q.unit in CONVERTIBLE and (q.value, q.unit) not in seen and len(facts) < MAX_CONVERSIONS:
            fact = _fact(q, px_per_in)
            if finite_positive(*(v for v in fact.values.values() if isinstance(v, float))):
                facts.append(Found(q.start, q.end, fact))
                seen.add((q.value, q.unit))
    return facts
