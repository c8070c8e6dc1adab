"""The design knowledge base: data quality, key facts, retrieval quality and hostile input."""

import re
import threading

import pytest
from pydantic import ValidationError

from posterchat import knowledge
from posterchat.knowledge import TOPICS, Entry, KnowledgeError, search
from posterchat.knowledge.index import MIN_RELEVANCE, WEIGHTS, match_expression, query_terms
from posterchat.knowledge.model import _parse_file

# Designer questions, worded the way people ask them, and the entry that must be in the top 3.
QUESTIONS = [
    # contrast
    ("is 4.5 to 1 enough for my body copy?", "wcag-aa-normal-text"),
    ("my headline is huge, what's the minimum contrast it needs?", "wcag-aa-large-text"),
    ("what ratio do I need to hit triple A?", "wcag-aaa-enhanced"),
    ("at what point size does text count as large for accessibility?", "wcag-large-text-definition"),
    ("how do I work out the contrast between two hex colours?", "contrast-ratio-formula"),
    ("do icons and chart lines need contrast too?", "wcag-non-text-contrast"),
    ("does the sponsor logo have to meet contrast rules?", "contrast-logotype-exemption"),
    ("is #777777 grey text on white readable enough?", "contrast-grey-examples"),
    ("my white title sits on a busy photo, how do I keep it readable?", "contrast-text-on-images"),
    # paper sizes
    ("what are the dimensions of an A1 sheet?", "iso-a1"),
    ("A2 in millimetres?", "iso-a2"),
    ("why can I blow up an A4 layout to A3 without cropping?", "a-series-scaling"),
    ("what's the size of a B2 poster", "iso-b-series"),
    ("which envelope fits an A4 page without folding?", "iso-c-series-envelopes"),
    ("how big is a standard movie poster in inches?", "movie-one-sheet"),
    ("is tabloid the same as 11x17?", "us-tabloid-ledger"),
    ("what size is arch D?", "arch-series"),
    # bleed
    ("how far should the background go past the cut line?", "bleed-3mm"),
    ("my US printer wants an eighth of an inch extra around the art, why?", "bleed-eighth-inch"),
    ("how close to the edge can I put text before it gets chopped off?", "safe-margin-metric"),
    ("what are those little lines in the corners for cutting?", "crop-marks"),
    ("where do I put notes for the print shop outside the page?", "slug-area"),
    ("my vinyl banner gets grommets, do I need more bleed?", "bleed-large-format"),
    # resolution
    ("my photo is 3000 px wide, how big can I print it sharply?", "effective-ppi"),
    ("do I really need 300 dpi for an A0 poster seen from a few metres?", "large-poster-ppi"),
    ("can I upscale a small picture to make it print-ready?", "upscaling-no-detail"),
    ("what's the difference between dpi and ppi?", "dpi-vs-ppi"),
    ("how many pixels does an 18x24 poster need?", "pixels-needed-for-poster"),
    ("does 72 dpi matter for an image on a website?", "screen-ppi-irrelevant"),
    # print colour
    ("should I design in RGB or CMYK for a print run?", "rgb-vs-cmyk"),
    ("why does my bright neon green look dull when printed?", "cmyk-gamut"),
    ("what black should I use for a big dark background?", "rich-black"),
    ("what's the maximum ink coverage my file can have?", "total-ink-coverage"),
    ("what's the difference between a Pantone colour and a process colour?", "spot-colour"),
    ("which CMYK profile should I use for printing in Europe?", "fogra-profiles"),
    ("should I export PDF/X-1a or PDF/X-4 if I have transparency?", "pdfx-4"),
    ("my white text vanished when printed, why?", "overprint-pitfalls"),
    # text size and distance
    ("how tall should letters be to read from 30 feet away?", "letter-height-10ft-rule"),
    ("what font size should the paragraphs on my conference poster be?", "poster-body-text-size"),
    ("how big should the poster title be?", "poster-title-size"),
    ("is there a scientific way to pick a legible size for the viewing distance?", "visual-angle-0-2-degrees"),
    ("how many words should go on a research poster?", "poster-word-count"),
    # layout
    ("how do I make people notice the most important thing first?", "visual-hierarchy"),
    ("where should the call to action go on a poster that's mostly images?", "z-pattern"),
    ("my layout feels cramped, what should I do?", "whitespace"),
    ("how do I group the date, time and venue so they read together?", "proximity"),
    ("should I put my subject in the middle of the frame?", "rule-of-thirds"),
    ("should I use columns and gutters to structure the layout?", "grid-layout"),
    # typography
    ("how many different fonts can I mix on one flyer?", "how-many-typefaces"),
    ("which fonts go together well for headings and body?", "pairing-distinct-faces"),
    ("how wide should my text column be?", "line-length"),
    ("how much space should I leave between lines of text?", "line-spacing"),
    ("should I add letter spacing to uppercase headings?", "caps-letterspacing"),
    ("is it ok to underline words to emphasise them?", "no-underline"),
    # colour
    ("what colours sit opposite each other on the wheel?", "complementary-colours"),
    ("how should I split colours between background, secondary and accent?", "sixty-thirty-ten"),
    ("which palette is safe for colorblind viewers?", "okabe-ito-palette"),
    ("how many men are colour blind?", "colour-blindness-prevalence"),
    ("is it ok to show good and bad only with red and green?", "avoid-red-green"),
    ("does blue really make people trust a brand?", "colour-psychology-caveat"),
    # file formats
    ("what file should I send to the print shop?", "pdfx-for-print"),
    ("my logo looks blurry when enlarged, what format should it be?", "vector-formats"),
    ("I need a transparent background for a graphic on a website", "png-use"),
    ("what colour space should images be for the web and social media?", "srgb-for-screen"),
    ("the printer says fonts are missing, what do I do?", "fonts-embed-or-outline"),
    ("what pixel size should a poster be for a 4K TV screen?", "screen-poster-sizes"),
    ("how should I name my files for handover?", "file-naming"),
    # accessibility
    ("the form shows mandatory inputs with red label text only, does that pass?", "use-of-colour-required-fields"),
    ("do hyperlinks inside a paragraph have to be underlined?", "use-of-colour-links"),
    ("my line graph tells the series apart only by hue, is that a problem?", "use-of-colour-charts"),
    ("does a text box outline have to be 3:1 against the page?", "non-text-contrast-boundaries"),
    ("how visible does the keyboard focus ring need to be?", "non-text-contrast-states"),
    ("do greyed-out disabled buttons need enough contrast?", "non-text-contrast-exceptions"),
    ("what line height and letter spacing must my layout survive for dyslexic readers?", "wcag-text-spacing"),
    ("which AAA criterion says lines of text should be under 80 characters?", "wcag-visual-presentation"),
    ("must the text still work when someone zooms the page to 200%?", "wcag-resize-text"),
    ("can I just upload the flyer as a picture with all the text baked in?", "wcag-images-of-text"),
    ("what should the alt text say for an event poster on our site?", "alt-text-for-images"),
    ("do I have to meet AAA or is AA enough?", "wcag-conformance-levels"),
    ("my animated banner strobes quickly, could that cause seizures?", "wcag-three-flashes"),
    ("does the page need to work at 320 pixels wide without sideways scrolling?", "wcag-reflow"),
    ("how do I make the PDF of my poster readable with a screen reader?", "tagged-pdf-ua"),
    # print production
    ("should the brochure go on coated or uncoated stock?", "coated-vs-uncoated"),
    ("glossy or matte paper for a poster with lots of text?", "paper-finishes"),
    ("how heavy should flyer paper be in grams?", "paper-weight-gsm"),
    ("what is 100 lb cover stock in gsm?", "paper-weight-us-pounds"),
    ("how thin can a rule be before it disappears in print?", "minimum-line-weight"),
    ("what's the tiniest point size I can use for the legal small print?", "minimum-print-text-size"),
    ("is 6 pt white type on a black background going to print cleanly?", "reversed-small-type"),
    ("why are there white slivers between touching colours on my print?", "misregistration-trapping"),
    ("what's the difference between a soft proof and a contract proof?", "print-proofs"),
    ("for 5000 leaflets should I go litho or digital?", "offset-vs-digital"),
    # bleed
    ("what is the full canvas size of an A2 poster including 3mm bleed?", "document-size-with-bleed"),
    # typography
    ("how many picas make an inch?", "pica"),
    ("what is 12pt in CSS pixels?", "pixels-and-points"),
    ("what does an em mean as a unit?", "em-and-en"),
    ("is double spacing after a full stop still correct?", "one-space-between-sentences"),
    ("do I need a first-line indent if I also leave a gap between paragraphs?", "indent-or-space-between-paragraphs"),
    ("should automatic hyphenation be switched on in a narrow column?", "hyphenation"),
    ("how do I avoid a single line of a paragraph stuck at the top of the next column?", "widows-and-orphans"),
    ("should I use smart quotes or straight quotes?", "curly-quotes"),
    ("what dash goes between two dates in a range?", "hyphens-and-dashes"),
    ("why do the small caps from the formatting button look wrong?", "small-caps"),
    ("is a serif typeface easier to read than a sans?", "serif-vs-sans"),
    ("how do I get the numbers in my price list to line up?", "alternate-figures"),
    ("what is the joined fi glyph called and do I need it?", "ligatures"),
    ("how many levels of subheadings should a document have?", "heading-levels"),
    ("should I type three periods or use the ... character?", "ellipsis"),
    # layout
    ("what's special about a twelve column layout?", "twelve-column-grid"),
    ("is negative space the same thing as whitespace?", "negative-space"),
    ("how do I set up a baseline grid in InDesign?", "baseline-grid"),
    ("how do I pick heading sizes with a ratio like the golden ratio?", "modular-scale"),
    ("what are the gestalt laws?", "gestalt-principles"),
    ("why do items with the same colour look like they belong together?", "similarity"),
    ("why do we see a full circle even when the outline has gaps?", "closure"),
    ("what's the vase and two faces illusion about?", "figure-ground"),
    ("can leading lines in a photo guide people to the headline?", "continuity"),
    ("what makes an element feel heavy in a composition?", "visual-weight"),
    # file formats
    ("my transparent background turns white when I export a jpg", "jpeg-no-transparency"),
    ("which logo versions and formats should I give my client?", "logo-file-package"),
    ("what does lossless compression mean?", "lossy-vs-lossless"),
    ("what is the difference between a bitmap and a vector graphic?", "raster-vs-vector"),
    ("the photos from my phone are .heic, can I use them?", "heic-photos"),
    ("what image format should I use on my website?", "web-image-format-choice"),
    ("how do I make a small PDF of the poster to email?", "pdf-for-screen"),
    ("the printer wants the open InDesign files with links and fonts", "package-for-print"),
    # colour
    ("what is it called when you mix white into a colour?", "tints-shades-tones"),
    ("what is saturation in colour?", "hue-saturation-lightness"),
    ("what's a square colour scheme?", "tetradic-colours"),
    ("are the primary colours red yellow blue or red green blue?", "primary-colour-models"),
    ("what does a six-digit colour code like #336699 mean?", "hex-colour-codes"),
    ("what colour values should the brand guidelines include?", "brand-colour-specs"),
    ("why does the same grey look different on black and on white?", "simultaneous-contrast"),
    ("is white text on orange readable?", "accessible-colour-pairs"),
    ("should the logo be printed with a Pantone ink or in four-colour process?", "cmyk-rgb-pantone"),
]

