"""Checks of where elements sit: canvas, bleed, safe margin, image resolution, overlapping text."""

from __future__ import annotations

from pydantic import BaseModel

from .geometry import (
    MM_PER_INCH, MM_PER_POINT, TOL_MM, Box, box_ops, edge_gaps, element_box, fit_into, is_bleed_element, set_op,
    trim_box,
)
from .schema import CheckOptions, Finding, ImageElement, Poster, ShapeElement

DPI_TOL = 0.01


def _name(element: BaseModel) -> str:
    """How a message names an element, e.g. "Text 'title'"."""
    return f"{element.type.capitalize()} '{element.id}'"


def _moved(poster: Poster, index: int, box: Box | None) -> list[dict] | None:
    """The fix that gives an element a new box, or None when there is none."""
    return None if box is None else box_ops(poster, index, box)


def off_canvas(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Text running off the canvas, and any element lying wholly off it; the fix fits it inside the safe margin."""
    trim = trim_box(poster)
    safe = trim.inset(options.safe_margin_mm)
    findings = []
    for index, element in enumerate(poster.elements):
        box = element_box(poster, element)
        inside = box.overlap(trim) / (box.width * box.height)
        if trim.contains(box) or (element.type != "text" and inside > 0):
            continue
        outside = round(100 * (1 - inside), 1)
        if inside > 0:
            message = f"{_name(element)} runs off the canvas ({outside:g}% of its box is outside), so it would be cut."
        else:
            message = f"{_name(element)} lies entirely outside the canvas, so it will not be printed."
        findings.append(Finding(
            check="off_canvas", severity="error" if element.type == "text" else "warning", elements=[element.id],
            measured=outside, threshold=0, message=message,
            fix=_moved(poster, index, fit_into(box, safe, keep_aspect=isinstance(element, ImageElement))),
        ))
    return findings


def _extend(box: Box, trim: Box, bleed: float) -> Box:
    """The box with every side that reaches the trim edge pushed `bleed` mm past it."""
    reach = {side for side, gap in edge_gaps(box, trim).items() if gap >= -TOL_MM}
    return Box(
        min(box.x0, trim.x0 - bleed) if "left" in reach else box.x0,
        min(box.y0, trim.y0 - bleed) if "top" in reach else box.y0,
        max(box.x1, trim.x1 + bleed) if "right" in reach else box.x1,
        max(box.y1, trim.y1 + bleed) if "bottom" in reach else box.y1,
    )


def _cover(box: Box, trim: Box, bleed: float) -> Box:
    """The image scaled up, keeping its aspect ratio, until every side that reaches the trim edge has bleed."""
    for _ in range(5):  # each pass can only add sides that now reach an edge; there are four
        target = _extend(box, trim, bleed)
        if target == box:
            break
        scale = max(target.width / box.width, target.height / box.height)
        cx, cy, w, h = (target.x0 + target.x1) / 2, (target.y0 + target.y1) / 2, box.width * scale, box.height * scale
        box = Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return box


def _document_bleed(poster: Poster, options: CheckOptions) -> list[Finding]:
    """The background needs bleed too; on white paper a missing one hardly shows, so that is only info."""
    if poster.bleed >= options.bleed_mm - TOL_MM:
        return []
    return [Finding(
        check="bleed", severity="info" if poster.background == "#ffffff" else "warning", elements=[],
        measured=poster.bleed, threshold=options.bleed_mm,
        message=f"The background has {poster.bleed:g} mm bleed; printers need it to run {options.bleed_mm:g} mm past "
        "the trim edge so no paper-coloured sliver shows after cutting.",
        fix=[set_op(poster, "", "bleed", options.bleed_mm)],
    )]


def bleed(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Background, and filled shapes or images that reach the trim edge, must run bleed_mm past it."""
    trim = trim_box(poster)
    findings = _document_bleed(poster, options)
    for index, element in enumerate(poster.elements):
        unfilled = isinstance(element, ShapeElement) and element.fill is None
        if unfilled or not is_bleed_element(poster, element):
            continue
        box = element_box(poster, element)
        short = min(gap for gap in edge_gaps(box, trim).values() if gap >= -TOL_MM)
        if short >= options.bleed_mm - TOL_MM:
            continue
        image = isinstance(element, ImageElement)
        grown = (_cover if image else _extend)(box, trim, options.bleed_mm)
        findings.append(Finding(
            check="bleed", severity="warning", elements=[element.id],
            measured=round(max(short, 0.0), 2), threshold=options.bleed_mm,
            message=f"{_name(element)} reaches the trim edge but runs only {max(short, 0.0):.1f} mm past it; "
            f"{'enlarge' if image else 'extend'} it to {options.bleed_mm:g} mm past the edge so no paper shows there.",
            fix=box_ops(poster, index, grown),
        ))
    return findings


def image_resolution(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Effective dpi of each image as printed; the fix shrinks it (inside the safe margin) to min_image_dpi."""
    safe = trim_box(poster).inset(options.safe_margin_mm)
    findings = []
    for index, element in enumerate(poster.elements):
        if not isinstance(element, ImageElement):
            continue
        box = element_box(poster, element)
        dpi = min(element.pixel_width * MM_PER_INCH / box.width, element.pixel_height * MM_PER_INCH / box.height)
        if dpi >= options.min_image_dpi - DPI_TOL:
            continue
        scale = dpi / options.min_image_dpi
        w, h = box.width * scale, box.height * scale
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        shrunk = fit_into(Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), safe, keep_aspect=True)
        findings.append(Finding(
            check="image_resolution", severity="error" if dpi < options.poor_image_dpi else "warning",
            elements=[element.id], measured=round(dpi, 1), threshold=options.min_image_dpi,
            message=f"{_name(element)} prints at {dpi:.0f} dpi ({element.pixel_width}×{element.pixel_height} px over "
            f"{box.width:.0f}×{box.height:.0f} mm), below {options.min_image_dpi:g} dpi, so it will look soft; "
            f"use a larger image or print it at most {w:.0f}×{h:.0f} mm.",
            fix=_moved(poster, index, shrunk),
        ))
    return findings


def safe_margin(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Content closer than safe_margin_mm to the trim edge; artwork that runs off the edge is the bleed check's."""
    trim = trim_box(poster)
    safe = trim.inset(options.safe_margin_mm)
    findings = []
    for index, element in enumerate(poster.elements):
        box = element_box(poster, element)
        if not trim.contains(box) or is_bleed_element(poster, element):
            continue
        distance = max(0.0, -max(edge_gaps(box, trim).values()))
        if distance >= options.safe_margin_mm - TOL_MM:
            continue
        findings.append(Finding(
            check="safe_margin", severity="warning", elements=[element.id],
            measured=round(distance, 2), threshold=options.safe_margin_mm,
            message=f"{_name(element)} is {distance:.1f} mm from the trim edge; keep it at least "
            f"{options.safe_margin_mm:g} mm inside so trimming cannot clip it.",
            fix=_moved(poster, index, fit_into(box, safe, keep_aspect=isinstance(element, ImageElement))),
        ))
    return findings


def _below(boxes: dict[int, Box], upper: int, lower: int, font_size: float, safe: Box) -> Box | None:
    """Text box `lower` moved under box `upper` with half a line of space, if it stays clear of all text and edges."""
    box, top = boxes[lower], boxes[upper].y1 + font_size * MM_PER_POINT / 2
    moved = Box(box.x0, top, box.x1, top + box.height)
    clear = not any(other.overlap(moved) for index, other in boxes.items() if index != lower)
    return moved if clear and safe.contains(moved) else None


def text_overlap(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Text boxes that overlap; the fix moves the later one below the earlier one when there is room."""
    safe = trim_box(poster).inset(options.safe_margin_mm)
    boxes = {i: element_box(poster, el) for i, el in enumerate(poster.elements) if el.type == "text"}
    findings = []
    for lower in boxes:
        for upper in [i for i in boxes if i < lower]:
            shared = boxes[upper].overlap(boxes[lower])
            if not shared:
                continue
            first, second = poster.elements[upper], poster.elements[lower]
            share = 100 * shared / min(b.width * b.height for b in (boxes[upper], boxes[lower]))
            moved = _below(boxes, upper, lower, second.font_size, safe)
            if moved is not None:
                boxes[lower] = moved
            findings.append(Finding(
                check="text_overlap", severity="warning", elements=[first.id, second.id],
                measured=round(share, 1), threshold=0,
                message=f"Text '{second.id}' overlaps text '{first.id}' ({share:.0f}% of the smaller box); "
                + ("move it below." if moved else "there is no room to move it below, so rearrange them."),
                fix=_moved(poster, lower, moved),
            ))
    return findings
