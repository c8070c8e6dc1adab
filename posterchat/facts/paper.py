"""Paper-size facts: named sizes (ISO 216 A/B/C, US, ANSI, Arch) and sizes written as 'width × height'."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..poster.geometry import MM_PER_INCH
from .lengths import MM_PER, Size
from .model import Fact, Found, first_distinct
from .scan import fmt, has_digit, rounded, word_set


@dataclass(frozen=True)
class Paper:
    """A named paper size, portrait, in mm; `inches` when it is defined in inches."""

    name: str
    width_mm: float
    height_mm: float
    inches: bool


def _iso_series(letter: str, width: int, height: int) -> dict[str, Paper]:
    """An ISO 216/269 series: each size is the previous one halved across its long side, rounded down to the mm."""
    series = {}
    for n in range(11):
        series[f"{letter}{n}"] = Paper(f"{letter}{n}", width, height, inches=False)
        width, height = height // 2, width
    return series


def _inch_sizes(sizes: dict[str, tuple[float, float]]) -> dict[str, Paper]:
    """Sizes defined in inches."""
    return {key: Paper(name, w * MM_PER_INCH, h * MM_PER_INCH, inches=True)
            for key, (name, (w, h)) in ((k.lower(), (k, v)) for k, v in sizes.items())}


PAPERS: dict[str, Paper] = {
    **{k.lower(): v for k, v in _iso_series("A", 841, 1189).items()},
    **{k.lower(): v for k, v in _iso_series("B", 1000, 1414).items()},
    **{k.lower(): v for k, v in _iso_series("C", 917, 1297).items()},
    # ANSI/ASME Y14.1 and the US paper names; Ledger is Tabloid turned landscape, given portrait like the others.
    **_inch_sizes({
        "Letter": (8.5, 11), "Legal": (8.5, 14), "Tabloid": (11, 17), "Ledger": (11, 17),
        "ANSI A": (8.5, 11), "ANSI B": (11, 17), "ANSI C": (17, 22), "ANSI D": (22, 34), "ANSI E": (34, 44),
        "Arch A": (9, 12), "Arch B": (12, 18), "Arch C": (18, 24), "Arch D": (24, 36), "Arch E": (36, 48),
        "Arch E1": (30, 42),
    }),
}
# Poster and print sizes so common that they are written without a unit ("an 18x24 poster"): inches.
COMMON_INCH_SIZES = frozenset({
    (8, 10), (8.5, 11), (11, 14), (11, 17), (12, 18), (16, 20), (18, 24), (20, 30), (24, 36), (27, 40), (27, 41),
    (30, 40), (36, 48), (40, 60),
})

MIN_SIDE_MM = 1.0  # a smaller "size" is no print, so it gets no paper-size fact
_ISO = re.compile(r"(?<!\w)([abc](?:10|[0-9]))(?!\w)", re.I)
# US names are everyday words ("a letter", "is it legal"), so they count only with "US"/"ANSI" before them or a
# paper word after them.
_US_NAMES = ("letter", "legal", "tabloid", "ledger")
_US = re.compile(
    rf"\b(?:(?P<us>U\.?S\.?|ANSI)[\s-]+)?(?P<name>{'|'.join(_US_NAMES)})\b"
    r"(?P<paper>[\s-]+(?:size[ds]?|paper|format|sheets?|pages?|posters?|prints?)\b)?", re.I)
_ANSI_ARCH_KINDS = ("ANSI", "ansi", "ARCH", "Arch", "arch")
_ANSI_ARCH = re.compile(rf"\b(?P<kind>{'|'.join(_ANSI_ARCH_KINDS)})[\s-]?(?P<letter>E1|[A-E])\b")


def named_papers(text: str) -> list[tuple[int, int, Paper]]:
    """Named paper sizes in the question, with where they are written."""
    # Each pattern only where what it needs is there: most questions name no paper.
    iso = _ISO.finditer(text) if has_digit(text) else ()
    us = _US.finditer(text) if not word_set(text).isdisjoint(_US_NAMES) else ()
    ansi_arch = _ANSI_ARCH.finditer(text) if any(kind in text for kind in _ANSI_ARCH_KINDS) else ()
    found = [(m.start(), m.end(), PAPERS[m.group(1).lower()]) for m in iso]
    for m in us:
        if m.group("us") or m.group("paper"):
            found.append((m.start("name"), m.end("name"), PAPERS[m.group("name").lower()]))
    for m in ansi_arch:
        key = f"{m.group('kind').lower()} {m.group('letter').lower()}"
        if key in PAPERS:
            found.append((m.start(), m.end(), PAPERS[key]))
    return sorted(found, key=lambda f: f[0])


def paper_fact(paper: Paper) -> Fact:
    """'A2 is 420 × 594 mm (16.5 × 23.4 in).'"""
    w_in, h_in = paper.width_mm / MM_PER_INCH, paper.height_mm / MM_PER_INCH
    if paper.inches:
        sizes = f"{fmt(w_in)} × {fmt(h_in)} in ({paper.width_mm:.1f} × {paper.height_mm:.1f} mm)"
    else:
        sizes = f"{fmt(paper.width_mm)} × {fmt(paper.height_mm)} mm ({w_in:.1f} × {h_in:.1f} in)"
    return Fact(kind="paper_size", statement=f"{paper.name} is {sizes}.", values={
        "name": paper.name, "width_mm": round(paper.width_mm, 2), "height_mm": round(paper.height_mm, 2),
        "width_in": round(w_in, 2), "height_in": round(h_in, 2),
    })


def size_unit(size: Size) -> str | None:
    """The unit of a size: as written, inches for a common unitless poster size, else None (maybe pixels)."""
    if size.unit or tuple(sorted((size.width, size.height))) not in COMMON_INCH_SIZES:
        return size.unit
    return "in"


def _same_as(width_mm: float, height_mm: float) -> list[str]:
    """Names of the paper sizes within 1 mm of a portrait size."""
    return [p.name for p in PAPERS.values() if abs(p.width_mm - width_mm) <= 1 and abs(p.height_mm - height_mm) <= 1]


def size_fact(size: Size) -> Fact | None:
    """'18 × 24 in is 457.2 × 609.6 mm (same as Arch C).' for a physical size; None for pixels or no unit."""
    unit = size_unit(size)
    if unit not in MM_PER or min(size.width, size.height) * MM_PER[unit] < MIN_SIDE_MM:
        return None
    a, b = sorted((size.width, size.height))
    w_mm, h_mm = a * MM_PER[unit], b * MM_PER[unit]
    w_in, h_in = w_mm / MM_PER_INCH, h_mm / MM_PER_INCH
    written = f"{fmt(a, 3)} × {fmt(b, 3)} {unit}"
    if unit == "in":
        converted = f"{fmt(w_mm, 1)} × {fmt(h_mm, 1)} mm"
    elif unit == "mm":
        converted = f"{fmt(w_in, 1)} × {fmt(h_in, 1)} in"
    else:
        converted = f"{fmt(w_mm, 1)} × {fmt(h_mm, 1)} mm ({fmt(w_in, 1)} × {fmt(h_in, 1)} in)"
    same = _same_as(w_mm, h_mm)
    also = f" (the size of {', '.join(same)})" if same else ""
    return Fact(kind="paper_size", statement=f"{written} is {converted}{also}.", values={
        "width_mm": rounded(w_mm, 2), "height_mm": rounded(h_mm, 2),
        "width_in": rounded(w_in, 3), "height_in": rounded(h_in, 3),
    })


def paper_facts(papers: list[tuple[int, int, Paper]], size_list: list[Size], limit: int) -> list[Found]:
    """Facts for the named paper sizes and the physical sizes in the question, each size once; the first `limit`."""
    written = sorted([*papers, *((s.start, s.end, s) for s in size_list)], key=lambda w: w[0])
    found, seen = [], set()
    for start, end, item in written:
        key = item if isinstance(item, Paper) else (item.width, item.height, item.unit)
        fact = None if key in seen else paper_fact(item) if isinstance(item, Paper) else size_fact(item)
        seen.add(key)
        if fact:
            found.append(Found(start, end, fact))
    return first_distinct(found, limit)
