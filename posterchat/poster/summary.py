"""A short plain-text account of the findings for a language model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .schema import Finding

_RANK = {"error": 0, "warning": 1, "info": 2}
MAX_LINES = 6


def summarize(findings: Iterable[Finding]) -> str:
    """A header and at most MAX_LINES findings, most severe first."""
    ordered = sorted(findings, key=lambda f: _RANK[f.severity])
    if not ordered:
        return "Measured design checks on the current poster: no problems found."
    counts = Counter(f.severity for f in ordered)
    tally = ", ".join(f"{counts[s]} {s if s == 'info' or counts[s] == 1 else s + 's'}" for s in _RANK if counts[s])
    lines = [f"Measured design checks on the current poster ({tally}):"]
    lines += [f"- {f.check} ({f.severity}{', auto-fix' if f.fix else ''}): {f.message}" for f in ordered[:MAX_LINES]]
    if len(ordered) > MAX_LINES:
        lines.append(f"- ...and {len(ordered) - MAX_LINES} more.")
    return "\n".join(lines)
