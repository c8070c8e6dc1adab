"""Turning the answers into bench/eval.md (scores, ablation, timings, verbatim answers) and bench/eval.json."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .questions import CATEGORIES
from .runner import Answer

EXCERPT_CHARS = 400
PREFERRED_EXAMPLES = ("poster", "contrast", "print")  # categories the verbatim answers are drawn from first


@dataclass(frozen=True)
class Row:
    """Scores of one model in one grounding mode."""

    model: str
    grounding: bool
    by_category: dict[str, tuple[int, int]]  # category -> (passed, asked)
    passed: int
    asked: int
    contradictions: int
    poster_asked: int
    errors: int
    median_s: float | None
    p90_s: float | None

    @property
    def percent(self) -> float:
        return 100.0 * self.passed / self.asked if self.asked else 0.0


def percentile_90(values: list[float]) -> float | None:
    """The 90th percentile (inclusive method); the value itself when there is only one."""
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summarise(answers: list[Answer]) -> list[Row]:
    """One Row per (model, grounding) in the order they were run."""
    groups: dict[tuple[str, bool], list[Answer]] = {}
    for answer in answers:
        groups.setdefault((answer.model, answer.grounding), []).append(answer)
    rows = []
    for (model, grounding), group in groups.items():
        by_category = {}
        for category in CATEGORIES:
            asked = [a for a in group if a.category == category]
            if asked:
                by_category[category] = (sum(a.passed for a in asked), len(asked))
        times = [a.seconds for a in group if a.seconds is not None]
        rows.append(Row(
            model=model, grounding=grounding, by_category=by_category, passed=sum(a.passed for a in group),
            asked=len(group), contradictions=sum(a.contradiction for a in group),
            poster_asked=sum(a.category == "poster" for a in group), errors=sum(a.error is not None for a in group),
            median_s=statistics.median(times) if times else None, p90_s=percentile_90(times),
        ))
    return rows


def _pct(passed: int, asked: int) -> float:
    return 100.0 * passed / asked if asked else 0.0


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def score_table(rows: list[Row]) -> list[str]:
    """Markdown table: a row per model and mode, then per model the ablation row (on − off, in points)."""
    categories = [c for c in CATEGORIES if any(c in row.by_category for row in rows)]
    header = ["Model", "Grounding", *categories, "Total", "Contradictions", "Errors", "s/answer median", "p90"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{_pct(*row.by_category[c]):.0f}% ({row.by_category[c][0]}/{row.by_category[c][1]})"
                 if c in row.by_category else "–" for c in categories]
        lines.append("| " + " | ".join([
            row.model, "on" if row.grounding else "off", *cells, f"**{row.percent:.1f}%** ({row.passed}/{row.asked})",
            f"{row.contradictions}/{row.poster_asked}", str(row.errors), _seconds(row.median_s), _seconds(row.p90_s),
        ]) + " |")
    for model in dict.fromkeys(row.model for row in rows):
        on = next((r for r in rows if r.model == model and r.grounding), None)
        off = next((r for r in rows if r.model == model and not r.grounding), None)
        if on and off:
            deltas = [f"{_pct(*on.by_category[c]) - _pct(*off.by_category[c]):+.0f}"
                      if c in on.by_category and c in off.by_category else "–" for c in categories]
            lines.append("| " + " | ".join([
                model, "**on − off** (points)", *deltas, f"**{on.percent - off.percent:+.1f}**",
                f"{on.contradictions - off.contradictions:+d}", "", "", "",
            ]) + " |")
    return lines


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The answer cut to about `limit` characters, as a Markdown quote."""
    text = text.strip() or "(empty)"
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def pick_examples(answers: list[Answer], count: int = 3) -> list[str]:
    """Question ids for the verbatim answers: the first of the preferred categories, then the first of others."""
    first_of: dict[str, str] = {}
    for answer in answers:
        first_of.setdefault(answer.category, answer.id)
    order = [c for c in PREFERRED_EXAMPLES if c in first_of] + [c for c in first_of if c not in PREFERRED_EXAMPLES]
    return [first_of[c] for c in order[:count]]


def verbatim(answers: list[Answer]) -> list[str]:
    """Three answers with grounding and the same three without, from the first model."""
    if not answers:
        return []
    model = answers[0].model
    ids = pick_examples([a for a in answers if a.model == model and a.grounding])
    lines = [f"Model `{model}`; answers cut to about {EXCERPT_CHARS} characters.", ""]
    for grounding in (True, False):
        chosen = [a for i in ids for a in answers if a.model == model and a.grounding is grounding and a.id == i]
        lines += [f"### {'With' if grounding else 'Without'} grounding", ""]
        if not chosen:
            lines += ["(not run: --no-ablation)", ""]
        for answer in chosen:
            verdict = "error: " + answer.error if answer.error else ("pass" if answer.passed else "fail")
            poster = ", with its poster" if answer.with_poster else ""
            lines += [f"**{answer.id}** ({answer.category}{poster}; {verdict}): {answer.question}", "",
                      excerpt(answer.answer), ""]
    return lines


def markdown(meta: dict[str, Any], answers: list[Answer]) -> str:
    """The whole report."""
    rows = summarise(answers)
    lines = [
        "# posterchat answer quality", "",
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}",
        f"- Commit: `{meta['commit']}`",
        f"- Models: {', '.join(f'`{m}`' for m in meta['models'])}",
        f"- Grounding: {', '.join(meta['modes'])} (POSTERCHAT_GROUNDING)",
        f"- Questions: {meta['questions']} from `bench/eval/questions.toml`; temperature 0, max_tokens "
        f"{meta['max_tokens']}, no conversation history",
        f"- Command: `{meta['command']}`", "",
        "## Scores", "",
        "Share of questions answered correctly: every `expect` regex matches the `response` and no `forbid` regex "
        "does. Contradictions: poster questions whose answer claims the poster (or the part asked about) is fine "
        "although it has the problem the question is about. A failed request counts as a wrong answer (Errors). "
        "Seconds per answer are wall-clock per request, failed requests left out.", "",
        *score_table(rows), "",
        "## Answers, verbatim", "",
        *verbatim(answers),
        "Every answer with its verdict is in `" + meta["json_name"] + "`.", "",
    ]
    return "\n".join(lines)


def write(out: Path, meta: dict[str, Any], answers: list[Answer]) -> Path:
    """bench/eval.md at `out` and the JSON beside it; the JSON's path."""
    json_path = out.with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown({**meta, "json_name": json_path.name}, answers), encoding="utf-8")
    summary = [{"model": r.model, "grounding": r.grounding, "percent": round(r.percent, 1), "passed": r.passed,
                "asked": r.asked, "by_category": r.by_category, "contradictions": r.contradictions,
                "errors": r.errors, "median_s": r.median_s, "p90_s": r.p90_s} for r in summarise(answers)]
    document = {"meta": meta, "summary": summary, "answers": [a.to_json() for a in answers]}
    json_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return json_path
