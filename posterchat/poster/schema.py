"""The poster description callers send, the findings the checks return, and the checks' options."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .sample import SAMPLE_POSTER

MAX_COORD = 100_000.0
MIN_SIZE = 0.001  # smaller sizes underflow to zero when multiplied (areas), and no real element is that small


_HEX = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def _long_hex(value: str) -> str:
    """'#ABC' as '#aabbcc', so equal colours compare equal."""
    if not _HEX.fullmatch(value):
        raise ValueError("must be a CSS hex colour such as #E4572E or #FFF")
    digits = value[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


# Names reach the model's prompt, so they are single-line and plain: letters, digits, spaces and a little punctuation.
_PLAIN = re.compile(r"\w[\w .,&'()+/-]*")


def _plain(value: str) -> str:
    if not _PLAIN.fullmatch(value):
        raise ValueError("must be a plain name: letters, digits, spaces and . , & ' ( ) + / -")
    return value


def plain_name(max_length: int) -> Any:
    """A single-line name of letters, digits, spaces and a little punctuation, at most `max_length` long."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
                     AfterValidator(_plain)]


FontFamily = plain_name(100)
HexColor = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(_long_hex),
    Field(description="Opaque CSS hex colour, '#rgb' or '#rrggbb'; kept as lowercase '#rrggbb'.", examples=["#1d3557"]),
]
ElementId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    Field(description="Unique id of the element: 1-64 characters of A-Z, a-z, 0-9, '_' and '-'.", examples=["title"]),
]
CheckId = Literal[
    "off_canvas", "bleed", "image_resolution", "safe_margin", "text_overlap",
    "contrast", "min_text_size", "hierarchy", "typefaces", "colours",
]


class _Element(BaseModel):
    """Fields every element has: a box in the canvas unit, top-left origin."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: no true for 1, no "12" for 12

    id: ElementId
    x: float = Field(ge=-MAX_COORD, le=MAX_COORD, description="Left edge, in the canvas unit.")
    y: float = Field(ge=-MAX_COORD, le=MAX_COORD, description="Top edge, in the canvas unit.")
    width: float = Field(ge=MIN_SIZE, le=MAX_COORD, description="Box width, in the canvas unit.")
    height: float = Field(ge=MIN_SIZE, le=MAX_COORD, description="Box height, in the canvas unit.")


class TextElement(_Element):
    """A text box."""

    model_config = ConfigDict(json_schema_extra={"examples": [SAMPLE_POSTER["elements"][1]]})

    type: Literal["text"] = Field(description="Element kind.")
    content: str = Field(max_length=5000, description="The text shown.")
    font_family: FontFamily = Field(description="Font family name, e.g. 'Inter'.")
    font_size: float = Field(gt=0, le=10_000, description="Font size in points (1/72 inch) as printed.")
    font_weight: int = Field(400, ge=100, le=900, description="CSS font weight, 100-900 (400 regular, 700 bold).")
    color: HexColor = Field("#000000", description="Text colour.")
    role: Literal["headline", "subhead", "body", "caption"] | None = Field(
        None, description="What the text is for; the hierarchy check compares headline with body text."
    )


class ImageElement(_Element):
    """A placed raster image; its box is its printed size."""

    model_config = ConfigDict(json_schema_extra={"examples": [SAMPLE_POSTER["elements"][3]]})

    type: Literal["image"] = Field(description="Element kind.")
    pixel_width: int = Field(ge=1, le=100_000, description="The image's native width in pixels.")
    pixel_height: int = Field(ge=1, le=100_000, description="The image's native height in pixels.")


class ShapeElement(_Element):
    """A rectangle-like shape; without a fill it is transparent."""

    model_config = ConfigDict(json_schema_extra={"examples": [SAMPLE_POSTER["elements"][0]]})

    type: Literal["shape"] = Field(description="Element kind.")
    fill: HexColor | None = Field(None, description="Fill colour; omitted or null for no fill.")


Element = Annotated[TextElement | ImageElement | ShapeElement, Field(discriminator="type")]


class Poster(BaseModel):
    """A poster: the canvas (trim size) and its elements, later elements drawn on top."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [SAMPLE_POSTER]})

    width: float = Field(ge=MIN_SIZE, le=MAX_COORD, description="Trim width, in `unit`.")
    height: float = Field(ge=MIN_SIZE, le=MAX_COORD, description="Trim height, in `unit`.")
    unit: Literal["px", "mm", "in"] = Field("mm", description="Unit of the canvas and of every element box.")
    dpi: float | None = Field(
        None, ge=10, le=4800,
        description="Print resolution, which converts px to physical size; default 300 for mm/in, 96 for px.",
    )
    background: HexColor = Field("#ffffff", description="Background colour of the whole canvas.")
    bleed: float = Field(0, ge=0, le=50, description="How far (mm) the background extends past the trim edge.")
    elements: list[Element] = Field(
        default_factory=list, max_length=200, description="The elements in z-order: later ones are drawn on top."
    )

    @model_validator(mode="after")
    def _default_dpi(self) -> Poster:
        """Fill in the unit's usual dpi when none is given."""
        if self.dpi is None:
            self.dpi = 96.0 if self.unit == "px" else 300.0
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Poster:
        """Element ids name elements in findings, so they must be unique."""
        seen: set[str] = set()
        for element in self.elements:
            if element.id in seen:
                raise ValueError(f"element id {element.id!r} is used more than once")
            seen.add(element.id)
        return self


class CheckOptions(BaseModel):
    """Thresholds of the design checks; callers map their own settings onto these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    viewing_distance_m: float = Field(3.0, gt=0, le=1000, description="Distance the poster is read from, in metres.")
    safe_margin_mm: float = Field(
        5.0, ge=0, le=200, description="Zone inside the trim edge kept free of content; printers ask for 3-5 mm."
    )
    bleed_mm: float = Field(3.0, ge=0, le=50, description="How far artwork reaching the trim edge must run past it.")
    min_image_dpi: float = Field(150.0, gt=0, le=4800, description="Effective image resolution below which: warning.")
    poor_image_dpi: float = Field(100.0, gt=0, le=4800, description="Effective image resolution below which: error.")
    max_typefaces: int = Field(3, ge=1, le=50, description="Most distinct font families before it is flagged.")
    max_colours: int = Field(5, ge=1, le=100, description="Most distinct colours (text, fills, background) allowed.")
    hierarchy_ratio: float = Field(1.5, ge=1, le=10, description="How many times the body text size a headline needs.")


class Finding(BaseModel):
    """One measured design problem, with a JSON Patch (RFC 6902) against the poster that resolves it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "check": "contrast",
                    "severity": "error",
                    "elements": ["title"],
                    "measured": 4.48,
                    "threshold": 4.5,
                    "message": "Text 'title' (#777777 on #ffffff) has contrast 4.48:1, below the 4.5:1 AA "
                    "minimum for normal text; #767676 would pass.",
                    "fix": [{"op": "add", "path": "/elements/1/color", "value": "#767676"}],
                }
            ]
        },
    )

    check: CheckId = Field(description="Which check found it.")
    severity: Literal["error", "warning", "info"] = Field(description="error: fix before printing; info: a suggestion.")
    elements: list[str] = Field(description="Ids of the elements involved; empty when it is about the whole poster.")
    measured: int | float | str = Field(description="What was measured, in the unit of `threshold`.")
    threshold: int | float | str = Field(description="The limit the measurement was compared with.")
    message: str = Field(description="One sentence for the designer.")
    fix: list[dict[str, Any]] | None = Field(
        description="JSON Patch (RFC 6902) ops against the poster that resolve it; null where no automatic fix fits."
    )