# Chat with no design question in it: nothing should come back.
NOT_DESIGN = [
    "hello",
    "hi there!",
    "Hey :)",
    "thanks!",
    "thank you so much",
    "good morning",
    "ok cool",
    "bye",
    "how are you?",
    "can you help me?",
    "what's the weather like today?",
    "tell me a joke",
    "who won the football last night?",
    "I love it",
    "lol",
    "what time is it",
    "who are you?",
    "what can you do?",
    "nice to meet you",
    "see you tomorrow, bye!",
]

HOSTILE = [
    '"',
    '"""',
    "*",
    "A*",
    "bleed*",
    "NEAR(",
    "NEAR(bleed contrast, 2)",
    "AND OR",
    "AND OR NOT",
    "bleed AND",
    "OR",
    "-bleed",
    "^bleed",
    "title:bleed",
    "{title keywords}: bleed",
    "(((",
    "bleed)",
    "'; DROP TABLE kb; --",
    "bleed\x00contrast",
    "\x00",
    "🎨🖼️ poster colour? 🤔",
    "𝐛𝐥𝐞𝐞𝐝",
    "Ａ２ size",
    "ﬁne print",
    "e\u0301 combining",
    "\u202e RTL override bleed",
    "\ud800 lone surrogate",
    "bleed " * 2000,
    "x" * 10_000,
    "a" * 10_000,
    "🎨" * 10_000,
    "".join(chr(c) for c in range(1, 3000)),
]


