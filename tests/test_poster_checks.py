"""Measured poster design checks: known values, fixes that resolve what they find, and the schema."""

from __future__ import annotations

import copy

import pytest
from coloraide import Color
from pydantic import ValidationError

from posterchat.poster import (
    CHECK_ORDER, SAMPLE_POSTER, CheckOptions, Poster, check_poster, summarize,
)
from posterchat.poster.schema import CheckId
from posterchat.poster.typography import min_font_size_pt

from .support.posters import apply_fixes


def text(eid, x, y, w, h, size=60, color="#111111", family="Inter", role=None, weight=400):
    """A text element dict."""
    element = {
        "id": eid, "type": "text", "x": x, "y": y, "width": w, "height": h, "content": f"Text {eid}",
        "font_family": family, "font_size": size, "font_weight": weight, "color": color,
    }
    return element | ({"role": role} if role else {})


def shape(eid, x, y, w, h, fill="#1d3557"):
    """A shape element dict."""
    return {"id": eid, "type": "shape", "x": x, "y": y, "width": w, "height": h, "fill": fill}


def image(eid, x, y, w, h, px_w, px_h):
    """An image element dict."""
    box = {"x": x, "y": y, "width": w, "height": h}
    return {"id": eid, "type": "image", **box, "pixel_width": px_w, "pixel_height": px_h}


def a2(*elements, **fields):
    """An A2 portrait poster in mm with 3 mm bleed on white."""
    poster = {"width": 420, "height": 594, "unit": "mm", "bleed": 3, "background": "#ffffff"}
    return poster | {"elements": list(elements)} | fields


def clean_poster():
    """A poster every check passes."""
    return a2(
        text("title", 30, 30, 360, 80, size=120, weight=700, role="headline"),
        text("body", 30, 140, 360, 100, size=60, color="#222222", role="body"),
        image("photo", 30, 260, 360, 240, 4300, 2900),
        shape("band", -3, 520, 426, 77),
        text("info", 30, 530, 300, 50, size=60, color="#ffffff", role="caption"),
    )


def only(findings, check):
    """The findings of one check."""
    return [f for f in findings if f.check == check]


def test_grey_on_white_measures_448_and_fails_aa_for_normal_text_only():
    small = check_poster(a2(text("t", 30, 30, 200, 40, size=12, color="#777777")), CheckOptions(viewing_distance_m=0.3))
    [finding] = only(small, "contrast")
    assert (finding.severity, finding.measured, finding.threshold) == ("error", 4.48, 4.5)
    assert "#777777 on #ffffff" in finding.message and "4.48:1" in finding.message

    [large] = only(check_poster(a2(text("t", 30, 30, 200, 40, size=18, color="#777777"))), "contrast")
    assert (large.severity, large.threshold, large.fix) == ("info", 4.5, None)  # passes AA large (3:1), not AAA


def test_bold_14pt_counts_as_large_text():
    findings = check_poster(a2(text("t", 30, 30, 200, 40, size=14, weight=700, color="#777777")))
    assert [f.severity for f in only(findings, "contrast")] == ["info"]


def test_contrast_fix_keeps_the_hue_and_passes_aa():
    near = CheckOptions(viewing_distance_m=0.3)
    [finding] = only(check_poster(a2(text("t", 30, 30, 200, 40, size=12, color="#777777")), near), "contrast")
    new = finding.fix[0]["value"]
    assert finding.fix[0]["path"] == "/elements/0/color"
    assert new == "#767676" and Color(new).contrast("#ffffff", method="wcag21") >= 4.5

    red = a2(shape("box", 20, 20, 380, 300, fill="#ff0000"), text("t", 30, 30, 200, 40, size=12, color="#ff8888"))
    [fix] = only(check_poster(red, near), "contrast")
    fixed = Poster.model_validate(apply_fixes(red, [fix])).elements[1].color
    assert Color(fixed).contrast("#ff0000", method="wcag21") >= 4.5
    assert abs(Color(fixed).convert("oklch")["hue"] - Color("#ff8888").convert("oklch")["hue"]) < 10


def test_contrast_over_an_image_is_a_warning_measured_on_the_colour_beneath():
    poster = a2(image("photo", 20, 20, 380, 300, 6000, 4800), text("t", 30, 30, 200, 40, size=60, color="#eeeeee"))
    [finding] = only(check_poster(poster), "contrast")
    assert finding.severity == "warning" and "image" in finding.message and "on #ffffff" in finding.message


def test_contrast_uses_the_topmost_shape_under_the_text():
    poster = a2(shape("light", 20, 20, 380, 300, fill="#ffffff"), shape("dark", 20, 20, 380, 300, fill="#111111"),
                text("t", 30, 30, 200, 40, color="#222222"))
    [finding] = only(check_poster(poster), "contrast")
    assert "on #111111" in finding.message and finding.severity == "error"


