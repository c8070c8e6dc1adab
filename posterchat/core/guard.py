"""The guard: sentences of the model's prose that contradict what posterchat measured are left out of the answer.

A 135M model given "A2 is 420 × 594 mm" still writes "A2 is 120 mm"; given a poster with failing contrast it still
writes "your poster is readable". Each rule below matches one such contradiction, checked per sentence as the answer
streams. A sentence is kept unless a rule is sure it contradicts a measured fact.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..facts import Fact
from ..poster import Finding

# "the poster is fine": an all-clear that an error-level finding contradicts
ALL_CLEAR = re.compile(
    r"\b(?:is|are|looks|seems|appears|reads)\s+(?:\w+\s+){0,2}(?:readable|legible|fine|good|great|perfect|ok|okay|"
    r"well[- ]designed|clear|effective|balanced|accessible|correct|appropriate|sufficient|adequate|ready|"
    r"print[- ]ready|good\s+to\s+go|all\s+set|large\s+enough|big\s+enough)\b"
    r"|\bno\s+(?:major\s+|obvious\s+|real\s+)?(?:problems?|issues?|errors?|changes?\s+(?:are\s+)?needed)\b"
    r"|\bnothing\s+(?:to\s+fix|wrong)\b|\b(?:good|great|high|strong|excellent|sufficient|enough)\s+contrast\b"
    r"|\b(?:it|this|poster|text|design|contrast|file|layout|everything)\s+(?:\w+\s+)?"
    r"(?:meets|passes|satisf(?:y|ies)|complies)\b",
    re.IGNORECASE)
# advice ("make sure it is readable") is not a claim that it already is
ADVICE = re.compile(r"\b(?:make\s+sure|ensure|should|needs?\s+to|must|check|if|whether|to\s+make|so\s+that)\b",
                    re.IGNORECASE)
NEGATION = re.compile(r"\b(?:not(?!\s+only)|never|no longer|fails?|hard to|difficult to|low|poor|too)\b|n't\b",
                      re.IGNORECASE)
CLAUSE = re.compile(r",|;|:|\bbut\b|\bhowever\b|\balthough\b|\bwhile\b", re.IGNORECASE)
RUN = re.compile(r"(.)\1{11,}|(\d{2,6})\2{4,}")
RATIO = re.compile(r"(\d+(?:\.\d+)?)\s*(?::|to)\s*1\b")
WCAG_RATIOS = (1.0, 3.0, 4.5, 7.0, 21.0)
LENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|in(?:ch(?:es)?)?\b|\")",
                    re.IGNORECASE)
POINTS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:pt|points?)\b", re.IGNORECASE)
MINIMUM = re.compile(r"\b(?:at least|minimum|smallest|no smaller|should be|needs? to be|must be)\b", re.IGNORECASE)
_NUMBER = r"(\d+(?:\.\d+)?(?:\s+\d+/\d+)?|\d+/\d+)"
_UNIT = r"(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|in(?:ch(?:es)?)?\b|\")"
RESTATED = re.compile(rf"{_NUMBER}\s*{_UNIT}\s*\(\s*(?:about\s+|approx(?:imately|\.)?\s+|~\s*)?{_NUMBER}\s*{_UNIT}",
                      re.IGNORECASE)
MAX_HELD = 80  # characters held back waiting for a sentence to end; then the text so far is judged and goes on
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _all_clear(sentence: str) -> bool:
    """Some clause of the sentence says all is well, without a negation in that clause."""
    return any(ALL_CLEAR.search(clause) and not NEGATION.search(clause) and not ADVICE.search(clause)
               for clause in CLAUSE.split(sentence))


def contradicts_findings(sentence: str, problems: list[Finding]) -> bool:
    """An all-clear about a poster with problems."""
    return bool(problems) and _all_clear(sentence)


def degenerate(sentence: str) -> bool:
    """Text a looping small model produces: a character or a digit run repeated far past sense."""
    return bool(RUN.search(sentence))


def _close(value: float, targets: list[float], tolerance: float) -> bool:
    return any(abs(value - target) <= tolerance for target in targets)


def contradicts_contrast(sentence: str, facts: list[Fact]) -> bool:
    """A contrast ratio that is neither the measured one nor a WCAG threshold, or a pass where it fails."""
    measured = [float(f.values["ratio"]) for f in facts if f.kind == "contrast" and "ratio" in f.values]
    if not measured:
        return False
    for found in RATIO.finditer(sentence):
        if not _close(float(found.group(1)), measured + list(WCAG_RATIOS), 0.05):
            return True
    failing = any(f.kind == "contrast" and f.values.get("aa_normal") is False for f in facts)
    return failing and _all_clear(sentence)


def contradicts_paper(sentence: str, facts: list[Fact]) -> bool:
    """A size given for a named paper that is not that paper's."""
    for fact in (f for f in facts if f.kind == "paper_size"):
        name = str(fact.values.get("name", ""))
        if not name or not re.search(rf"\b{re.escape(name)}\b", sentence, re.IGNORECASE):
            continue
        sides = [float(fact.values[key]) for key in ("width_mm", "height_mm") if key in fact.values]
        for found in LENGTH.finditer(sentence):
            mm = float(found.group(1)) * _mm_per(found.group(2))
            if sides and not _close(mm, sides, max(1.5, 0.02 * max(sides))):
                return True
    return False