def test_at_least_230_entries():
    assert len(knowledge.entries()) >= 230


def test_every_topic_is_covered():
    counts = {topic: 0 for topic in TOPICS}
    for entry in knowledge.entries():
        counts[entry.topic] += 1
    assert set(TOPICS) == {
        "contrast", "paper-sizes", "bleed", "resolution", "print-colour",
        "text-size", "layout", "typography", "colour", "file-formats", "accessibility", "print-production",
    }
    assert all(count >= 10 for count in counts.values()), counts


def test_entries_are_well_formed():
    all_entries = knowledge.entries()
    assert len({e.id for e in all_entries}) == len(all_entries)
    for entry in all_entries:
        assert isinstance(entry, Entry)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry.id)
        assert entry.url.startswith("https://"), entry.id
        assert entry.text.strip() and entry.title.strip() and entry.source.strip(), entry.id
        assert entry.keywords and all(k.strip() for k in entry.keywords), entry.id


def test_entries_are_loaded_once_and_frozen():
    first, second = knowledge.entries(), knowledge.entries()
    assert first is second
    with pytest.raises(ValidationError):
        first[0].text = "changed"


def _entry(entry_id: str) -> Entry:
    return next(e for e in knowledge.entries() if e.id == entry_id)


@pytest.mark.parametrize(
    ("entry_id", "facts"),
    [
        ("iso-a2", ["420 × 594 mm"]),
        ("iso-a0", ["841 × 1189 mm", "1 m²"]),
        ("iso-a4", ["210 × 297 mm"]),
        ("iso-b-series", ["B0 1000 × 1414 mm", "B1 707 × 1000 mm"]),
        ("wcag-aa-normal-text", ["4.5:1"]),
        ("wcag-aa-large-text", ["3:1"]),
        ("wcag-aaa-enhanced", ["7:1", "4.5:1"]),
        ("wcag-large-text-definition", ["18 point", "14 point and bold", "24 px", "18.66 px"]),
        ("wcag-non-text-contrast", ["3:1"]),
        ("contrast-ratio-formula", ["(L1 + 0.05) / (L2 + 0.05)", "21:1"]),
        ("bleed-3mm", ["3 mm"]),
        ("bleed-eighth-inch", ["0.125 in", "1/8 in"]),
        ("us-letter", ["8.5 × 11 in"]),
        ("movie-one-sheet", ["27 × 40 in"]),
        ("line-spacing", ["120 to 145%"]),
        ("line-length", ["45 to 75 characters"]),
        ("okabe-ito-palette", ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]),
        ("colour-blindness-prevalence", ["1 in 12 men (8%)"]),
        ("use-of-colour-required-fields", ["1.4.1", "level A", "red"]),
        ("wcag-text-spacing", ["1.5 times", "2 times", "0.12 times", "0.16 times"]),
        ("wcag-visual-presentation", ["80 characters", "200%"]),
        ("wcag-reflow", ["320 CSS pixels", "400%"]),
        ("wcag-three-flashes", ["three times in any one second"]),
        ("point-size-meaning", ["1/72 inch", "0.353 mm"]),
        ("pica", ["12 points", "1/6 inch", "4.233 mm"]),
        ("pixels-and-points", ["96 px", "72 pt", "1 pt = 1.333 px", "1 px = 0.75 pt", "16 px text is 12 pt"]),
        ("indent-or-space-between-paragraphs", ["never both", "4 to 10 points"]),
        ("document-size-with-bleed", ["216 × 303 mm", "303 × 426 mm", "426 × 600 mm", "600 × 847 mm",
                                      "18.25 × 24.25 in"]),
        ("twelve-column-grid", ["1, 2, 3, 4, 6 or 12"]),
        ("modular-scale", ["16, 24, 36 and 54 pt"]),
        ("paper-weight-us-pounds", ["1.48", "2.71"]),
        ("minimum-line-weight", ["0.25 pt"]),
        ("accessible-colour-pairs", ["19.6:1", "12.6:1", "2.9:1", "4.0:1"]),
    ],
)
def test_key_numbers(entry_id, facts):
    text = _entry(entry_id).text
    for fact in facts:
        assert fact in text, (entry_id, fact)


