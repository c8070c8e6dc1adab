"""Run the measured design checks over a poster."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonpatch
from pydantic import ValidationError

from .colour import colours, contrast
from .layout import bleed, image_resolution, off_canvas, safe_margin, text_overlap
from .schema import CheckOptions, Finding, Poster
from .typography import hierarchy, min_text_size, typefaces

# Each check's fixes leave the earlier checks satisfied. Contrast comes after layout, which decides what
# lies under the text, and before type sizes, which only grow and so only make contrast easier to meet;
# colours comes last because its fix must not break contrast.
CHECKS: dict[str, Callable[[Poster, CheckOptions], list[Finding]]] = {
    "off_canvas": off_canvas,
    "bleed": bleed,
    "image_resolution": image_resolution,
    "safe_margin": safe_margin,
    "text_overlap": text_overlap,
    "contrast": contrast,
    "min_text_size": min_text_size,
    "hierarchy": hierarchy,
    "typefaces": typefaces,
    "colours": colours,
}
CHECK_ORDER = tuple(CHECKS)


def _validated(data: dict[str, Any]) -> Poster | None:
    """The poster, or None if the data is not a valid one."""
    try:
        return Poster.model_validate(data)
    except ValidationError:
        return None


def _project(
    model: Poster, data: dict[str, Any], findings: list[Finding]
) -> tuple[Poster, dict[str, Any], list[Finding]]:
    """The poster with the findings' fixes applied; a fix that would leave it invalid is withheld from its finding."""
    if not any(finding.fix for finding in findings):
        return model, data, findings
    patched = jsonpatch.apply_patch(data, [op for finding in findings for op in finding.fix or ()])
    if projected := _validated(patched):
        return projected, patched, findings
    kept = []
    for finding in findings:  # rare: find the fixes at fault
        if finding.fix:
            patched = jsonpatch.apply_patch(data, finding.fix)
            if projected := _validated(patched):
                model, data = projected, patched
            else:
                finding = finding.model_copy(update={"fix": None})
        kept.append(finding)
    return model, data, kept


def check_poster(poster: Poster | Mapping[str, Any], settings: CheckOptions | None = None) -> list[Finding]:
    """Every check's findings, in CHECK_ORDER; each check sees the poster as the earlier checks' fixes leave it."""
    options = settings or CheckOptions()
    model = poster if isinstance(poster, Poster) else Poster.model_validate(poster)
    data = model.model_dump(mode="json")
    findings: list[Finding] = []
    for check in CHECKS.values():
        model, data, found = _project(model, data, check(model, options))
        findings += found
    return findings
