"""posterchat.facts: design facts measured from the designer's question."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from posterchat.facts import MAX_FACTS, Fact, measure
from posterchat.facts.colours import CSS_NAMES
from posterchat.poster import CheckOptions, check_poster
from posterchat.poster.typography import min_font_size_pt


def only(question: str, kind: str, **kwargs) -> Fact:
    """The one fact of `kind` the question gives."""
    facts = [f for f in measure(question, **kwargs) if f.kind == kind]
    assert len(facts) == 1, (question, measure(question, **kwargs))
    return facts[0]


# --- contrast ------------------------------------------------------------------------------------------------------

def test_grey_on_white_is_just_below_aa():
    fact = only("Is #777 on white readable?", "contrast")
    assert fact.values["ratio"] == 4.48
    assert (fact.values["aa_normal"], fact.values["aa_large"], fact.values["aaa_large"]) == (False, True, False)
    assert "4.48:1" in fact.statement and "fails WCAG AA for normal text" in fact.statement
    assert "passes AA for large text" in fact.statement


def test_black_on_white_is_21_to_1():
    fact = only("black on white", "contrast")
    assert fact.values["ratio"] == 21 and "21:1" in fact.statement and "21.00" not in fact.statement
    assert all(fact.values[k] for k in ("aa_normal", "aa_large", "aaa_normal", "aaa_large"))


def test_rgb_and_name_parse_the_same():
    by_rgb = only("rgb(255, 255, 255) text on #000", "contrast").values
    by_percent = only("rgb(100%, 100%, 100%) text on #000", "contrast").values
    by_name = only("white text on #000", "contrast").values
    by_hsl = only("hsl(0, 0%, 100%) text on #000", "contrast").values
    assert by_rgb == by_name == by_percent == by_hsl
    assert by_rgb["text"] == "#ffffff"


@pytest.mark.parametrize(("font_size", "weight", "severity", "threshold", "level"), [
    (12, 400, "error", 4.5, "aa_normal"), (18, 400, "info", 4.5, "aaa_large"), (14, 700, "info", 4.5, "aaa_large"),
])
def test_contrast_agrees_with_the_poster_check(font_size, weight, severity, threshold, level):
    """Same ratio, thresholds and large-text rule as poster/colour.py's contrast check."""
    poster = {"width": 420, "height": 594, "unit": "mm", "background": "#ffffff", "elements": [
        {"id": "t", "type": "text", "x": 10, "y": 10, "width": 200, "height": 50, "content": "Hi",
         "font_family": "Inter", "font_size": font_size, "font_weight": weight, "color": "#777777"}]}
    finding = next(f for f in check_poster(poster) if f.check == "contrast")
    fact = only("#777777 on #ffffff", "contrast")
    assert (finding.measured, finding.severity, finding.threshold) == (fact.values["ratio"], severity, threshold)
    assert fact.values[level] is False


@pytest.mark.parametrize("question", [
    "white text on a navy background",
    "navy background with white text",
    "a navy background, white text",
    "Is white on navy readable?",
    "navy behind white",
    "white 16 px button text, on a navy panel",
    "a navy background with white 12 pt body text",
])
def test_text_and_background_order(question):
    fact = only(question, "contrast")
    assert (fact.values["text"], fact.values["background"]) == ("#ffffff", "#000080")
    assert fact.statement.startswith("White (#ffffff) on navy (#000080)")


@pytest.mark.parametrize(("question", "text", "background", "opening"), [
    ("A #959595 grey icon on white: does it meet WCAG's 3:1 non-text contrast?", "#959595", "#ffffff",
     "Grey (#959595) on white (#ffffff)"),
    ("Is grey #959595 text readable on white?", "#959595", "#ffffff", "Grey (#959595) on white"),
    ("dark blue (#1d3557) headline on a cream #fdf6e3 background", "#1d3557", "#fdf6e3",
     "Dark blue (#1d3557) on cream (#fdf6e3)"),
    ("white #ffffff text on #e63946", "#ffffff", "#e63946", "White (#ffffff) on #e63946"),
    ("#fff (white) on #1d3557 (dark blue)", "#ffffff", "#1d3557", "White (#ffffff) on dark blue (#1d3557)"),
    ("Is #6c757d light-grey text on white OK?", "#6c757d", "#ffffff", "Light-grey (#6c757d) on white"),
    ("#767676-grey on white?", "#767676", "#ffffff", "Grey (#767676) on white"),
    ("Does #e63946 red text pass on a #f1faee off-white background?", "#e63946", "#f1faee",
     "Red (#e63946) on off-white (#f1faee)"),
    ("rgb(108, 117, 125) body copy on a light grey #f8f9fa card", "#6c757d", "#f8f9fa",
     "#6c757d on light grey (#f8f9fa)"),
    ("navy blue #14213d on white", "#14213d", "#ffffff", "Navy blue (#14213d) on white"),
    ("White 16 px button text on a pure red #ff0000 background", "#ffffff", "#ff0000",
     "White (#ffffff) on pure red (#ff0000)"),
])
def test_a_colour_word_next_to_a_value_names_that_value(question, text, background, opening):
    fact = only(question, "contrast")
    assert (fact.values["text"], fact.values["background"]) == (text, background)
    assert fact.statement.startswith(opening + " has") or fact.statement.startswith(opening + " (")