def test_all_a_and_b_sizes_are_present():
    text = " ".join(e.text for e in knowledge.entries() if e.topic == "paper-sizes")
    sizes = {
        "A0": "841 × 1189", "A1": "594 × 841", "A2": "420 × 594", "A3": "297 × 420", "A4": "210 × 297",
        "A5": "148 × 210", "A6": "105 × 148", "A7": "74 × 105", "A8": "52 × 74", "A9": "37 × 52", "A10": "26 × 37",
        "B0": "1000 × 1414", "B1": "707 × 1000", "B2": "500 × 707", "B3": "353 × 500", "B4": "250 × 353",
        "B5": "176 × 250", "B6": "125 × 176", "B7": "88 × 125", "B8": "62 × 88", "B9": "44 × 62", "B10": "31 × 44",
    }
    for name, dims in sizes.items():
        assert f"{name} {dims} mm" in text or f"{name} measures {dims} mm" in text, name


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_designer_questions_find_the_right_entry(question, expected):
    found = [e.id for e in search(question)]
    assert expected in found, (question, found)


def test_question_table_is_large_and_covers_every_topic():
    assert len(QUESTIONS) >= 40
    assert {_entry(expected).topic for _, expected in QUESTIONS} == set(TOPICS)


def test_questions_do_not_copy_titles():
    for question, expected in QUESTIONS:
        assert question.casefold() not in _entry(expected).title.casefold()


