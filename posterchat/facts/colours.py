"""Contrast facts: colours written in the question, paired as text on background, measured as poster/colour.py does.

coloraide is imported only once two colours that could form a pair have been found, as in poster/colour.py, so
questions without colours never load it.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass, replace
from itertools import chain, pairwise
from typing import Any

from .model import Fact, Found, first_distinct
from .scan import SENTENCE_END, fmt, word_list, word_set

# CSS named colours, as coloraide knows them (without 'transparent'): copied so that recognising colour words does not
# import coloraide (~5 MB); tests/test_facts.py checks the copy against coloraide.css.color_names.
CSS_NAMES = frozenset("""
aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood
cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray
darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue
firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew
hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray
lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid
mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream
mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen
paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue
saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen
""".split())
_NAME_PREFIXES = frozenset(name[:k] for name in CSS_NAMES for k in range(1, len(name) + 1))
# Names that are as often ordinary words ("tan", "Peru", "gold medal"): they count only with a role word of their own
# ("gold text") or joined to the other colour by "on", "against" and the like.
AMBIGUOUS = frozenset(
    "aqua azure bisque chocolate coral cornsilk gold honeydew indigo ivory lavender lime linen moccasin olive orange "
    "orchid peru plum salmon seashell silver snow tan thistle tomato violet wheat".split()
)
# WCAG 2.x minimum ratios (normal text, large text) per level; the same as poster/colour.py's _Reading.levels.
# Large text is 18 pt, or 14 pt bold (WCAG 2.x, "large scale").
LEVELS = {"AA": (4.5, 3.0), "AAA": (7.0, 4.5)}
_THRESHOLDS = (3.0, 4.5, 7.0)

# Digits-only short hex codes are often numbers ("#123", "#2024"), except greys like #000 and #777.
_NUMBER_LIKE = re.compile(r"#(?!(\d)\1\1$)\d{3,4}")
_HEX = re.compile(r"(?<![&\w])#(?:[0-9a-f]{8}|[0-9a-f]{6}|[0-9a-f]{3,4})(?!\w)", re.I)
_FUNCTIONS = ("rgba", "rgb", "hsla", "hsl")
_FUNCTION = re.compile(rf"(?<!\w)(?:{'|'.join(_FUNCTIONS)})\([^()\n]{{1,80}}\)", re.I)
_WORD = re.compile(r"[A-Za-z]+")
# Words after a colour that make it something else: "white space", "black box", "white balance".
_STOP_AFTER = re.compile(
    r"[ \t]+(?:space|spaces|spacing|house|holes?|hats?|friday|belts?|labels?|lists?|noise|wines?|flags?|collars?|"
    r"chips?|sheep|market|pepper|mirror|balance|points?|levels?|magic|knights?|christmas|tape|zone)\b", re.I)
_IDIOM = re.compile(r"black\s*(?:and|&|n|'n')\s*white", re.I)
_TEXT_WORDS = (r"text|type|fonts?|copy|letters|lettering|headlines?|headings?|titles?|words|body|captions?|labels?|"
               r"foreground|fg|ink")
_BG_WORDS = r"backgrounds?|bg|backdrop|page|paper|fill|panel|box|banner|canvas|card|poster|wall|stock"
# "white text", "white-coloured text", and with a size and one more word between: "white 16 px button text"
_ROLE_AFTER = re.compile(
    r"\s*-?\s*(?:colou?r(?:ed)?\s+)?(?:\d+(?:\.\d+)?\s*-?\s*(?:px|pt|points?|mm)\s+(?:[a-z]+\s+)?)?"
    rf"(?:(?P<text>{_TEXT_WORDS})|(?P<bg>{_BG_WORDS}))\b", re.I)
_ROLE_BEFORE = re.compile(
    rf"\b(?:(?P<text>{_TEXT_WORDS})|(?P<bg>{_BG_WORDS}))(?:[\s-]+colou?r)?\s*(?:(?:of|is|=|:|in|as|to)\s*)?"
    r"(?:(?:a|an|the)\s+)?$", re.I)
_STRONG_LINK = re.compile(r"\b(?:on|onto|against|over|atop|behind|under|beneath|underneath)\b", re.I)
# A list joins two colours only with nothing else between them but role words: "red and green", "white text, navy";
# "vs" too, so that "red vs dark red on white" compares each on white.
_WEAK_GAP = re.compile(
    rf"\s*(?:(?:{_TEXT_WORDS}|{_BG_WORDS})\s*)?(?:,|/|&|and|with|, and|vs\.?|versus)\s*(?:(?:a|an|the)\s+)?", re.I)
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z]+)")
# A colour word written right before or after a value describes it ("#959595 grey", "dark blue (#1d3557)"): the value
# is the colour, the words its label. Modifiers and common colour words that are not CSS names count only there.
_MODIFIERS = r"light|dark|pale|mid|middle|medium|deep|bright|soft|warm|cool|muted|dusty|pastel|neutral|vivid|off|pure"
_LABELS = ("amber", "burgundy", "charcoal", "cobalt", "cream", "emerald", "graphite", "jade", "lilac", "mauve", "mint",
           "mustard", "ochre", "peach", "rust", "sage", "scarlet", "slate", "taupe")
_LABEL_WORDS = re.compile(rf"\b(?:{'|'.join(_LABELS)})\b", re.I)
_GAP_AFTER_VALUE = re.compile(r"[ \t]*(?:[-\u2013][ \t]*|(?P<paren>\()[ \t]*)?")
_MODIFIERS_AFTER = re.compile(rf"(?:(?:{_MODIFIERS})[ \t-]+)+", re.I)
_GAP_BEFORE_VALUE = re.compile(r"[ \t]*(?:-|(?P<paren>\())?[ \t]*")
_MODIFIERS_BEFORE = re.compile(rf"(?:(?:{_MODIFIERS})[ \t-]+)+$", re.I)
_CLOSE = re.compile(r"[ \t]*\)")
_LINK_WORD = re.compile(r"on|onto|against|over|atop|behind|under|beneath|underneath|vs|versus|and|with|or", re.I)
_BEHIND = re.compile(r"\b(?:behind|under|beneath|underneath)\b", re.I)


@dataclass(frozen=True)
class _Mention:
    """A colour written in the question."""

    start: int
    end: int
    text: str
    named: bool
    ambiguous: bool = False  # may well not be a colour: "tan", or "#123" (an issue number?)
    role: str | None = None
    written: str = ""  # a name as the designer wrote it ("dark slate grey")
    colour: Any = None  # coloraide Color, once parsed


def _may_name(text: str) -> bool:
    """Whether one to three words in a row, joined, spell a CSS name (what _names looks for, without positions)."""
    said = word_list(text, ignorecase=False)  # _WORD's words
    for i, word in enumerate(said):
        if word in _NAME_PREFIXES and (word in CSS_NAMES or "".join(said[i:i + 2]) in CSS_NAMES
                                       or "".join(said[i:i + 3]) in CSS_NAMES):
            return True
    return False


def _names(text: str) -> list[_Mention]:
    """CSS colour names as whole words, used as colours or not; 'dark slate grey' and 'blue-violet' count as one."""
    if not _may_name(text):
        return []
    words = list(_WORD.finditer(text))
    found, i = [], 0
    while i < len(words):
        joined, j, last = words[i].group().lower(), i, None
        while joined in _NAME_PREFIXES:
            last = j if joined in CSS_NAMES else last
            if j - i == 2 or j + 1 == len(words) or text[words[j].end():words[j + 1].start()] not in (" ", "-"):
                break
            j += 1
            joined += words[j].group().lower()
        if last is None:
            i += 1
            continue
        name = "".join(w.group() for w in words[i:last + 1]).lower()
        start, end = words[i].start(), words[last].end()
        found.append(_Mention(start, end, name, True, name in AMBIGUOUS, written=text[start:end].lower()))
        i = last + 1
    return found


def _is_colour_word(text: str, m: _Mention) -> bool:
    """Whether a name is used as a colour: not 'off-white', 'white space', or 'black and white' (the idiom)."""
    if text[m.start - 1:m.start] == "-" or text[m.end:m.end + 1] == "-" or _STOP_AFTER.match(text, m.end):
        return False
    ends_idiom = any(i.end() == m.end for i in _IDIOM.finditer(text, max(0, m.start - 12), m.end))
    return not (_IDIOM.match(text, m.start) or ends_idiom)


def _role(text: str, m: _Mention) -> str | None:
    """'text' or 'bg' when a word right after or before the colour says what it colours."""
    hit = _ROLE_AFTER.match(text, m.end) or _ROLE_BEFORE.search(text[max(0, m.start - 40):m.start])
    return None if hit is None else "text" if hit.group("text") else "bg"


def _chain(text: str, words: list[_Mention], i: int, step: int) -> int:
    """The index of the last colour word joined to words[i] by a space or hyphen, walking by `step` (±1)."""
    while 0 <= i + step < len(words):
        a, b = (words[i], words[i + step]) if step > 0 else (words[i + step], words[i])
        if text[a.end:b.start] not in (" ", "-"):
            break
        i += step
    return i


def _described(text: str, value: _Mention, words: list[_Mention], starts: list[int], taken: set[int]) -> _Mention:
    """The value with the colour words right before or after it ("grey #959595", "#fff (white)") as its label."""
    k = bisect_left(starts, value.start)
    before = k > 0 and _GAP_BEFORE_VALUE.fullmatch(text, words[k - 1].end, value.start)
    after = k < len(words) and _GAP_AFTER_VALUE.match(text, value.end)
    modifiers = after and _MODIFIERS_AFTER.match(text, after.end())
    if before and k - 1 not in taken:
        first, last, paren = _chain(text, words, k - 1, -1), k - 1, before.group("paren")
    elif after and words[k].start in (after.end(), modifiers and modifiers.end()):
        first, last, paren = k, _chain(text, words, k, 1), after.group("paren")
    else:
        return value
    if taken & set(range(first, last + 1)):
        return value
    taken |= set(range(first, last + 1))
    lo = value.end if first >= k else max(0, words[first].start - 30)
    modifiers = _MODIFIERS_BEFORE.search(text, lo, words[first].start)
    label_start = modifiers.start() if modifiers else words[first].start
    end = max(words[last].end, value.end)
    closing = _CLOSE.match(text, end) if paren else None
    return replace(value, start=min(label_start, value.start), end=closing.end() if closing else end,
                   ambiguous=False, written=" ".join(text[label_start:words[last].end].lower().split()))


def _mentions(text: str) -> list[_Mention]:
    """Every colour in order of appearance, with the role its words give it; overlaps are dropped."""
    # Each pattern only where what it needs is there: most questions name no colour.
    said = word_set(text)
    hexes = _HEX.finditer(text) if "#" in text else ()
    functions = _FUNCTION.finditer(text) if "(" in text and not said.isdisjoint(_FUNCTIONS) else ()
    label_words = _LABEL_WORDS.finditer(text) if not said.isdisjoint(_LABELS) else ()
    syntax = [_Mention(h.start(), h.end(), h.group(), False, bool(_NUMBER_LIKE.fullmatch(h.group())))
              for h in chain(hexes, functions)]
    labels = [_Mention(m.start(), m.end(), m.group(), True, role="label") for m in label_words]
    words = sorted(_names(text) + labels, key=lambda m: m.start)
    if not syntax and not words:
        return []
    starts, taken = [w.start for w in words], set()
    syntax = [_described(text, m, words, starts, taken) for m in sorted(syntax, key=lambda m: m.start)]
    free = [w for k, w in enumerate(words) if k not in taken and w.role != "label" and _is_colour_word(text, w)]
    ordered, end = [], -1
    for m in sorted(syntax + free, key=lambda m: m.start):
        if m.start >= end:
            ordered.append(replace(m, role=_role(text, m)))
            end = m.end
    # Two names with only a space between ("navy blue", "blue green") are one colour with no CSS name: drop both.
    loose = {i for i, (a, b) in enumerate(pairwise(ordered)) if a.named and b.named
             and not text[a.end:b.start].strip()}
    return [m for i, m in enumerate(ordered) if i not in loose and i - 1 not in loose]


def _link(text: str, a: _Mention, b: _Mention) -> str | None:
    """How two neighbouring colours pair up: 'strong' ("on", a text and a background), 'weak' (a list) or None."""
    gap = text[a.end:b.start]
    if {a.role, b.role} == {"text", "bg"} and len(gap) <= 200:
        return "strong"
    near = len(gap) <= 60 and len(gap.split()) <= 6 and not SENTENCE_END.search(gap)
    strong = near and bool(_STRONG_LINK.search(gap))
    if any(m.ambiguous and m.role is None for m in (a, b)):
        return "strong" if strong and not _noun_after(text, a) and not _noun_after(text, b) else None
    if not a.named and not b.named:
        return "strong" if strong else "weak"
    if strong:
        return "strong"
    return "weak" if _WEAK_GAP.fullmatch(gap) else None


def _noun_after(text: str, m: _Mention) -> bool:
    """Whether an ambiguous name is followed by a word that makes it something else ('gold medal', 'tan table')."""
    word = _NEXT_WORD.match(text, m.end)
    return m.ambiguous and m.role is None and bool(word) and not _LINK_WORD.fullmatch(word[1])


def _ordered(text: str, a: _Mention, b: _Mention) -> tuple[_Mention, _Mention]:
    """The pair as (text, background): the order written, unless roles or 'behind'/'under' say otherwise."""
    if a.role == "bg" or b.role == "text":
        return (a, b) if a.role == "text" or b.role == "bg" else (b, a)
    if a.role is None and b.role is None and _BEHIND.search(text[a.end:b.start]):
        return b, a
    return a, b


def _pairs(text: str, mentions: list[_Mention]) -> list[tuple[_Mention, _Mention]]:
    """Colours that pair up, as (text, background): each "X on Y", and lists (see _list_pairs)."""
    links = [_link(text, a, b) for a, b in pairwise(mentions)]
    strong = [_ordered(text, a, b) for (a, b), link in zip(pairwise(mentions), links, strict=True) if link == "strong"]
    partner = {id(m): (side, fg if m is bg else bg) for fg, bg in strong for side, m in enumerate((fg, bg))}
    pairs, run = list(strong), mentions[:1]
    for b, link in zip(mentions[1:], links, strict=True):
        if link != "weak":
            pairs += _list_pairs(text, run, partner)
            run = []
        run.append(b)
    pairs += _list_pairs(text, run, partner)
    return sorted(pairs, key=lambda p: min(p[0].start, p[1].start))


def _list_pairs(text: str, run: list[_Mention], partner: dict) -> list[tuple[_Mention, _Mention]]:
    """A list's pairs: each member on the other side of an anchor, else neighbouring members paired."""
    # The anchor is a member in an "X on Y" ("black, #555 and #999 text on white": each on white), or else the only
    # member with a role ("background #eee, then #333 and #666": each on #eee).
    roles = [m for m in run if m.role]
    if not any(id(m) in partner for m in run) and len(roles) == 1 and len(run) > 2:
        partner = {id(roles[0]): (1 if roles[0].role == "text" else 0, None)}  # the others take the other side
    anchors = [m for m in run if id(m) in partner]
    if not anchors:
        return [_ordered(text, a, b) for a, b in pairwise(run)]
    pairs = []
    for m in (m for m in run if id(m) not in partner):
        anchor = min(anchors, key=lambda a: abs(a.start - m.start))
        side, other = partner[id(anchor)]
        other = other or anchor
        pairs.append((m, other) if side == 0 else (other, m))
    return pairs


