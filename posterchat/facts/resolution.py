"""Resolution facts: the effective ppi of an image whose pixels and print size the question both gives, and the
pixels a print size needs at a resolution the question gives."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..poster.geometry import MM_PER_INCH
from ..poster.schema import CheckOptions
from .lengths import MM_PER, Quantity, Size
from .model import Fact, Found
from .paper import Paper, size_unit
from .scan import fmt, rounded

# The thresholds of poster/layout.py's image_resolution check (below min_image_dpi: warning, below poor_image_dpi:
# error), read from its defaults so that both always agree.
POSTER_CHECK = CheckOptions()
# Close viewing: at 30 cm an eye resolving 1 arcminute sees detail of 0.087 mm, i.e. about 290 ppi; hence the print
# trade's usual 300 ppi for photos and anything read at arm's length.
CLOSE_VIEWING_PPI = 300.0
PRINT_UNITS = ("mm", "cm", "m", "in", "ft")
# Outside 1 ppi to this an effective or needed resolution, or beyond this a pixel count needed, is a misreading.
MAX_PPI, MAX_PIXELS = 20_000, 1_000_000
_HEIGHT_AFTER = re.compile(r"\s*(?:tall|high|height)\b", re.I)
_SIDE_AFTER = re.compile(r"\s*(?:wide|width|across|long|tall|high|height)\b", re.I)


@dataclass(frozen=True)
class _Print:
    """A print size: both sides in mm, or one side (height_mm None) that `tall` says is the height."""

    start: int
    end: int
    label: str
    width_mm: float
    height_mm: float | None
    tall: bool = False
    side: bool = False  # a single length with "wide", "tall" or the like after it


@dataclass(frozen=True)
class _Pixels:
    """An image's pixels: both sides, or one (height None)."""

    start: int
    end: int
    width: float
    height: float | None


def verdict(ppi: float) -> str:
    """What the effective resolution means for the print."""
    good, poor = POSTER_CHECK.min_image_dpi, POSTER_CHECK.poor_image_dpi
    if ppi >= CLOSE_VIEWING_PPI:
        return f"enough even for close viewing ({fmt(CLOSE_VIEWING_PPI)} ppi)"
    if ppi >= good:
        return (f"enough for a poster seen from a distance (at least {fmt(good)} ppi) but under the "
                f"{fmt(CLOSE_VIEWING_PPI)} ppi for close viewing")
    if ppi >= poor:
        return f"under the {fmt(good)} ppi a poster needs, so it will look soft"
    return f"under {fmt(poor)} ppi, so it will look blurred or pixelated"


def _candidates(text: str, papers: list[tuple[int, int, Paper]], size_list: list[Size],
                found: list[Quantity]) -> tuple[list[_Pixels], list[_Print]]:
    """The pixel counts and the print sizes in the question, each in order."""
    pixels = [_Pixels(q.start, q.end, q.value, None) for q in found if q.unit == "px"]
    prints = [_Print(start, end, p.name, p.width_mm, p.height_mm) for start, end, p in papers]
    prints += [_Print(q.start, q.end, f"{fmt(q.value, 3)} {q.unit}", q.value * MM_PER[q.unit], None,
                      tall=bool(_HEIGHT_AFTER.match(text, q.end)), side=bool(_SIDE_AFTER.match(text, q.end)))
               for q in found if q.unit in PRINT_UNITS]
    for s in size_list:
        unit = size_unit(s)
        if unit == "px" or (unit is None and min(s.width, s.height) >= 300):  # "a 1920x1080 image": pixels
            pixels.append(_Pixels(s.start, s.end, s.width, s.height))
        elif unit in PRINT_UNITS:
            prints.append(_Print(s.start, s.end, f"{fmt(s.width, 3)} × {fmt(s.height, 3)} {unit}",
                                 s.width * MM_PER[unit], s.height * MM_PER[unit]))
    return sorted(pixels, key=lambda p: p.start), sorted(prints, key=lambda p: p.start)