def test_min_text_size_rule_and_small_headline_on_a2_at_3m():
    assert min_font_size_pt(3.0) == 60 and min_font_size_pt(1.5) == 30
    poster = a2(text("title", 30, 30, 360, 80, size=10, role="headline"))
    [finding] = only(check_poster(poster, CheckOptions(viewing_distance_m=3)), "min_text_size")
    assert (finding.elements, finding.measured, finding.threshold, finding.severity) == (["title"], 10, 60, "error")
    assert finding.fix == [{"op": "replace", "path": "/elements/0/font_size", "value": 60}]
    assert not only(check_poster(poster, CheckOptions(viewing_distance_m=0.1)), "min_text_size")


def test_element_1mm_from_the_trim_edge_is_flagged():
    [finding] = only(check_poster(a2(text("t", 1, 30, 200, 60))), "safe_margin")
    assert finding.measured == 1.0 and finding.threshold == 5
    fixed = Poster.model_validate(apply_fixes(a2(text("t", 1, 30, 200, 60)), [finding]))
    assert fixed.elements[0].x == 5


def test_safe_margin_in_pixels_uses_the_dpi():
    poster = {"width": 4961, "height": 7016, "unit": "px", "dpi": 300, "bleed": 3,
              "elements": [text("t", 12, 400, 2000, 700, size=60)]}  # 12 px at 300 dpi is 1.02 mm
    [finding] = only(check_poster(poster), "safe_margin")
    assert finding.measured == pytest.approx(1.02, abs=0.01)


def test_bleed_for_background_and_edge_shapes():
    findings = only(check_poster(a2(shape("band", 0, 500, 420, 94), bleed=0, background="#fdf6e3")), "bleed")
    assert [(f.elements, f.severity) for f in findings] == [([], "warning"), (["band"], "warning")]
    assert findings[0].fix == [{"op": "add", "path": "/bleed", "value": 3.0}]
    assert not only(check_poster(clean_poster()), "bleed")


def test_low_resolution_images_are_flagged():
    findings = check_poster(a2(image("soft", 30, 30, 200, 150, 1000, 750), image("poor", 30, 300, 200, 150, 500, 375)))
    soft, poor = only(findings, "image_resolution")
    assert (soft.severity, soft.measured, poor.severity) == ("warning", 127.0, "error")
    fixed = Poster.model_validate(apply_fixes(a2(image("soft", 30, 30, 200, 150, 1000, 750)), [soft]))
    assert 1000 / (fixed.elements[0].width / 25.4) >= 150


def test_off_canvas_text_and_hidden_elements():
    findings = only(check_poster(a2(text("t", 300, 30, 200, 60), shape("gone", 500, 30, 50, 50))), "off_canvas")
    assert [(f.elements, f.severity) for f in findings] == [(["t"], "error"), (["gone"], "warning")]
    assert findings[1].measured == 100


def test_overlapping_text_moves_the_later_one_below():
    poster = a2(text("a", 30, 30, 300, 80), text("b", 40, 60, 300, 80))
    [finding] = only(check_poster(poster), "text_overlap")
    assert finding.elements == ["a", "b"]
    fixed = Poster.model_validate(apply_fixes(poster, [finding]))
    assert fixed.elements[1].y > fixed.elements[0].y + fixed.elements[0].height


def test_overlap_without_room_has_no_fix():
    poster = a2(text("a", 30, 30, 300, 530), text("b", 40, 60, 300, 80))
    [finding] = only(check_poster(poster), "text_overlap")
    assert finding.fix is None


def test_a_fix_that_would_make_the_poster_invalid_is_withheld():
    poster = a2(text("title", 30, 30, 360, 80, size=8000, role="headline"), text("body", 30, 140, 360, 80, size=7000))
    [finding] = only(check_poster(poster), "hierarchy")  # 1.5 × 7000 pt is above the 10000 pt limit
    assert finding.fix is None


def test_more_than_three_typefaces():
    families = ["Inter", "Inter", "Lora", "Bebas Neue", "Roboto Mono"]
    poster = a2(*(text(f"t{i}", 30, 30 + 100 * i, 300, 80, family=f) for i, f in enumerate(families)))
    [finding] = only(check_poster(poster), "typefaces")
    assert (finding.measured, finding.threshold) == (4, 3)
    assert {op["value"] for op in finding.fix} == {"Inter"}


def test_weak_hierarchy():
    poster = a2(text("title", 30, 30, 360, 80, size=70, role="headline"), text("body", 30, 140, 360, 80, role="body"))
    [finding] = only(check_poster(poster), "hierarchy")
    assert (finding.measured, finding.fix[0]["value"]) == (1.17, 90)