def _parsed(mentions: list[_Mention]) -> list[_Mention]:
    """The mentions coloraide can read, in sRGB clipped to its gamut as CSS clamps rgb() values."""
    from coloraide import Color

    parsed = []
    for m in mentions:
        try:
            colour = Color(m.text).convert("srgb").clip()
        except ValueError:
            continue
        if all(math.isfinite(c) for c in colour[:]):
            parsed.append(replace(m, colour=colour))
    return parsed


def contrast_ratio(text_colour: Any, background: Any) -> float:
    """WCAG 2.x contrast as poster/colour.py computes it, translucent colours first blended over what lies beneath."""
    from coloraide import Color

    if background.alpha() < 1:
        background = Color.layer([background, "white"])
    if text_colour.alpha() < 1:
        text_colour = Color.layer([text_colour, background])
    return text_colour.contrast(background, method="wcag21")


def shown_ratio(ratio: float) -> float:
    """The ratio to 2 decimals, rounded down where rounding would carry it up to a threshold it does not reach."""
    shown = round(ratio, 2)
    return math.floor(ratio * 100) / 100 if any(shown >= t > ratio for t in _THRESHOLDS) else shown


def _verdict(level: str, ratio: float, prefix: str) -> str:
    """Pass/fail at one WCAG level for normal and large text."""
    normal, large = LEVELS[level]
    if ratio >= normal:
        return f"passes {prefix}{level} ({fmt(normal)}:1 normal, {fmt(large)}:1 large)"
    if ratio < large:
        return f"fails {prefix}{level} ({fmt(normal)}:1 normal, {fmt(large)}:1 large)"
    return (f"fails {prefix}{level} for normal text (needs {fmt(normal)}:1), passes {level} for large text "
            f"({fmt(large)}:1, 18 pt or 14 pt bold)")