def _fact(px: _Pixels, pr: _Print) -> Fact | None:
    """The resolution fact for one image and print size; None when which side goes where is unclear."""
    if px.height is not None and pr.height_mm is not None:
        w_mm, h_mm, label = pr.width_mm, pr.height_mm, pr.label
        if (px.width >= px.height) != (w_mm >= h_mm):  # the image fills the sheet turned its way
            w_mm, h_mm = h_mm, w_mm
            label += " turned landscape" if w_mm > h_mm else " turned portrait"
        ppi_x, ppi_y = px.width * MM_PER_INCH / w_mm, px.height * MM_PER_INCH / h_mm
        ppi = min(ppi_x, ppi_y)
        shown = f"{fmt(ppi_x, 0)} × {fmt(ppi_y, 0)} ppi" if round(ppi_x) != round(ppi_y) else f"{fmt(ppi, 0)} ppi"
        fitted = f" ({fmt(ppi, 0)} ppi fitted without cropping)" if round(ppi_x) != round(ppi_y) else ""
        statement = (f"A {fmt(px.width)} × {fmt(px.height)} px image printed at {label} ({fmt(w_mm, 1)} × "
                     f"{fmt(h_mm, 1)} mm) gets {shown}{fitted}: {verdict(ppi)}.")
        values = {"pixels_x": rounded(px.width), "pixels_y": rounded(px.height), "print_width_mm": rounded(w_mm),
                  "print_height_mm": rounded(h_mm), "ppi_x": rounded(ppi_x, 1), "ppi_y": rounded(ppi_y, 1)}
    elif pr.height_mm is None:
        count = px.width if px.height is None or not pr.tall else px.height
        ppi = count * MM_PER_INCH / pr.width_mm
        statement = f"{fmt(count)} px across {pr.label} gives {fmt(ppi, 0)} ppi: {verdict(ppi)}."
        values = {"pixels": rounded(count), "print_mm": rounded(pr.width_mm)}
    else:
        return None
    if not 1 <= ppi <= MAX_PPI:
        return None
    return Fact(kind="resolution", statement=statement, values={**values, "ppi": rounded(ppi, 1)})


def _needed(pr: _Print, dpi: Quantity, written: str) -> Fact | None:
    """The pixels a print size needs at a resolution: '10 × 8 in at 300 ppi needs 3000 × 2400 px.'"""
    unit = "ppi" if "ppi" in written.lower() or "pixel" in written.lower() else "dpi"
    ppi = rounded(dpi.value)
    sides = [side / MM_PER_INCH * ppi for side in (pr.width_mm, pr.height_mm) if side is not None]
    if min(sides) < 1 or max(sides) > MAX_PIXELS:
        return None
    across = rounded(pr.width_mm / MM_PER_INCH * ppi, 0)
    values = {"print_width_mm": rounded(pr.width_mm, 2), "ppi": ppi, "pixels_x": across}
    if pr.height_mm is None:
        needs = f"{fmt(across)} px {'down' if pr.tall else 'across'}"
    else:
        down = rounded(pr.height_mm / MM_PER_INCH * ppi, 0)
        needs = f"{fmt(across)} × {fmt(down)} px"
        values |= {"print_height_mm": rounded(pr.height_mm, 2), "pixels_y": down}
    return Fact(kind="resolution", statement=f"{pr.label} at {fmt(ppi)} {unit} needs {needs}.", values=values)


def _needed_facts(text: str, prints: list[_Print], dpis: list[Quantity], limit: int) -> list[Found]:
    """The pixels each print size without an image needs, at the next resolution written (else the last)."""
    facts = []
    for pr in [p for p in prints if p.height_mm is not None or p.side][:limit]:
        dpi = next((d for d in dpis if d.start > pr.start), dpis[-1] if dpis else None)
        fact = dpi and _needed(pr, dpi, text[dpi.start:dpi.end])
        if fact:
            facts.append(Found(pr.start, max(pr.end, dpi.end), fact))
    return facts


def resolution_facts(text: str, papers: list[tuple[int, int, Paper]], size_list: list[Size],
                     found: list[Quantity], limit: int) -> tuple[list[Found], set[int]]:
    """Effective ppi of the first `limit` pixel counts, then pixels the other print sizes need; and what they used."""
    if not (papers or size_list or found):
        return [], set()
    # Each pixel count goes with the next print size (else the last); each print size left with the next dpi/ppi.
    pixels, prints = _candidates(text, papers, size_list, found)
    facts, used = [], set()
    for px in pixels[:limit]:
        free = [p for p in prints if p.start not in used]
        pr = next((p for p in free if p.start > px.start), free[-1] if free else None)
        fact = pr and _fact(px, pr)
        if fact:
            facts.append(Found(px.start, px.end, fact))
            used |= {px.start, pr.start}
    needed = _needed_facts(text, [p for p in prints if p.start not in used], [q for q in found if q.unit == "dpi"],
                           limit - len(facts))
    return facts + needed, used | {f.start for f in needed}
