"""Colour checks: WCAG contrast of text on what lies beneath it, and the number of colours.

coloraide is imported inside the functions that use it: it takes ~4 MB, which a server whose callers send no
posters never needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsonpatch
from pydantic import BaseModel

from .geometry import element_box, set_op
from .schema import CheckOptions, Finding, ImageElement, Poster, ShapeElement, TextElement
from .typography import visible_texts


@dataclass(frozen=True)
class _Reading:
    """Contrast of one text element against the worst colour beneath it."""

    index: int
    ratio: float
    backdrop: str
    backdrops: tuple[str, ...]
    over_image: bool
    large: bool

    @property
    def levels(self) -> tuple[float, float]:
        """WCAG 2.x minimum ratios (AA, AAA) for this text size."""
        return (3.0, 4.5) if self.large else (4.5, 7.0)

    @property
    def failed(self) -> str | None:
        """The lowest WCAG level this text fails, if any."""
        aa, aaa = self.levels
        return "AA" if self.ratio < aa else "AAA" if self.ratio < aaa else None


def _backdrops(poster: Poster, index: int) -> tuple[tuple[str, ...], bool]:
    """Colours showing under a text box, sampled on a grid, and whether an image shows under any of it."""
    below = [
        (element_box(poster, el), el) for el in poster.elements[:index]
        if isinstance(el, ImageElement) or (isinstance(el, ShapeElement) and el.fill)
    ]
    colours: dict[str, None] = {}
    over_image = False
    for x, y in element_box(poster, poster.elements[index]).sample_points():
        hits = [el for box, el in reversed(below) if box.has_point(x, y)]
        over_image |= bool(hits) and isinstance(hits[0], ImageElement)
        # An image's colours are unknown, so the nearest flat colour beneath it stands in for them.
        colours[next((el.fill for el in hits if isinstance(el, ShapeElement)), poster.background)] = None
    return tuple(colours), over_image


def _readings(poster: Poster) -> list[_Reading]:
    """Contrast readings of every visible text element."""
    from coloraide import Color

    readings = []
    for index, text in visible_texts(poster):
        backdrops, over_image = _backdrops(poster, index)
        ratio, backdrop = min((Color(text.color).contrast(bg, method="wcag21"), bg) for bg in backdrops)
        large = text.font_size >= 18 or (text.font_size >= 14 and text.font_weight >= 700)
        readings.append(_Reading(index, ratio, backdrop, backdrops, over_image, large))
    return readings


def _lightness_search(colour: str, end: float, backdrops: Sequence[str], ratio: float) -> str | None:
    """Move the OKLCh lightness towards end until the colour meets ratio on every backdrop, then bisect back."""
    from coloraide import Color

    lightness, chroma, hue = Color(colour).convert("oklch").coords()

    def candidate(value: float) -> str:
        return Color("oklch", [value, chroma, hue]).convert("srgb").to_string(hex=True)

    def passes(value: float) -> bool:
        colour = Color(candidate(value))
        return all(colour.contrast(bg, method="wcag21") >= ratio for bg in backdrops)

    failing = lightness
    for step in range(1, 26):
        passing = lightness + (end - lightness) * step / 25
        if passes(passing):
            break
        failing = passing
    else:
        return None
    for _ in range(16):
        middle = (failing + passing) / 2
        failing, passing = (failing, middle) if passes(middle) else (middle, passing)
    return candidate(passing)


def passing_colour(colour: str, backdrops: Sequence[str], ratio: float) -> str | None:
    """The nearest colour (ΔE 2000) of the same OKLCh hue, lighter or darker, meeting ratio on every backdrop."""
    from coloraide import Color

    found = [hit for end in (0.0, 1.0) if (hit := _lightness_search(colour, end, backdrops, ratio))]
    return min(found, key=lambda hit: Color(colour).delta_e(hit, method="2000"), default=None)


def _contrast_finding(poster: Poster, reading: _Reading) -> Finding:
    """The finding for a text that fails AA (with the nearest passing colour as fix) or only AAA (a note)."""
    text = poster.elements[reading.index]
    aa, aaa = reading.levels
    size = "large" if reading.large else "normal"
    measured = f"Text '{text.id}' ({text.color} on {reading.backdrop}) has contrast {reading.ratio:.2f}:1"
    if reading.failed == "AAA":
        return Finding(
            check="contrast", severity="info", elements=[text.id], measured=round(reading.ratio, 2), threshold=aaa,
            message=f"{measured}: enough for AA, but below the {aaa:g}:1 AAA level for {size} text.", fix=None,
        )
    better = passing_colour(text.color, reading.backdrops, aa)
    caveat = " (it sits on an image, so this uses the colour beneath and cannot be exact)" if reading.over_image else ""
    return Finding(
        check="contrast", severity="warning" if reading.over_image else "error", elements=[text.id],
        measured=round(reading.ratio, 2), threshold=aa,
        message=f"{measured}{caveat}, below the {aa:g}:1 AA minimum for {size} text"
        + (f"; {better} would pass." if better else "."),
        fix=None if better is None else [set_op(text, f"/elements/{reading.index}", "color", better)],
    )


def contrast(poster: Poster, options: CheckOptions) -> list[Finding]:
    """WCAG 2.x contrast of text on what shows beneath it: failing AA is an error, failing only AAA an info note."""
    return [_contrast_finding(poster, reading) for reading in _readings(poster) if reading.failed]


def _usages(poster: Poster) -> list[tuple[str, BaseModel, str, str]]:
    """Every colour use as (colour, model, JSON pointer of the model, field)."""
    uses: list[tuple[str, BaseModel, str, str]] = [(poster.background, poster, "", "background")]
    for index, el in enumerate(poster.elements):
        if isinstance(el, TextElement):
            uses.append((el.color, el, f"/elements/{index}", "color"))
        elif isinstance(el, ShapeElement) and el.fill:
            uses.append((el.fill, el, f"/elements/{index}", "fill"))
    return uses


def _recolour_ops(poster: Poster, mapping: dict[str, str]) -> list[dict[str, Any]]:
    """JSON Patch ops replacing every use of a mapped colour."""
    return [set_op(model, path, field, mapping[c]) for c, model, path, field in _usages(poster) if c in mapping]


def _aa_failures(poster: Poster) -> set[tuple[int, str, tuple[str, ...]]]:
    """The texts failing WCAG AA, each with its colour and the colours beneath it."""
    return {(r.index, poster.elements[r.index].color, r.backdrops) for r in _readings(poster) if r.failed == "AA"}


def _palette_mapping(poster: Poster, palette: list[str], extras: list[str]) -> dict[str, str] | None:
    """Map each extra colour onto the nearest palette colour that makes no text fail AA anew; None if one cannot be.

    Text already failing AA without a fix must keep its colours too, or re-checking would find a new fix for it.
    """
    from coloraide import Color

    allowed = _aa_failures(poster)
    data = poster.model_dump(mode="json")
    mapping: dict[str, str] = {}
    for extra in extras:
        for choice in sorted(palette, key=lambda p: Color(extra).delta_e(p, method="2000")):
            trial = {**mapping, extra: choice}
            recoloured = Poster.model_validate(jsonpatch.apply_patch(data, _recolour_ops(poster, trial)))
            if _aa_failures(recoloured) <= allowed:
                mapping = trial
                break
        else:
            return None
    return mapping


def colours(poster: Poster, options: CheckOptions) -> list[Finding]:
    """More than max_colours distinct colours; the fix maps the rarest onto the background and the most used ones.

    The default of five is the size of a typical design palette (Adobe Color and Coolors themes have five swatches).
    """
    uses = _usages(poster)
    counts = Counter(c for c, *_ in uses)
    if len(counts) <= options.max_colours:
        return []
    ranked = [poster.background] + [c for c, _ in counts.most_common() if c != poster.background]
    palette, extras = ranked[: options.max_colours], ranked[options.max_colours:]
    mapping = _palette_mapping(poster, palette, extras)
    if mapping:
        advice = "map " + ", ".join(f"{a} to {b}" for a, b in mapping.items()) + "."
    else:
        advice = f"merge {', '.join(extras)} into the others (no automatic choice keeps all text readable)."
    return [Finding(
        check="colours", severity="warning", elements=[model.id for c, model, _, _ in uses if c in extras],
        measured=len(counts), threshold=options.max_colours,
        message=f"The poster uses {len(counts)} colours, more than {options.max_colours}, which looks unplanned; "
        + advice,
        fix=None if mapping is None else _recolour_ops(poster, mapping),
    )]
