"""What grounding adds to a turn: measuring the question's facts and retrieving the knowledge, in-process."""

from __future__ import annotations

import statistics
import time
import tomllib
from pathlib import Path

from posterchat.core.grounding import Grounding

QUESTIONS = Path(__file__).parent / "eval" / "questions.toml"  # used only as a realistic set of questions to time
TARGET_MS = 20.0


def run(reps: int, log=print) -> dict:
    """Median and worst time of Grounding.gather over every eval question, after one warm-up pass."""
    questions = [q["question"] for q in tomllib.loads(QUESTIONS.read_text())["questions"]]
    for question in questions:  # the first call loads the knowledge base and coloraide
        Grounding.gather(question, [], 3.0)
    times = []
    for _ in range(max(3, reps)):
        for question in questions:
            started = time.perf_counter()
            Grounding.gather(question, [], 3.0)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    summary = {"questions": len(questions), "calls": len(times), "median_ms": statistics.median(times),
               "p99_ms": times[int(0.99 * (len(times) - 1))], "max_ms": times[-1]}
    log(f"  grounding: median {summary['median_ms']:.3f} ms, p99 {summary['p99_ms']:.3f} ms, "
        f"max {summary['max_ms']:.2f} ms over {summary['calls']} calls")
    return summary


def targets(result: dict) -> list[tuple[str, str, bool]]:
    return [(f"retrieval plus fact extraction add ≤ {TARGET_MS:.0f} ms to a turn",
             f"median {result['median_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms", result["p99_ms"] <= TARGET_MS)]


def tables(result: dict) -> list[str]:
    return ["## 6. Grounding", "",
            f"`Grounding.gather` (facts measured from the question, knowledge retrieved for it) over the "
            f"{result['questions']} eval questions, {result['calls']} calls in-process after a warm-up:", "",
            "| median | p99 | max |", "| --- | --- | --- |",
            f"| {result['median_ms']:.3f} ms | {result['p99_ms']:.3f} ms | {result['max_ms']:.2f} ms |", ""]