@pytest.mark.parametrize("question", NOT_DESIGN)
def test_chat_without_a_design_question_finds_nothing(question):
    assert search(question) == []


# The relevance at which /chat quotes an entry verbatim (LEAD_RELEVANCE in core/grounding.py).
QUOTE_BAR = 9.0

# Questions about other things that share a word with design ("print", "black", "paper", "size"): they may bring
# back a weak reference for the model, but never one strong enough to be quoted as the answer.
UNRELATED = [
    "what's the weather going to be like this weekend?",
    "who won the world cup in 2018?",
    "what is the tallest building in the world?",
    "how do I print a PDF from my phone?",
    "who invented the telephone?",
    "what does a black cat mean in folklore?",
    "what's the best paper towel brand?",
    "what colour is a flamingo and why?",
    "how do I change the size of my desktop icons?",
    "my laptop is running slowly, what should I do?",
]


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_questions_are_never_strong_enough_to_quote(question):
    assert all(hit.relevance < QUOTE_BAR for hit in knowledge.hits(question, limit=5)), question


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Generic words ("poster", "sending", "printer") once ranked "Send print jobs as PDF/X" first.
        ("How much bleed should I add to a poster before sending it to a commercial printer?", {"bleed"}),
        # A PDF/X entry mentioning "form fields" in its text once ranked first.
        ("Can I mark required fields only by making their labels red?", {"use-of-colour-required-fields"}),
        ("what's the difference between a tint and a shade?", {"tints-shades-tones", "monochromatic-colours"}),
        ("my logo has a transparent background but saving as JPEG makes it white", {"jpeg-no-transparency"}),
    ],
)
def test_the_subject_outranks_incidental_words(question, expected):
    best = knowledge.hits(question, limit=1)[0]
    assert {best.entry.id, best.entry.topic} & expected, (question, best)
    assert best.relevance >= QUOTE_BAR, (question, best)