def _mm_per(unit: str) -> float:
    """Millimetres in one `unit` as written (mm, cm, in, inches, ")."""
    unit = unit.lower()
    return 25.4 if unit.startswith(("in", '"')) else 10.0 if unit.startswith(("cm", "centi")) else 1.0


def contradicts_text_size(sentence: str, facts: list[Fact]) -> bool:
    """A text size smaller than the one measured for the viewing distance the designer gave."""
    sizes = [f for f in facts if f.kind == "text_size"]
    if not sizes or (all(f.values.get("assumed") for f in sizes) and not MINIMUM.search(sentence)):
        return False
    points = min(float(f.values["min_font_size_pt"]) for f in sizes)
    letters = min(float(f.values["x_height_mm"]) for f in sizes)
    if any(float(found.group(1)) < 0.9 * points for found in POINTS.finditer(sentence)):
        return True
    return any(_length_mm(found) < 0.9 * letters for found in LENGTH.finditer(sentence))


def inconsistent_units(sentence: str) -> bool:
    """A length restated in other units that does not convert ("1/8 in (1.5 mm)", "12.5 mm (2.95 inches)")."""
    for found in RESTATED.finditer(sentence):
        first = _amount(found.group(1)) * _mm_per(found.group(2))
        second = _amount(found.group(3)) * _mm_per(found.group(4))
        if first > 0 and abs(first - second) > 0.06 * first:
            return True
    return False


def _amount(text: str) -> float:
    """A number as written: 3, 0.125, 1/8 or 1 1/8."""
    whole, _, fraction = text.strip().rpartition(" ") if "/" in text else ("", "", text)
    if "/" in fraction:
        top, bottom = fraction.split("/")
        value = float(top) / float(bottom) if float(bottom) else 0.0
    else:
        value = float(fraction)
    return value + (float(whole) if whole else 0.0)


def _length_mm(found: re.Match) -> float:
    return float(found.group(1)) * _mm_per(found.group(2))


class Guard:
    """Decides, sentence by sentence, what of the model's prose may stand next to the measured facts."""

    def __init__(self, facts: list[Fact], problems: list[Finding]):
        self.facts = facts
        self.problems = problems
        self.dropped: list[str] = []
        self._said: set[str] = set()

    def keep(self, sentence: str) -> bool:
        """False (and noted in `dropped`) for a sentence that contradicts a fact, a finding or itself, or repeats."""
        checks: list[Callable[[], bool]] = [
            lambda: contradicts_findings(sentence, self.problems), lambda: contradicts_contrast(sentence, self.facts),
            lambda: contradicts_paper(sentence, self.facts), lambda: contradicts_text_size(sentence, self.facts),
            lambda: inconsistent_units(sentence), lambda: degenerate(sentence), lambda: self._repeated(sentence)]
        if any(check() for check in checks):
            self.dropped.append(sentence)
            return False
        return True

    def _repeated(self, sentence: str) -> bool:
        """A sentence said before in this answer (small models loop at temperature 0)."""
        key = " ".join(sentence.lower().split())
        if len(key) < 12 or key[-1] not in ".!?":  # a whole sentence, not a piece of a run-on
            return False
        seen = key in self._said
        self._said.add(key)
        return seen


class SentenceFilter:
    """Streams text through a guard one whole sentence at a time."""

    def __init__(self, guard: Guard):
        self.guard = guard
        self.pending = ""
        self._ended_line = True  # the text let through so far ends a line (or is empty)

    def feed(self, text: str) -> str:
        """The text of the sentences completed by `text` that the guard keeps."""
        self.pending += text
        parts = SENTENCE_END.split(self.pending)
        separators = SENTENCE_END.findall(self.pending)
        if len(parts) == 1 and len(self.pending) > MAX_HELD and " " in self.pending.rstrip():
            # a run-on without an end (a list, a long clause) goes on in pieces, so the answer keeps streaming
            head = self.pending.rstrip()
            cut = head.rindex(", ") + 1 if ", " in head[MAX_HELD // 2:] else head.rindex(" ")
            parts, separators = [self.pending[:cut], self.pending[cut + 1:]], [" "]
        if len(parts) == 1:
            return ""
        self.pending = parts[-1]
        out = []
        for part, separator in zip(parts[:-1], separators, strict=True):
            if part.strip() and self.guard.keep(part):
                out.append(part + separator)
            elif "\n" in separator and not self._ended_line:  # a left-out sentence still ends its paragraph
                out.append(separator)
            else:
                continue
            self._ended_line = "\n" in out[-1]
        return "".join(out)

    def flush(self) -> str:
        """The last, unfinished sentence, if the guard keeps it."""
        rest, self.pending = self.pending, ""
        return rest if rest.strip() and self.guard.keep(rest) else ""