def _label(m: _Mention) -> tuple[str, str]:
    """How the colour is written in the statement, and its hex."""
    hexed = m.colour.to_string(hex=True)
    return (f"{m.written} ({hexed})" if m.written else hexed), hexed


def _fact(fg: _Mention, bg: _Mention) -> Fact:
    """The contrast fact for one text/background pair."""
    ratio = contrast_ratio(fg.colour, bg.colour)
    (fg_label, fg_hex), (bg_label, bg_hex) = _label(fg), _label(bg)
    note = " (transparency blended over what lies beneath)" if min(fg.colour.alpha(), bg.colour.alpha()) < 1 else ""
    statement = (f"{fg_label} on {bg_label}{note} has a contrast ratio of {fmt(shown_ratio(ratio))}:1: "
                 f"{_verdict('AA', ratio, 'WCAG ')}, {_verdict('AAA', ratio, '')}.")
    verdicts = {f"{level.lower()}_{size}": ratio >= LEVELS[level][k]
                for level in LEVELS for k, size in enumerate(("normal", "large"))}
    return Fact(kind="contrast", statement=statement[0].upper() + statement[1:],
                values={"text": fg_hex, "background": bg_hex, "ratio": shown_ratio(ratio), **verdicts})


def contrast_facts(text: str, limit: int) -> list[Found]:
    """Contrast of each neighbouring pair of colours in the question, as text on background; the first `limit`."""
    mentions = _mentions(text)
    if len(mentions) < 2 or not _pairs(text, mentions):
        return []
    # A colour on itself (1:1) tells nothing, and mostly comes from lists ("black on white, black on red").
    pairs = (pair for pair in _pairs(text, _parsed(mentions[:4 * limit])) if pair[0].colour != pair[1].colour)
    return first_distinct((Found(min(fg.start, bg.start), max(fg.end, bg.end), _fact(fg, bg)) for fg, bg in pairs),
                          limit)