@pytest.mark.parametrize("question", HOSTILE)
def test_hostile_input_returns_a_list(question):
    found = search(question, limit=5)
    assert isinstance(found, list) and len(found) <= 5
    assert all(isinstance(e, Entry) for e in found)


def test_limit_and_ranking():
    assert len(search("bleed trim safe margin crop marks", limit=1)) == 1
    many = knowledge.hits("bleed trim safe margin crop marks slug", limit=10)
    assert len(many) > 3
    relevances = [hit.relevance for hit in many]
    assert relevances == sorted(relevances, reverse=True)


def test_summed_term_scores_equal_the_or_query_of_fts5_exactly():
    # the index scores each word once and sums; FTS5's own OR query over all the words must rank and score alike
    index = knowledge._index()
    questions = [q for q, _ in QUESTIONS] + NOT_DESIGN + UNRELATED + [e.text for e in knowledge.entries()[:40]]
    for question in questions:
        terms = query_terms(question)
        if not terms:
            continue
        rows = index._db.execute("SELECT rowid, -bm25(kb, ?, ?, ?) AS r FROM kb WHERE kb MATCH ? "
                                 "ORDER BY r DESC, rowid LIMIT 10", (*WEIGHTS, match_expression(terms))).fetchall()
        assert index.ranked(question, 10) == [(row, r) for row, r in rows if r >= MIN_RELEVANCE], question


@pytest.mark.parametrize("limit", [0, -1, 51, 2.5, "3", True])
def test_bad_limit_is_a_clear_error(limit):
    with pytest.raises(ValueError, match="limit"):
        search("bleed", limit=limit)


def test_non_text_question_is_a_clear_error():
    with pytest.raises(TypeError, match="question"):
        search(b"bleed")


def test_uk_and_us_spellings_meet():
    assert [e.id for e in search("colour blind palette")] == [e.id for e in search("color blind palette")]
    assert search("grey text on white")[:1] == search("gray text on white")[:1]


def test_concurrent_searches_agree():
    expected = [e.id for e in search("how much bleed for a flyer")]
    results, errors = [], []

    def worker():
        try:
            for _ in range(50):
                results.append([e.id for e in search("how much bleed for a flyer")])
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(r == expected for r in results)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[entries]]\nid = 'x'\n", r"broken\.toml: entry 1 \('x'\): "),
        ("[[entries]\n", r"broken\.toml: not valid TOML"),
        ("title = 'no entries'\n", r"broken\.toml: expected only a non-empty \[\[entries\]\] array"),
        (
            "[[entries]]\nid = 'Bad Id'\ntopic = 'bleed'\ntitle = 't'\ntext = 'long enough text for the check'\n"
            "keywords = ['k']\nsource = 's'\nurl = 'https://example.org/'\n",
            r"entry 1 \('Bad Id'\): id",
        ),
        (
            "[[entries]]\nid = 'ok-id'\ntopic = 'bleed'\ntitle = 't'\ntext = 'long enough text for the check'\n"
            "keywords = ['k']\nsource = 's'\nurl = 'http://example.org/'\n",
            r"entry 1 \('ok-id'\): url",
        ),
        (
            "[[entries]]\nid = 'ok-id'\ntopic = 'gardening'\ntitle = 't'\ntext = 'long enough text for the check'\n"
            "keywords = ['k']\nsource = 's'\nurl = 'https://example.org/'\n",
            r"entry 1 \('ok-id'\): topic",
        ),
        (
            "[[entries]]\nid = 'ok-id'\ntopic = 'bleed'\ntitle = 't'\ntext = 'has **markdown** in the text'\n"
            "keywords = ['k']\nsource = 's'\nurl = 'https://example.org/'\n",
            r"entry 1 \('ok-id'\): text: .*plain",
        ),
    ],
)
def test_broken_file_fails_loudly_naming_file_and_entry(content, message):
    with pytest.raises(KnowledgeError, match=message):
        _parse_file("broken.toml", content)
