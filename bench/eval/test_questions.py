"""Self-test of the answer-quality benchmark: the questions file, the scorer, the request and the report."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from coloraide import Color

from bench.eval import report, runner
from bench.eval.questions import CATEGORIES, QuestionsError, load, score, select
from posterchat.poster import Poster

QUESTIONS = load()
BY_ID = {q.id: q for q in QUESTIONS}


def test_the_file_parses_into_at_least_72_questions():
    assert len(QUESTIONS) >= 72


def test_every_category_has_at_least_six_questions():
    counts = Counter(q.category for q in QUESTIONS)
    assert {c: counts[c] for c in CATEGORIES if counts[c] < 6} == {}


def test_ids_are_unique_and_every_regex_compiled():
    assert len(BY_ID) == len(QUESTIONS)
    assert all(q.expect for q in QUESTIONS)
    assert all(p.pattern for q in QUESTIONS for p in (*q.expect, *q.forbid))


def test_every_poster_validates_against_the_schema():
    posters = [q for q in QUESTIONS if q.poster is not None]
    assert {q.category for q in posters} == {"poster"}
    assert all(q.poster is not None for q in QUESTIONS if q.category == "poster")
    for question in posters:
        Poster.model_validate(question.poster)


def test_contrast_ratios_match_the_wcag_formula():
    checked = [q for q in QUESTIONS if q.fg is not None]
    assert len(checked) >= 6
    for question in checked:
        measured = Color(question.fg).contrast(question.bg, method="wcag21")
        assert abs(measured - question.ratio) < 0.005, (question.id, measured)
        shown = (f"{measured:.2f}:1", f"{measured:.3f}:1")
        assert any(question.expect[0].search(s) for s in shown), (question.id, shown)


def test_every_hand_written_example_passes():
    assert all(q.example for q in QUESTIONS)
    failing = {q.id: score(q, q.example) for q in QUESTIONS if not score(q, q.example).passed}
    assert failing == {}


@pytest.mark.parametrize("qid, wrong", [
    ("wcag-aa-body-text", "WCAG asks for 3:1 for body text."),
    ("contrast-777777-on-white", "#777777 on white is 4.48:1, so it passes AA for body text."),
    ("contrast-white-on-red", "White on red is 5.25:1, which passes."),
    ("paper-a2", "A2 is 594 × 841 mm."),
    ("paper-a4-per-a2", "Two A4 sheets fit on an A2 sheet."),
    ("print-bleed", "You don't need any bleed for a poster."),
    ("type-sentence-spacing", "Use two spaces after a full stop, it's clearer."),
    ("layout-body-alignment", "I recommend centering long paragraphs for balance."),
    ("poster-headline-readable", "Your headline is perfectly readable and the contrast is strong."),
    ("poster-confirm-fine", "Yes, it looks great. There are no problems, send it!"),
])
def test_the_scorer_fails_wrong_answers(qid, wrong):
    assert not score(BY_ID[qid], wrong).passed


def test_a_contradiction_is_a_forbid_hit_on_a_poster_question():
    verdict = score(BY_ID["poster-ready-without-bleed"], "Yes, it is ready for print; there are no issues.")
    assert verdict.forbidden and not verdict.passed
    assert score(BY_ID["poster-ready-without-bleed"], "Before it is ready, add 3 mm bleed.").passed


def test_bad_regex_and_unknown_category_are_clear_errors(tmp_path):
    path = tmp_path / "q.toml"
    entry = 'id = "x"\nquestion = "q"\nsource = { title = "t", url = "https://example.org" }\n'
    path.write_text('[[questions]]\ncategory = "wcag"\nexpect = ["(unclosed"]\n' + entry)
    with pytest.raises(QuestionsError, match="question x: expect regex"):
        load(path)
    path.write_text('[[questions]]\ncategory = "fonts"\nexpect = ["a"]\n' + entry)
    with pytest.raises(QuestionsError, match="category 'fonts'"):
        load(path)


def test_limit_takes_questions_in_turn_from_each_category():
    assert {q.category for q in select(QUESTIONS, limit=len(CATEGORIES))} == set(CATEGORIES)
    assert {q.category for q in select(QUESTIONS, only={"paper", "poster"})} == {"paper", "poster"}
    assert len(select(QUESTIONS, only={"paper"}, limit=3)) == 3


def test_the_request_is_a_fresh_deterministic_conversation_with_the_poster():
    body = runner.request_body(BY_ID["poster-photo-sharp"], "local")
    assert body["conversation_history"] == [] and body["temperature"] == 0 and body["max_tokens"] == 256
    assert body["model"] == "local" and body["poster"]["elements"][1]["pixel_width"] == 800
    assert "poster" not in runner.request_body(BY_ID["paper-a2"], "local")


def _client(handler) -> httpx.Client:
    return httpx.Client(base_url="http://posterchat", transport=httpx.MockTransport(handler))


def test_a_failed_request_is_a_wrong_answer_with_the_error_recorded():
    busy = _client(lambda request: httpx.Response(503, json={"error": {"code": "busy", "message": "try later"}}))
    answer = runner.ask(busy, BY_ID["paper-a2"], "local", grounding=True)
    assert not answer.passed and answer.error == "HTTP 503 busy: try later" and answer.seconds is None

    def refuse(request):
        raise httpx.ConnectError("connection refused")

    answer = runner.ask(_client(refuse), BY_ID["paper-a2"], "local", grounding=False)
    assert not answer.passed and answer.error.startswith("ConnectError")


def test_a_correct_answer_is_scored_from_the_response_field():
    reply = {"response": "A2 is 420 × 594 mm.", "conversation_history": [], "model_used": "local",
             "design_notes": [{"check": "bleed"}], "facts": [{"kind": "paper", "statement": "A2", "values": {}}]}
    answer = runner.ask(_client(lambda request: httpx.Response(200, json=reply)), BY_ID["paper-a2"], "local", True)
    assert answer.passed and answer.error is None and answer.design_notes == ["bleed"] and answer.facts


def _answer(qid: str, passed: bool, grounding: bool, contradiction: bool = False) -> runner.Answer:
    question = BY_ID[qid]
    return runner.Answer(model="m", grounding=grounding, id=qid, category=question.category,
                         question=question.question, with_poster=question.poster is not None,
                         answer="x" * 500, passed=passed, missing=[], forbidden=[], contradiction=contradiction,
                         seconds=1.0)


def test_the_report_has_the_scores_the_ablation_and_verbatim_answers():
    answers = [_answer("paper-a2", True, True), _answer("poster-confirm-fine", True, True),
               _answer("paper-a2", False, False), _answer("poster-confirm-fine", False, False, contradiction=True)]
    rows = report.summarise(answers)
    assert [(r.grounding, r.percent, r.contradictions) for r in rows] == [(True, 100.0, 0), (False, 0.0, 1)]
    meta = {"date": "d", "machine": "2 cores", "commit": "abc1234", "models": ["m"], "modes": ["on", "off"],
            "questions": 2, "max_tokens": 256, "command": "python -m bench.eval", "json_name": "eval.json"}
    text = report.markdown(meta, answers)
    assert "**on − off** (points)" in text and "**+100.0**" in text and "abc1234" in text
    assert text.count("### With grounding") == 1 and text.count("**poster-confirm-fine**") == 2 and " …" in text
