"""Grounding: what posterchat knows for certain about a question, given to every model and leading every answer.

Three sources: facts measured from the question itself (facts/), sourced design knowledge retrieved for it
(knowledge/), and the poster's error-level findings (poster/). The model gets them as reference notes; on a small
model that is not enough (it copies numbers wrongly), so the answer also opens with them verbatim, and a guard drops
sentences of the model's prose that contradict them (core/guard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import knowledge
from ..facts import Fact, measure
from ..poster import Finding
from .messages import Reference

REFERENCE_RELEVANCE = 6.0  # knowledge given to the model: the retrieval's own cut-off (knowledge/index.py)
LEAD_RELEVANCE = 9.0  # knowledge quoted in the answer: clearly about the question (off-topic matches score < 9.2)
MAX_REFERENCES = 3
MAX_QUOTED = 1
MAX_FINDINGS = 5
SEVERITIES = ("error", "warning")  # info-level findings are notes, not problems


@dataclass(frozen=True)
class Grounding:
    """The measured facts, sourced references and poster problems (errors, then warnings) for one turn."""

    facts: list[Fact] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    quoted: list[Reference] = field(default_factory=list)  # the references relevant enough to quote
    problems: list[Finding] = field(default_factory=list)

    @classmethod
    def gather(cls, question: str, findings: list[Finding], viewing_distance_m: float) -> Grounding:
        """Measure and retrieve for `question` (fast: well under a millisecond after the first call)."""
        hits = [hit for hit in knowledge.hits(question, MAX_REFERENCES) if hit.relevance >= REFERENCE_RELEVANCE]
        references = [_reference(hit.entry) for hit in hits]
        quoted = [ref for ref, hit in zip(references, hits) if hit.relevance >= LEAD_RELEVANCE][:MAX_QUOTED]
        ranked = sorted((f for f in findings if f.severity in SEVERITIES), key=lambda f: SEVERITIES.index(f.severity))
        return cls(measure(question, viewing_distance_m=viewing_distance_m), references, quoted,
                   ranked[:MAX_FINDINGS])

    def __bool__(self) -> bool:
        return bool(self.facts or self.references or self.problems)

    def context(self) -> str | None:
        """Reference notes for the model's system prompt."""
        if not self:
            return None
        lines = ["Reference notes for this answer, measured or sourced by posterchat. Use these numbers exactly "
                 "and never contradict them:"]
        lines += [f"- Poster {finding.severity} to fix: {finding.message}" for finding in self.problems]
        lines += [f"- Measured: {fact.statement}" for fact in self.facts]
        lines += [f"- {ref.title}: {ref.text} (source: {ref.source})" for ref in self.references]
        return "\n".join(lines)

    def lead(self) -> str:
        """The answer's opening, in Markdown blocks: the poster's problems, the measured facts and the best
        reference, verbatim."""
        blocks = []
        errors = [f for f in self.problems if f.severity == "error"]
        warnings = [f for f in self.problems if f.severity == "warning"]
        if errors:
            heading = f"**Your poster has {len(errors)} problem{'s' if len(errors) > 1 else ''} to fix first:**"
            blocks.append("\n".join([heading, *(f"- {finding.message}" for finding in errors)]))
        if warnings:
            heading = "**Also worth fixing:**" if errors else "**Worth fixing on your poster:**"
            blocks.append("\n".join([heading, *(f"- {finding.message}" for finding in warnings)]))
        blocks += [f"**Measured:** {fact.statement}" for fact in self.facts]
        blocks += [f"**Design reference:** {ref.text} ([{ref.source}]({ref.url}))" for ref in self.quoted]
        return "\n\n".join(blocks) + "\n\n" if blocks else ""


def _reference(entry: knowledge.Entry) -> Reference:
    return Reference(id=entry.id, title=entry.title, text=entry.text, source=entry.source, url=entry.url)
