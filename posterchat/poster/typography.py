"""Checks of the type: readable size at the viewing distance, hierarchy, number of typefaces."""

from __future__ import annotations

import math
from collections import Counter

from .geometry import MM_PER_POINT, set_op
from .schema import CheckOptions, Finding, Poster, TextElement

CRITICAL_PRINT_SIZE_DEG = 0.2
X_HEIGHT_EM = 0.5


def visible_texts(poster: Poster) -> list[tuple[int, TextElement]]:
    """Text elements that show something, with their indexes."""
    return [(i, el) for i, el in enumerate(poster.elements) if isinstance(el, TextElement) and el.content.strip()]


def min_font_size_pt(viewing_distance_m: float) -> int:
    """Smallest font size, in whole points, comfortably read from the viewing distance.

    Rule: the x-height must subtend at least 0.2° of visual angle, the critical print size above which
    reading speed is at its best for normal vision (Legge & Bigelow, "Does print size matter for reading?
    A review of findings from vision science and typography", Journal of Vision 11(5):8, 2011). The
    x-height is taken as half the em, typical of Latin text faces (Helvetica 0.52, Times 0.45). This
    gives 60 pt at 3 m and 30 pt at 1.5 m, in line with the usual 24-32 pt body text of posters read
    from 1-2 m.
    """
    x_height_mm = 2 * viewing_distance_m * 1000 * math.tan(math.radians(CRITICAL_PRINT_SIZE_DEG) / 2)
    return math.ceil(x_height_mm / X_HEIGHT_EM / MM_PER_POINT)


def min_text_size(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Text smaller than min_font_size_pt; below half of it, it is an error."""
    minimum = min_font_size_pt(options.viewing_distance_m)
    findings = []
    for index, text in visible_texts(poster):
        if text.font_size >= minimum:
            continue
        findings.append(Finding(
            check="min_text_size", severity="error" if text.font_size < minimum / 2 else "warning",
            elements=[text.id], measured=text.font_size, threshold=minimum,
            message=f"Text '{text.id}' is {text.font_size:g} pt; read from {options.viewing_distance_m:g} m away, "
            f"text needs at least {minimum} pt.",
            fix=[set_op(text, f"/elements/{index}", "font_size", minimum)],
        ))
    return findings


def hierarchy(poster: Poster, options: CheckOptions) -> list[Finding]:
    """Headlines (role headline, else the largest text without a role) must be hierarchy_ratio times the body text."""
    texts = visible_texts(poster)
    unlabelled = [(i, t) for i, t in texts if t.role is None]
    heads = [(i, t) for i, t in texts if t.role == "headline"]
    if not heads and unlabelled:
        heads = [max(unlabelled, key=lambda it: it[1].font_size)]
    head_indexes = {i for i, _ in heads}
    others = [(i, t) for i, t in texts if i not in head_indexes]
    body = [t for _, t in others if t.role == "body"] or [t for _, t in others if t.role is None]
    if not heads or not body:
        return []
    body_size, ratio = max(t.font_size for t in body), options.hierarchy_ratio
    target = math.ceil(round(body_size * ratio, 6))  # 1.1 × 60 must give 66, not 67
    findings = []
    for index, head in heads:
        if head.font_size >= body_size * ratio:
            continue
        findings.append(Finding(
            check="hierarchy", severity="warning", elements=[head.id],
            measured=round(head.font_size / body_size, 2), threshold=ratio,
            message=f"Headline '{head.id}' ({head.font_size:g} pt) is only {head.font_size / body_size:.2f}× the body "
            f"text ({body_size:g} pt); make it at least {ratio:g}× ({target} pt) so it reads first.",
            fix=[set_op(head, f"/elements/{index}", "font_size", target)],
        ))
    return findings


def _family_key(name: str) -> str:
    """Font family names compare ignoring case and surrounding spaces."""
    return name.strip().casefold()


def typefaces(poster: Poster, options: CheckOptions) -> list[Finding]:
    """More than max_typefaces font families (compared ignoring case); the fix sets the extras in the most used one."""
    texts = visible_texts(poster)
    spelling: dict[str, str] = {}
    for _, t in texts:
        spelling.setdefault(_family_key(t.font_family), t.font_family)
    counts = Counter(_family_key(t.font_family) for _, t in texts)
    if len(counts) <= options.max_typefaces:
        return []
    keep = [family for family, _ in counts.most_common(options.max_typefaces)]
    main = spelling[keep[0]]
    extra = [(i, t) for i, t in texts if _family_key(t.font_family) not in keep]
    names = ", ".join(spelling[family] for family in counts if family not in keep)
    return [Finding(
        check="typefaces", severity="warning", elements=[t.id for _, t in extra],
        measured=len(counts), threshold=options.max_typefaces,
        message=f"The poster uses {len(counts)} typefaces, more than {options.max_typefaces}, which looks busy; "
        f"set {names} in {main}.",
        fix=[set_op(t, f"/elements/{i}", "font_family", main) for i, t in extra],
    )]
