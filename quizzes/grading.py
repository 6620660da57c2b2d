"""Grading of bank questions by type. Pure Python (no Django): ``grade_question`` is all views need.

A response with a format error is *invalid*: it gets a message and costs no attempt. Parameterized
questions delegate to the grader core's problem family for the student's variant (its seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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

MAX_TEXT = 20_000  # characters in an essay; far beyond any honest answer, small enough to store


@dataclass
class QuestionGrade:
    valid: bool
    score: float = 0.0  # 0–1
    needs_manual_grading: bool = False
    format_errors: dict[str, str] = field(default_factory=dict)
    feedback: list[str] = field(default_factory=list)
    misconceptions: list[str] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)  # per part / per cell / per option detail

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid, "score": round(self.score, 4), "needs_manual_grading": self.needs_manual_grading,
            "format_errors": self.format_errors, "feedback": self.feedback,
            "misconceptions": self.misconceptions, "parts": self.parts,
        }


def _invalid(message: str, part: str = "value") -> QuestionGrade:
    return QuestionGrade(valid=False, format_errors={part: message})


def _tolerance(spec: dict[str, Any]) -> Tolerance:
    tol = spec.get("tolerance") or {"rel": 1e-6}
    return Tolerance(rel=tol.get("rel"), abs=tol.get("abs"), sigfigs=tol.get("sigfigs"))


def _format_error(exc: AnswerFormatError, lang: str) -> str:
    return exc.message("zh-Hant" if lang.lower().startswith("zh") else "en")


def choice_order(spec: dict[str, Any], seed: int) -> list[int]:
    """The order in which a student sees the options: fixed per student (seed), original if not shuffled."""
    indices = list(range(len(spec.get("choices", []))))
    if spec.get("shuffle", True):
        import random

        random.Random(seed).shuffle(indices)
    return indices


def _grade_single(spec: dict[str, Any], response: dict[str, Any]) -> QuestionGrade:
    choices = spec["choices"]
    picked = response.get("choice")
    if isinstance(picked, str) and picked.strip().isdigit():
        picked = int(picked)
    if not isinstance(picked, int) or isinstance(picked, bool) or not 0 <= picked < len(choices):
        return _invalid("請選擇一個選項。Choose one option.")
    chosen = choices[picked]
    grade = QuestionGrade(valid=True, score=1.0 if chosen.get("correct") else 0.0)
    if chosen.get("feedback"):
        grade.feedback.append(chosen["feedback"])
    grade.parts = {"choice": picked, "correct": [i for i, c in enumerate(choices) if c.get("correct")]}
    return grade


def _grade_multiple(spec: dict[str, Any], response: dict[str, Any]) -> QuestionGrade:
    choices = spec["choices"]
    picked = response.get("choices")
    if not isinstance(picked, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in picked):
        return _invalid("請勾選選項（可以不勾）。Tick the options that apply.")
    if any(not 0 <= i < len(choices) for i in picked) or len(set(picked)) != len(picked):
        return _invalid("選項不存在或重複。Unknown or repeated option.")
    chosen = set(picked)
    # Each option is a true/false statement: right decisions minus wrong ones, floored at zero.
    right = sum(1 for i, c in enumerate(choices) if (i in chosen) == bool(c.get("correct")))
    wrong = len(choices) - right
    grade = QuestionGrade(valid=True, score=max(0.0, (right - wrong) / len(choices)))
    grade.feedback.extend(choices[i]["feedback"] for i in sorted(chosen) if choices[i].get("feedback"))
    grade.parts = {"options": {i: (i in chosen) == bool(c.get("correct")) for i, c in enumerate(choices)}}
    return grade


def _grade_truefalse(spec: dict[str, Any], response: dict[str, Any]) -> QuestionGrade:
    value = response.get("value")
    if isinstance(value, str):
        value = {"true": True, "false": False, "t": True, "f": False, "是": True, "否": False}.get(
            value.strip().lower())
    if not isinstance(value, bool):
        return _invalid("請選「是」或「否」。Choose true or false.")
    correct = value == spec["answer"]
    grade = QuestionGrade(valid=True, score=1.0 if correct else 0.0)
    note = spec.get("feedback_true") if value else spec.get("feedback_false")
    if note:
        grade.feedback.append(note)
    return grade


def _grade_numeric(spec: dict[str, Any], response: dict[str, Any], lang: str) -> QuestionGrade:
    try:
        value = parse_number(response.get("value", ""))
    except AnswerFormatError as exc:
        return _invalid(_format_error(exc, lang))
    tol = _tolerance(spec)
    if numbers_match(value, spec["answer"], tol):
        return QuestionGrade(valid=True, score=1.0, parts={"value": value})
    grade = QuestionGrade(valid=True, score=0.0, parts={"value": value})
    for misconception in spec.get("misconceptions") or []:
        if numbers_match(value, misconception["answer"], tol):
            grade.feedback.append(misconception["message"])
            grade.misconceptions.append(misconception.get("tag") or misconception["message"][:60])
            break
    return grade


def _grade_matrix(spec: dict[str, Any], response: dict[str, Any], lang: str) -> QuestionGrade:
    expected = spec["answer"]
    shape = (len(expected), len(expected[0]))
    try:
        given = parse_matrix(response.get("value", ""), shape=shape if spec.get("shape_given", True) else None)
    except AnswerFormatError as exc:
        return _invalid(_format_error(exc, lang))
    tol = _tolerance(spec)
    cells = [
        [i < len(given) and j < len(given[i]) and numbers_match(given[i][j], expected[i][j], tol)
         for j in range(shape[1])]
        for i in range(shape[0])
    ]
    right = sum(sum(row) for row in cells)
    grade = QuestionGrade(valid=True, score=right / (shape[0] * shape[1]), parts={"cells": cells})
    if (len(given), len(given[0])) != shape:
        grade.feedback.append(f"矩陣大小應為 {shape[0]}×{shape[1]}。The matrix should be {shape[0]}×{shape[1]}.")
    return grade


def _grade_symbolic(spec: dict[str, Any], response: dict[str, Any], lang: str) -> QuestionGrade:
    variables = list(spec.get("variables") or [])
    try:
        given = parse_expression(response.get("value", ""), variables)
    except AnswerFormatError as exc:
        return _invalid(_format_error(exc, lang))
    correct = expressions_equal(given, str(spec["answer"]), variables)
    return QuestionGrade(valid=True, score=1.0 if correct else 0.0, parts={"value": given})


def _normalize_words(text: str, case_sensitive: bool) -> str:
    text = " ".join(normalize_text(text).split())
    return text if case_sensitive else text.casefold()


def _grade_text(spec: dict[str, Any], response: dict[str, Any]) -> QuestionGrade:
    raw = response.get("value")
    if not isinstance(raw, str) or not raw.strip():
        return _invalid("請輸入答案。Type an answer.")
    if len(raw) > 500:
        return _invalid("答案太長（最多 500 字元）。The answer is too long (500 characters at most).")
    case_sensitive = bool(spec.get("case_sensitive", False))
    given = _normalize_words(raw, case_sensitive)
    for accepted in spec["accept"]:
        if spec.get("regex"):
            flags = 0 if case_sensitive else re.IGNORECASE
            if re.fullmatch(accepted, given, flags):
                return QuestionGrade(valid=True, score=1.0)
        elif given == _normalize_words(accepted, case_sensitive):
            return QuestionGrade(valid=True, score=1.0)
    return QuestionGrade(valid=True, score=0.0)


def _grade_essay(response: dict[str, Any]) -> QuestionGrade:
    text = response.get("text")
    if not isinstance(text, str) or not text.strip():
        return _invalid("請先寫下你的答案。Write your answer first.", "text")
    if len(text) > MAX_TEXT:
        return _invalid(f"答案太長（最多 {MAX_TEXT} 字元）。At most {MAX_TEXT} characters.", "text")
    return QuestionGrade(valid=True, score=0.0, needs_manual_grading=True)


def _grade_param(spec: dict[str, Any], response: dict[str, Any], seed: int, lang: str) -> QuestionGrade:
    from grader.problems import get_family

    family = get_family(spec["family"])
    params = family.generate(seed, spec.get("constraints") or None)
    raw_parts = response.get("parts")
    if not isinstance(raw_parts, dict):
        return _invalid("Answer every part.", "parts")
    family_lang = "zh-Hant" if lang.lower().startswith("zh") else "en"
    parsed = family.parse(params, raw_parts, lang=family_lang)
    if not parsed.valid:
        return QuestionGrade(valid=False, format_errors=dict(parsed.format_errors))
    result = family.grade(params, parsed.response, lang=family_lang)
    as_dict = result.to_dict(reveal=False)
    feedback = as_dict.get("feedback")
    return QuestionGrade(
        valid=True, score=float(result.score),
        feedback=[feedback] if isinstance(feedback, str) and feedback else list(feedback or []),
        misconceptions=list(as_dict.get("misconceptions") or []), parts=as_dict.get("parts") or {},
    )


def grade_question(qtype: str, spec: dict[str, Any], response: Any, *, seed: int = 0,
                   lang: str = "zh-Hant") -> QuestionGrade:
    """Grade one response to one question version. Never raises on bad input: it is invalid instead."""
    if not isinstance(response, dict):
        return _invalid("答案格式錯誤。Malformed answer.")
    if qtype == "single":
        return _grade_single(spec, response)
    if qtype == "multiple":
        return _grade_multiple(spec, response)
    if qtype == "truefalse":
        return _grade_truefalse(spec, response)
    if qtype == "numeric":
        return _grade_numeric(spec, response, lang)
    if qtype == "matrix":
        return _grade_matrix(spec, response, lang)
    if qtype == "symbolic":
        return _grade_symbolic(spec, response, lang)
    if qtype == "text":
        return _grade_text(spec, response)
    if qtype == "essay":
        return _grade_essay(response)
    if qtype == "param":
        return _grade_param(spec, response, seed, lang)
    raise ValueError(f"unknown question type {qtype!r}")