@pytest.mark.parametrize(("question", "pairs"), [
    ("Compare black, #555 and #999 text on white.",
     [("#000000", "#ffffff"), ("#555555", "#ffffff"), ("#999999", "#ffffff")]),
    ("white on red, green and blue", [("#ffffff", "#ff0000"), ("#ffffff", "#008000"), ("#ffffff", "#0000ff")]),
    ("red and green text on white", [("#ff0000", "#ffffff"), ("#008000", "#ffffff")]),
    ("#ff0000 red vs #cc0000 dark red on white?", [("#ff0000", "#ffffff"), ("#cc0000", "#ffffff")]),
    ("My background is #fdf6e3. The logo uses #e63946 and #1d3557.",
     [("#e63946", "#fdf6e3"), ("#1d3557", "#fdf6e3")]),
    ("white vs navy", [("#ffffff", "#000080")]),
])
def test_a_list_next_to_an_x_on_y_shares_its_other_side(question, pairs):
    assert [(f.values["text"], f.values["background"]) for f in measure(question)] == pairs


def test_translucent_text_is_blended_over_the_background():
    assert only("rgba(0, 0, 0, 0.5) on white", "contrast").values["ratio"] == pytest.approx(3.98, abs=0.01)


def test_rounding_never_shows_a_passing_ratio_for_a_failing_pair():
    from posterchat.facts.colours import shown_ratio
    assert shown_ratio(4.4999) == 4.49 and shown_ratio(4.478) == 4.48 and shown_ratio(2.996) == 2.99


def test_each_neighbouring_pair_once():
    facts = measure("#000, #333, #fff and #000, #333")
    assert [(f.values["text"], f.values["background"]) for f in facts] == [
        ("#000000", "#333333"), ("#333333", "#ffffff"), ("#ffffff", "#000000")]


def test_css_names_are_coloraides():
    from coloraide.css.color_names import name2val_map
    assert CSS_NAMES == set(name2val_map) - {"transparent"}


def test_no_colour_question_leaves_coloraide_unloaded():
    code = ("import sys, posterchat.facts as f; f.measure('A2 poster read from 3 m, 12 pt, white space, #777'); "
            "sys.exit('coloraide' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


# --- paper sizes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "name", "mm"), [
    ("How big is A2?", "A2", (420, 594)),
    ("a4 flyer", "A4", (210, 297)),
    ("B1 poster", "B1", (707, 1000)),
    ("A0", "A0", (841, 1189)),
    ("A10 label", "A10", (26, 37)),
    ("B10", "B10", (31, 44)),
    ("C4 envelope", "C4", (229, 324)),
])
def test_iso_sizes(question, name, mm):
    fact = only(question, "paper_size")
    assert (fact.values["name"], fact.values["width_mm"], fact.values["height_mm"]) == (name, *mm)
    assert fact.statement.startswith(f"{name} is {mm[0]} × {mm[1]} mm (")


def test_a2_statement():
    assert only("A2", "paper_size").statement == "A2 is 420 × 594 mm (16.5 × 23.4 in)."


@pytest.mark.parametrize(("question", "inches"), [
    ("US Letter", (8.5, 11)), ("letter size paper", (8.5, 11)), ("legal paper", (8.5, 14)),
    ("Tabloid size", (11, 17)), ("ANSI D", (22, 34)), ("Arch E", (36, 48)),
])
def test_us_sizes(question, inches):
    fact = only(question, "paper_size")
    assert (fact.values["width_in"], fact.values["height_in"]) == inches
    assert f"{inches[0]:g} × {inches[1]:g} in" in fact.statement


def test_letter_statement():
    assert only("US Letter", "paper_size").statement == "Letter is 8.5 × 11 in (215.9 × 279.4 mm)."


