"""Grading a question of the bank by its type: ``grade_question`` is all the quiz pages need.

Pure Python (no Django). A response with a format error is *invalid*: it gets a message and costs no
attempt. Parameterized questions delegate to the problem family for the student's variant (its
seed). Every grade is a :class:`grader.results.GradingResult` worth 1 point (the slot's points are
the quiz's business); texts are :mod:`grader.i18n` wordings, and the bank's own feedback (a choice's
"why", a misconception's message) is the bank's text, shown as written: a string, or ``{lang: text}``
when the question carries translations (the source language first), shown in the reader's language.
"""

from __future__ import annotations

import random
import re
from typing import Any

from grader.answers import (
    AnswerFormatError,
    Tolerance,
    expressions_equal,
    normalize_text,
    numbers_match,
    parse_expression,
    parse_matrix,
    parse_number,
)
from grader.i18n import Joined, Text, Translated, Verbatim, Wording
from grader.results import GradingResult, PartResult

__all__ = [
    "MAX_ESSAY_CHARS", "choice_order", "grade_question", "graded_unanswered", "graded_unreadable", "spec_tolerance",
]

MAX_ESSAY_CHARS = 20_000  # characters in an essay; far beyond any honest answer, small enough to store
MAX_SHORT_TEXT_CHARS = 500


def _invalid(message: Wording, part: str = "value") -> GradingResult:
    return GradingResult.invalid({part: message})


BankText = str | dict[str, str]


def _bank_text(text: BankText) -> Wording:
    """The bank's own text: as written, or in the reader's language when it is translated."""
    return Verbatim(text) if isinstance(text, str) else Translated(text)


def _graded(score: float, *, feedback: list[BankText] | None = None, misconceptions: tuple[str, ...] = (),
            parts: tuple[PartResult, ...] = (), message: Wording | None = None) -> GradingResult:
    """A question's grade, worth 1 point; ``feedback``: the bank's own texts, as paragraphs."""
    if message is None:
        message = Joined((_bank_text(text) for text in feedback or () if text), separator="\n\n")
    return GradingResult(score=score, points=score, max_points=1.0, message=message, parts=parts,
                         misconceptions=misconceptions)


def spec_tolerance(spec: dict[str, Any]) -> Tolerance:
    """A numeric or matrix question's tolerance (default ``rel 1e-6``): how it is graded and shown."""
    tol = spec.get("tolerance") or {"rel": 1e-6}
    return Tolerance(rel=tol.get("rel"), abs=tol.get("abs"), sigfigs=tol.get("sigfigs"))


def choice_order(spec: dict[str, Any], seed: int) -> list[int]:
    """The order in which a student sees the options: fixed per student (seed), original if not shuffled."""
    indices = list(range(len(spec.get("choices", []))))
    if spec.get("shuffle", True):
        random.Random(seed).shuffle(indices)
    return indices


