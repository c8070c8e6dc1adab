"""Asking posterchat each question over HTTP and recording the answer with its verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from .questions import Question, score

MAX_TOKENS = 256
REQUEST_TIMEOUT = 300.0  # seconds; a slow embedded model on a busy machine, or an upstream's retries


@dataclass(frozen=True)
class Answer:
    """One answer by one model in one grounding mode, with its verdict; a failed request is a wrong answer."""

    model: str
    grounding: bool
    id: str
    category: str
    question: str
    with_poster: bool
    answer: str
    passed: bool
    missing: list[str]
    forbidden: list[str]
    contradiction: bool
    seconds: float | None
    error: str | None = None
    facts: list[Any] | None = None
    design_notes: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def request_body(question: Question, model: str, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    """POST /chat's body: a fresh conversation (nothing stored), deterministic sampling."""
    body: dict[str, Any] = {"message": question.question, "conversation_history": [], "temperature": 0,
                            "model": model, "max_tokens": max_tokens}
    if question.poster is not None:
        body["poster"] = question.poster
    return body


def error_text(response: httpx.Response) -> str:
    """'HTTP 503 model_busy: ...' from posterchat's error body, or the start of whatever came back."""
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code} {error.get('code', '')}: {error.get('message', '')}".strip()
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


def ask(client: httpx.Client, question: Question, model: str, grounding: bool) -> Answer:
    """Send one question; never raises for a failed request, it records the error instead."""
    started = time.perf_counter()
    text, error, data = "", None, {}
    try:
        response = client.post("/chat", json=request_body(question, model))
        if response.status_code == 200:
            data = response.json()
            text = data.get("response") or ""
        else:
            error = error_text(response)
    except (httpx.HTTPError, ValueError) as failure:
        error = f"{type(failure).__name__}: {failure}"
    seconds = None if error else round(time.perf_counter() - started, 3)
    verdict = score(question, text)
    notes = data.get("design_notes")
    return Answer(
        model=model, grounding=grounding, id=question.id, category=question.category, question=question.question,
        with_poster=question.poster is not None, answer=text, passed=verdict.passed and error is None,
        missing=list(verdict.missing), forbidden=list(verdict.forbidden),
        contradiction=question.category == "poster" and bool(verdict.forbidden), seconds=seconds, error=error,
        facts=data.get("facts"), design_notes=[n.get("check") for n in notes] if isinstance(notes, list) else None,
    )


def warm_up(client: httpx.Client, model: str) -> str | None:
    """One short untimed request so model loading is not counted; the error, if it failed."""
    body = {"message": "Hello", "conversation_history": [], "temperature": 0, "model": model, "max_tokens": 4}
    try:
        response = client.post("/chat", json=body)
    except httpx.HTTPError as failure:
        return f"{type(failure).__name__}: {failure}"
    return None if response.status_code == 200 else error_text(response)


def run(url: str, questions: list[Question], models: list[str], grounding: bool,
        log: Callable[[str], None] = print) -> list[Answer]:
    """Every question to every model on the server at `url`, one at a time."""
    answers: list[Answer] = []
    mode = "on" if grounding else "off"
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, trust_env=False) as client:  # no proxy for localhost
        for model in models:
            problem = warm_up(client, model)
            if problem:
                log(f"[grounding {mode}] {model}: warm-up failed ({problem}); asking anyway")
            for number, question in enumerate(questions, 1):
                answer = ask(client, question, model, grounding)
                answers.append(answer)
                outcome = "error" if answer.error else ("pass" if answer.passed else "fail")
                took = f"{answer.seconds:.1f}s" if answer.seconds is not None else answer.error
                log(f"[grounding {mode}] {model} {number}/{len(questions)} {question.id}: {outcome} ({took})")
    return answers