@pytest.mark.parametrize(("question", "mm"), [
    ("an 18×24 poster", (457.2, 609.6)), ("24 x 36 in", (609.6, 914.4)), ("11x17", (279.4, 431.8)),
    ("print it 70 × 50 cm", (500, 700)), ("36 by 24 inches", (609.6, 914.4)),
])
def test_written_sizes_are_given_portrait_in_mm(question, mm):
    fact = only(question, "paper_size")
    assert (fact.values["width_mm"], fact.values["height_mm"]) == mm


# --- text size at a viewing distance -------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "metres"), [
    ("Readable from 1.5 m?", 1.5), ("viewing distance of 3m", 3.0), ("people stand 5 metres away", 5.0),
    ("across a room (~3 m)", 3.0), ("viewed at 10 feet", 10 * 0.3048), ("read from 20 ft", 20 * 0.3048),
])
def test_distance_uses_the_poster_rule(question, metres):
    fact = only(question, "text_size")
    assert fact.values["min_font_size_pt"] == min_font_size_pt(metres)
    assert fact.values["distance_m"] == pytest.approx(metres)
    assert f"at least {min_font_size_pt(metres)} pt" in fact.statement and " mm" in fact.statement


@pytest.mark.parametrize(("question", "metres"), [
    ("Visitors will stand about 1 m from the board; is 18 pt body text enough?", 1.0),
    ("People sit 4 m from the screen", 4.0),
])
def test_where_people_stand_is_a_distance(question, metres):
    assert only(question, "text_size").values["distance_m"] == metres


@pytest.mark.parametrize("question", ["The stand is 2 m", "The stand is 2 m wide", "read from 0.5 cm"])
def test_not_a_reading_distance(question):
    assert [f for f in measure(question) if f.kind == "text_size"] == []


def test_asking_about_text_size_uses_the_given_distance():
    fact = only("What font size should the body text be?", "text_size", viewing_distance_m=1.5)
    assert fact.values["min_font_size_pt"] == min_font_size_pt(1.5) and fact.values["assumed"] is True


def test_sizes_are_not_distances():
    assert measure("a 2 m wide banner") == []
    assert measure("the wall is 3 m across") == []


# --- conversions and resolution ------------------------------------------------------------------------------------

def test_points_to_mm():
    fact = only("What is 12 pt in mm?", "conversion")
    assert fact.values["mm"] == pytest.approx(4.2333, abs=1e-4)
    assert fact.statement == "12 pt = 4.23 mm = 0.167 in = 16 px at 96 px/in."


def test_pixels_at_a_stated_dpi():
    fact = only("How many inches is 300 px at 300 dpi?", "conversion")
    assert fact.values["in"] == 1 and fact.values["px_per_in"] == 300


def test_lengths_used_by_other_facts_are_not_converted():
    assert [f.kind for f in measure("text read from 5 m on A2, 24 x 36 in")] == ["text_size", "paper_size",
                                                                                "paper_size"]
    assert measure("set 12 in Helvetica") == []


def test_effective_ppi_of_a_photo_on_a4():
    fact = only("a 3000 × 2000 px photo printed at A4", "resolution")
    assert fact.values["ppi_x"] == pytest.approx(3000 / (297 / 25.4), abs=0.1)
    assert fact.values["ppi_y"] == pytest.approx(2000 / (210 / 25.4), abs=0.1)
    assert fact.values["ppi"] == fact.values["ppi_y"]
    assert "under the 300 ppi" in fact.statement


def test_effective_ppi_along_one_side():
    fact = only("a 4000 px wide image 50 cm wide", "resolution")
    assert fact.values["ppi"] == pytest.approx(203.2)


def test_resolution_verdicts_follow_the_poster_check():
    options = CheckOptions()
    low = only(f"1000 px across {25.4 * 1000 / (options.min_image_dpi - 10):.1f} mm", "resolution")
    assert f"under the {options.min_image_dpi:g} ppi" in low.statement
    assert "pixelated" in only("500 px across 20 cm", "resolution").statement
    assert "enough even for close viewing" in only("3000 px across 10 in", "resolution").statement


