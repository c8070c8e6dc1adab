"""Applying the fixes that poster findings carry, as the plugin does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jsonpatch

from posterchat.poster import Finding


def apply_fixes(poster: Mapping[str, Any], findings: Iterable[Finding | Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of the poster with every finding's JSON Patch applied, in the order given."""
    patch = [op for finding in findings
             for op in (finding.fix if isinstance(finding, Finding) else finding.get("fix")) or ()]
    return jsonpatch.apply_patch(dict(poster), patch)