def _grade_single(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    choices = spec["choices"]
    picked = response.get("choice")
    if isinstance(picked, str) and picked.strip().isdigit():
        picked = int(picked)
    if not isinstance(picked, int) or isinstance(picked, bool) or not 0 <= picked < len(choices):
        return _invalid(Text("Choose one option."))
    chosen = choices[picked]
    return _graded(1.0 if chosen.get("correct") else 0.0, feedback=[chosen.get("feedback", "")])


def _grade_multiple(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    choices = spec["choices"]
    picked = response.get("choices")
    if not isinstance(picked, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in picked):
        return _invalid(Text("Tick the options that apply."))
    if any(not 0 <= i < len(choices) for i in picked) or len(set(picked)) != len(picked):
        return _invalid(Text("Unknown or repeated option."))
    chosen = set(picked)
    # Each option is a true/false statement: right decisions minus wrong ones, floored at zero.
    right = sum(1 for i, c in enumerate(choices) if (i in chosen) == bool(c.get("correct")))
    wrong = len(choices) - right
    return _graded(max(0.0, (right - wrong) / len(choices)),
                   feedback=[choices[i].get("feedback", "") for i in sorted(chosen)])


_TRUE_FALSE_WORDS = {"true": True, "false": False, "t": True, "f": False, "是": True, "否": False}


def _grade_truefalse(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    value = response.get("value")
    if isinstance(value, str):
        value = _TRUE_FALSE_WORDS.get(value.strip().lower())
    if not isinstance(value, bool):
        return _invalid(Text("Choose true or false."))
    note = spec.get("feedback_true") if value else spec.get("feedback_false")
    return _graded(1.0 if value == spec["answer"] else 0.0, feedback=[note or ""])


def _grade_numeric(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    try:
        value = parse_number(response.get("value", ""))
    except AnswerFormatError as exc:
        return _invalid(exc.text)
    tol = spec_tolerance(spec)
    if numbers_match(value, spec["answer"], tol):
        return _graded(1.0)
    for misconception in spec.get("misconceptions") or []:
        if numbers_match(value, misconception["answer"], tol):
            message = misconception["message"]
            source = message if isinstance(message, str) else next(iter(message.values()), "")
            tag = misconception.get("tag") or source[:60]
            return _graded(0.0, feedback=[misconception["message"]], misconceptions=(tag,))
    return _graded(0.0)


def _grade_matrix(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    expected = spec["answer"]
    shape = (len(expected), len(expected[0]))
    try:
        given = parse_matrix(response.get("value", ""), shape=shape if spec.get("shape_given", True) else None)
    except AnswerFormatError as exc:
        return _invalid(exc.text)
    tol = spec_tolerance(spec)
    cells = [
        [i < len(given) and j < len(given[i]) and numbers_match(given[i][j], expected[i][j], tol)
         for j in range(shape[1])]
        for i in range(shape[0])
    ]
    score = sum(sum(row) for row in cells) / (shape[0] * shape[1])
    message: Wording = ""
    if (len(given), len(given[0])) != shape:
        message = Text("The matrix should be %(rows)d×%(cols)d.", rows=shape[0], cols=shape[1])
    value = PartResult("value", "", score, score, 1.0, score >= 1.0, message=message, cells=cells)
    return _graded(score, parts=(value,), message=message)


def _grade_symbolic(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    variables = list(spec.get("variables") or [])
    try:
        given = parse_expression(response.get("value", ""), variables)
    except AnswerFormatError as exc:
        return _invalid(exc.text)
    return _graded(1.0 if expressions_equal(given, str(spec["answer"]), variables) else 0.0)


def _normalize_words(text: str, case_sensitive: bool) -> str:
    text = " ".join(normalize_text(text).split())
    return text if case_sensitive else text.casefold()


def _grade_text(spec: dict[str, Any], response: dict[str, Any]) -> GradingResult:
    raw = response.get("value")
    if not isinstance(raw, str) or not raw.strip():
        return _invalid(Text("Type an answer."))
    if len(raw) > MAX_SHORT_TEXT_CHARS:
        return _invalid(Text("The answer is too long (%(limit)d characters at most).", limit=MAX_SHORT_TEXT_CHARS))
    case_sensitive = bool(spec.get("case_sensitive", False))
    given = _normalize_words(raw, case_sensitive)
    for accepted in spec["accept"]:
        if spec.get("regex"):
            if re.fullmatch(accepted, given, 0 if case_sensitive else re.IGNORECASE):
                return _graded(1.0)
        elif given == _normalize_words(accepted, case_sensitive):
            return _graded(1.0)
    return _graded(0.0)


def _grade_essay(response: dict[str, Any]) -> GradingResult:
    text = response.get("text")
    if not isinstance(text, str) or not text.strip():
        return _invalid(Text("Write your answer first."), "text")
    if len(text) > MAX_ESSAY_CHARS:
        return _invalid(Text("At most %(limit)d characters.", limit=MAX_ESSAY_CHARS), "text")
    return GradingResult(score=0.0, points=0.0, max_points=1.0, needs_manual_grading=True)


def _grade_param(spec: dict[str, Any], response: dict[str, Any], seed: int) -> GradingResult:
    from grader.problems import get_family

    family = get_family(spec["family"])
    params = family.generate(seed, spec.get("constraints") or None)
    raw_parts = response.get("parts")
    if not isinstance(raw_parts, dict):
        return _invalid(Text("Answer every part."), "parts")
    result = family.check(params, raw_parts)
    if not result.gradable:
        return result
    # One point for the question, shared by its answer boxes as their points are.
    return GradingResult(score=result.score, points=result.score, max_points=1.0, message=result.message,
                         parts=result.parts, misconceptions=result.misconceptions)


def grade_question(qtype: str, spec: dict[str, Any], response: Any, *, seed: int = 0) -> GradingResult:
    """Grade one response to one question version. Never raises on bad input: it is invalid instead."""
    if not isinstance(response, dict):
        return _invalid(Text("Malformed answer."))
    if qtype == "single":
        return _grade_single(spec, response)
    if qtype == "multiple":
        return _grade_multiple(spec, response)
    if qtype == "truefalse":
        return _grade_truefalse(spec, response)
    if qtype == "numeric":
        return _grade_numeric(spec, response)
    if qtype == "matrix":
        return _grade_matrix(spec, response)
    if qtype == "symbolic":
        return _grade_symbolic(spec, response)
    if qtype == "text":
        return _grade_text(spec, response)
    if qtype == "essay":
        return _grade_essay(response)
    if qtype == "param":
        return _grade_param(spec, response, seed)
    raise ValueError(f"unknown question type {qtype!r}")


def graded_unanswered() -> GradingResult:
    """The grade of a question left unanswered when its attempt was submitted."""
    return _graded(0.0, message=Text("No answer given."))


def graded_unreadable(invalid: GradingResult) -> GradingResult:
    """A saved answer that cannot be read when its attempt is submitted earns nothing, but says why."""
    return GradingResult(score=0.0, points=0.0, max_points=1.0, message=Text("The saved answer could not be read."),
                         format_errors=invalid.format_errors)