@pytest.mark.parametrize(("question", "statement"), [
    ("How big is one typographic point in millimetres?", "1 pt = 0.353 mm = 0.0139 in = 1.33 px at 96 px/in."),
    ("how many millimetres in an inch?", "1 in = 25.4 mm = 72 pt = 96 px at 96 px/in."),
    ("How many points in an inch?", "1 in = 25.4 mm = 72 pt = 96 px at 96 px/in."),
    ("what is a pica in points?", "1 pc = 4.23 mm = 0.167 in = 12 pt = 16 px at 96 px/in."),
    ("how many picas in an inch", "1 in = 25.4 mm = 72 pt = 6 pc = 96 px at 96 px/in."),
    ("how many cm is a pica", "1 pc = 4.23 mm = 0.423 cm = 0.167 in = 12 pt = 16 px at 96 px/in."),
    ("Convert points to millimetres please.", "1 pt = 0.353 mm = 0.0139 in = 1.33 px at 96 px/in."),
    ("pt to px conversion", "1 pt = 0.353 mm = 0.0139 in = 1.33 px at 96 px/in."),
    ("What is 12 points in mm?", "12 pt = 4.23 mm = 0.167 in = 16 px at 96 px/in."),
    ("What is 0.25 pt in mm for a hairline rule?", "0.25 pt = 0.0882 mm = 0.00347 in = 0.333 px at 96 px/in."),
    ("My margins are 15 mm; how many inches is that?", "15 mm = 0.591 in = 42.52 pt = 56.69 px at 96 px/in."),
    ("Convert 2 picas to cm", "2 pc = 8.47 mm = 0.847 cm = 0.333 in = 24 pt = 32 px at 96 px/in."),
])
def test_conversions_asked_for(question, statement):
    assert only(question, "conversion").statement == statement


@pytest.mark.parametrize("question", [
    "I want to make a point about colour in the headline.", "He made a point to me about margins.",
    "How many pixels per inch do I need for print?", "how big is a pica", "Is one point of difference noticeable?",
    "Make a point in the intro about pixels.", "The sign will be mounted 60 in high on the wall, what size for A1?",
    "Should my trim be 3 mm inside an A4 page?", "a 12 points plan", "3 points to consider",
])
def test_no_conversion_unless_asked(question):
    assert [f for f in measure(question) if f.kind == "conversion"] == []


@pytest.mark.parametrize(("question", "statement", "pixels"), [
    ("How many pixels do I need for a photo printed at 10 × 8 inches at 300 ppi?",
     "10 × 8 in at 300 ppi needs 3000 × 2400 px.", (3000, 2400)),
    ("What resolution for an A3 poster at 150 dpi?", "A3 at 150 dpi needs 1754 × 2480 px.", (1754, 2480)),
    ("How many pixels for an 18 x 24 poster at 200 dpi?", "18 × 24 in at 200 dpi needs 3600 × 4800 px.",
     (3600, 4800)),
    ("Print 60 x 90 cm at 100 pixels per inch", "60 × 90 cm at 100 ppi needs 2362 × 3543 px.", (2362, 3543)),
    ("A 2 m wide banner at 100 dpi?", "2 m at 100 dpi needs 7874 px across.", (7874,)),
    ("At 300 dpi, is my A4 flyer OK?", "A4 at 300 dpi needs 2480 × 3508 px.", (2480, 3508)),
])
def test_pixels_needed_for_a_print_size_at_a_resolution(question, statement, pixels):
    fact = only(question, "resolution")
    assert fact.statement == statement
    assert tuple(fact.values[k] for k in ("pixels_x", "pixels_y") if k in fact.values) == pixels


def test_a_written_size_a_resolution_fact_states_gets_no_fact_of_its_own():
    assert [f.kind for f in measure("How many pixels for an 18 x 24 poster at 200 dpi?")] == ["resolution"]
    assert [f.kind for f in measure("a 1080 x 1920 photo on a 24 x 36 inch poster")] == ["resolution"]
    assert [f.kind for f in measure("A3 at 150 dpi")] == ["paper_size", "resolution"]  # the paper fact names it


@pytest.mark.parametrize(("value", "places", "shown"), [
    (4.2333, 2, "4.23"), (0.352777, 2, "0.353"), (0.0138888, 3, "0.0139"), (16.0, 2, "16"), (53.33, 0, "53"),
    (1234567.891, 2, "1234570"), (123456.789, 2, "123457"), (0.125, 3, "0.125"), (21.0, 2, "21"),
])
def test_numbers_keep_3_to_6_significant_digits(value, places, shown):
    from posterchat.facts.scan import fmt
    assert fmt(value, places) == shown


