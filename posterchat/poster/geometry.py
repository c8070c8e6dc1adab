"""Boxes in millimetres, unit conversion, and the JSON Patch ops that move elements."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .schema import ImageElement, Poster

MM_PER_INCH = 25.4
MM_PER_POINT = MM_PER_INCH / 72
# Fix values are rounded to 4 decimals of the canvas unit (at worst 0.0013 mm in inches),
# so comparisons allow this much before they call something misplaced.
TOL_MM = 0.01


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in mm, top-left origin."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        """Width in mm."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Height in mm."""
        return self.y1 - self.y0

    def overlap(self, other: Box) -> float:
        """Area (mm²) shared with another box."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > TOL_MM and h > TOL_MM else 0.0

    def contains(self, other: Box) -> bool:
        """Whether the other box lies inside this one."""
        return (
            other.x0 >= self.x0 - TOL_MM and other.y0 >= self.y0 - TOL_MM
            and other.x1 <= self.x1 + TOL_MM and other.y1 <= self.y1 + TOL_MM
        )

    def has_point(self, x: float, y: float) -> bool:
        """Whether a point lies inside."""
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def inset(self, d: float) -> Box:
        """The box shrunk by d on every side."""
        return Box(self.x0 + d, self.y0 + d, self.x1 - d, self.y1 - d)

    def sample_points(self, n: int = 5) -> list[tuple[float, float]]:
        """An n×n grid of points spread over the box."""
        steps = [(k + 0.5) / n for k in range(n)]
        return [(self.x0 + fx * self.width, self.y0 + fy * self.height) for fy in steps for fx in steps]


def mm_per_unit(poster: Poster) -> float:
    """Millimetres in one canvas unit."""
    return {"mm": 1.0, "in": MM_PER_INCH, "px": MM_PER_INCH / poster.dpi}[poster.unit]


def trim_box(poster: Poster) -> Box:
    """The canvas (trim size) in mm."""
    f = mm_per_unit(poster)
    return Box(0.0, 0.0, poster.width * f, poster.height * f)


def element_box(poster: Poster, element: BaseModel) -> Box:
    """An element's box in mm."""
    f = mm_per_unit(poster)
    return Box(element.x * f, element.y * f, (element.x + element.width) * f, (element.y + element.height) * f)


def edge_gaps(box: Box, trim: Box) -> dict[str, float]:
    """How far (mm) each side of the box reaches past the matching trim edge; negative when inside."""
    return {"left": trim.x0 - box.x0, "top": trim.y0 - box.y0, "right": box.x1 - trim.x1, "bottom": box.y1 - trim.y1}


def is_bleed_element(poster: Poster, element: BaseModel) -> bool:
    """Whether a shape or image is artwork meant to run off the page: it is on the canvas and reaches a trim edge."""
    box, trim = element_box(poster, element), trim_box(poster)
    return element.type != "text" and box.overlap(trim) > 0 and max(edge_gaps(box, trim).values()) >= -TOL_MM


def fit_into(box: Box, area: Box, keep_aspect: bool) -> Box | None:
    """The box shrunk (if needed) and moved to lie inside area; None if area is empty."""
    if area.width <= 0 or area.height <= 0:
        return None
    w, h = box.width, box.height
    if keep_aspect:
        scale = min(1.0, area.width / w, area.height / h)
        w, h = w * scale, h * scale
    else:
        w, h = min(w, area.width), min(h, area.height)
    x0 = min(max(box.x0, area.x0), area.x1 - w)
    y0 = min(max(box.y0, area.y0), area.y1 - h)
    return Box(x0, y0, x0 + w, y0 + h)


def to_unit(poster: Poster, mm: float, *, down: bool = False) -> float:
    """A length in mm as the canvas unit, to 4 decimals; `down` rounds down instead of to nearest."""
    value = mm / mm_per_unit(poster)
    return math.floor(value * 1e4) / 1e4 if down else round(value, 4)


def set_op(model: BaseModel, path: str, field: str, value: Any) -> dict[str, Any]:
    """A JSON Patch op setting one field: 'replace' for required fields, 'add' for ones that may be absent."""
    op = "replace" if type(model).model_fields[field].is_required() else "add"
    return {"op": op, "path": f"{path}/{field}", "value": value}


def box_ops(poster: Poster, index: int, box: Box) -> list[dict[str, Any]]:
    """JSON Patch ops giving element `index` the box (mm); image sizes round down so dpi never drops."""
    element, path = poster.elements[index], f"/elements/{index}"
    down = isinstance(element, ImageElement)
    values = {
        "x": to_unit(poster, box.x0),
        "y": to_unit(poster, box.y0),
        "width": to_unit(poster, box.width, down=down),
        "height": to_unit(poster, box.height, down=down),
    }
    return [set_op(element, path, field, value) for field, value in values.items()]