def test_too_many_colours():
    palette = ["#111111", "#222222", "#333333", "#1d3557", "#2a2a2a", "#003366"]
    poster = a2(*(text(f"t{i}", 30, 30 + 90 * i, 300, 80, color=c) for i, c in enumerate(palette)))
    [finding] = only(check_poster(poster), "colours")
    assert (finding.measured, finding.threshold) == (7, 5) and finding.fix


def test_clean_poster_has_no_findings():
    assert check_poster(clean_poster()) == []
    assert summarize([]) == "Measured design checks on the current poster: no problems found."


MESSY = [
    SAMPLE_POSTER,
    a2(
        image("bg", 0, 0, 420, 300, 3000, 2143),
        shape("box", 3, 320, 200, 150, fill="#e63946"),
        shape("gone", 600, 100, 50, 50, fill="#e63946"),
        text("h", 30, 30, 360, 80, size=50, color="#f4a261", family="Bebas Neue", role="headline"),
        text("b", 40, 60, 300, 100, size=30, color="#999999", role="body"),
        text("c", 20, 330, 170, 60, size=40, color="#ff8888", family="Lora"),
        text("d", 380, 560, 100, 50, size=40, color="#999999", family="Roboto Mono"),
        bleed=0,
    ),
    {"width": 16.5, "height": 23.4, "unit": "in", "background": "#1d3557", "elements": [
        text("title", 1, 1, 14, 2, size=90, color="#457b9d", family="Oswald"),
        text("sub", 0.1, 4, 10, 1, size=40, color="#a8dadc", family="Oswald"),
        image("pic", 1, 6, 14, 10, 1800, 1300),
    ]},
    {"width": 4961, "height": 7016, "unit": "px", "dpi": 300, "background": "#fafafa", "elements": [
        shape("stripe", 0, 0, 4961, 1000, fill="#ffb703"),
        text("t1", 200, 300, 3000, 500, size=80, color="#ffd166", family="Inter"),
        text("t2", 300, 500, 3000, 500, size=30, color="#cccccc", family="Inter"),
        text("t3", 4900, 3000, 800, 300, size=30, color="#777777", family="Inter"),
        shape("dot", 3000, 5000, 1200, 1200, fill="#fb8500"),
        text("t4", 400, 6000, 2000, 400, size=60, color="#023047", family="Inter"),
    ]},
]


@pytest.mark.parametrize("poster", MESSY, ids=["sample", "a2", "inches", "pixels"])
def test_applying_every_fix_resolves_what_was_found(poster):
    before = copy.deepcopy(poster)
    findings = check_poster(poster)
    assert {f.check for f in findings} >= {"contrast", "min_text_size"}
    assert all(f.fix for f in findings if f.severity != "info")
    fixed = apply_fixes(poster, findings)
    assert poster == before
    # Text raised to AA can still fall short of AAA: an info note without a fix.
    assert all((f.check, f.severity, f.fix) == ("contrast", "info", None) for f in check_poster(fixed))


def test_summary_is_short_and_most_severe_first():
    summary = summarize(check_poster(MESSY[1]))
    lines = summary.splitlines()
    assert lines[0].startswith("Measured design checks on the current poster (")
    assert "(error" in lines[1] and len(lines) <= 8 and lines[-1].startswith("- ...and ")
    assert summarize(check_poster(SAMPLE_POSTER)).count("\n") == 7


def test_schema_validation():
    assert [c for c in CHECK_ORDER] == list(CheckId.__args__)
    assert Poster.model_validate(SAMPLE_POSTER).dpi == 300
    assert check_poster(Poster.model_validate(SAMPLE_POSTER)) == check_poster(SAMPLE_POSTER)
    assert Poster.model_validate({"width": 800, "height": 600, "unit": "px"}).dpi == 96
    assert Poster.model_validate(a2(text("t", 1, 1, 5, 5, color="#ABC"))).elements[0].color == "#aabbcc"
    for bad in (
        a2(text("t", 1, 1, 5, 5), text("t", 1, 1, 5, 5)),
        a2(text("bad id!", 1, 1, 5, 5)),
        a2(text("t", 1, 1, 5, 5) | {"opacity": 1}),
        a2(text("t", 1, 1, 5, 5, color="red")),
        a2(shape("s", 1, 1, 0, 5)),
        a2(unit="cm"),
    ):
        with pytest.raises(ValidationError):
            Poster.model_validate(bad)
    schema = Poster.model_json_schema()
    assert schema["examples"] == [SAMPLE_POSTER] and "description" in schema["properties"]["bleed"]