def assert_sensible(fact: Fact) -> None:
    """Every number in the fact is positive, with at most 6 significant digits."""
    for number in re.findall(r"(?<![\w#.])\d+(?:\.\d+)?", fact.statement):
        digits = number.replace(".", "").lstrip("0")
        assert float(number) > 0 and len(digits if "." in number else digits.rstrip("0")) <= 6, fact.statement
    assert all(v > 0 for v in fact.values.values() if isinstance(v, float)), fact.values


@pytest.mark.parametrize("question", [
    "9999999 mm", "0.0001 px", "1000000 px across 1 mm", "9999999 x 9999999 px at A4", "A0 at 20000 dpi",
    "30000.0001 pt in mm", "from 0.0001 ft", "0.0001 x 0.0001 cm", "0.5 px across 1,000,000 mm", "A0 at 0.5 dpi",
    "9999999 in to mm", "3000.0001 dpi, 12 pt",
])
def test_no_absurd_numbers(question):
    for fact in measure(question):
        assert_sensible(fact)


# --- precision and robustness --------------------------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    "", "hi", "Hello! Can you help me?", "thanks, bye", "what's a good font?", "how much white space should I leave?",
    "is B2B marketing better on posters?", "A11y tips for posters", "a 4 page flyer", "whitespace between lines",
    "a black-and-white photo", "Should I print in black and white?", "is it legal to use this font?",
    "letter spacing for headlines", "gold medal on a tan table", "the sky is blue and the grass is green",
    "red or black headline?", "navy blue", "Is white balance important?", "Top 10 tips", "meet at 5 pm",
    "a 2 m wide banner", "set 12 in Helvetica", "I use 300 dpi", "white", "#777", "Black Friday sale",
    "Fix #123 and #456", "posters for #2024 and #2025", "an off-white or cream stock?",
    "Red Bull sponsored event, white logo",
])
def test_questions_without_facts(question):
    assert measure(question) == []


def _hostile() -> list[str]:
    rng = random.Random(20240601)
    parts = ["#", "#fff", "rgb(", ")", "hsl(1,2%,3%)", "white", "on", "A4", "x", "×", "12", "pt", "px", "in", "m",
             "from", "away", ",", ".", "3000", "dpi", "\x00", "😀", "\ud800", "1,000", "0", "-", " ", "by", "ft",
             "0.0001", "9999999", "a pica in points", "how many mm in an inch", "grey", "(", "wide", "ppi", "vs"]
    fuzz = ["".join(rng.choice(parts) + rng.choice(["", " "]) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    return fuzz + [
        "\x00" * 10_000, "😀" * 10_000, "x" * 10_000, "9" * 10_000, "#" * 10_000, "rgb(" * 3000, "1 x " * 2500,
        "white on black " * 700, "A4 " * 3000, "from 3 m " * 1000, "3000 px on 5 cm " * 600, "1,000,000" * 1000,
        "rgb(1e999, 0, 0) on white", "rgb(300, -5, 1000) on white", "0 x 0 px on A4", "from 0 m", "from 1e9 m",
        "#fff white " * 1000, "grey #959595 " * 1000, "how many mm in an inch " * 500, "A4 at 300 dpi " * 800,
        "(white) #fff (" * 1000, "9999999 x 9999999 px at A4", "0.0001 px", "hsl(none none none) on #fff",
        "".join(map(chr, range(0, 3000))),
    ]


def test_hostile_input_never_raises():
    for question in _hostile():
        facts = measure(question)
        assert isinstance(facts, list) and len(facts) <= MAX_FACTS
        assert all(isinstance(f, Fact) for f in facts)
        for fact in facts:
            assert_sensible(fact)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError):
        measure(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        measure("A2", viewing_distance_m=0)


def test_facts_in_order_of_appearance_and_capped():
    facts = measure("A3 or A2? white on navy, text read from 4 m, 12 pt, 3000 x 2000 px on A1, B2, B3, B4")
    assert [f.kind for f in facts] == ["paper_size", "paper_size", "contrast", "text_size", "conversion", "resolution"]
    assert len(measure("A0 A1 A2 A3 A4 A5 A6 A7 A8")) == MAX_FACTS
    assert len(measure("A4 or A4, A4")) == 1


def test_fact_round_trips_through_json():
    facts = measure("#777 on white, A2 from 3 m, 12 pt, 3000 x 2000 px on A4")
    assert {f.kind for f in facts} == {"contrast", "paper_size", "text_size", "conversion", "resolution"}
    for fact in facts:
        again = Fact.model_validate_json(fact.model_dump_json())
        assert again == fact
        assert all(type(again.values[k]) is type(v) for k, v in fact.values.items())
