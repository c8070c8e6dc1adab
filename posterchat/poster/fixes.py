"""Apply the JSON Patch fixes that findings carry."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import jsonpatch
from pydantic import ValidationError

from .checks import CHECK_ORDER
from .schema import Finding, Poster


def apply_fixes(poster_dict: Mapping[str, Any], findings: Iterable[Finding | Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of the poster with the findings' fixes applied in check order, whatever order they come in."""
    ordered = sorted(
        (f if isinstance(f, Finding) else Finding.model_validate(f) for f in findings),
        key=lambda f: CHECK_ORDER.index(f.check),
    )
    result = copy.deepcopy(dict(poster_dict))
    for finding in ordered:
        if finding.fix is None:
            continue
        try:
            result = jsonpatch.apply_patch(result, finding.fix, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            where = ", ".join(finding.elements) or "the poster"
            raise ValueError(f"the {finding.check} fix for {where} cannot be applied: {exc}") from exc
    try:
        Poster.model_validate(result)
    except ValidationError as exc:
        raise ValueError(f"the poster is not valid once the fixes are applied: {exc}") from exc
    return result
