"""Grading of every question type: tolerances, partial credit, and format errors that cost nothing."""

from __future__ import annotations

import pytest

from grader.i18n import LANGS, word
from grader.questions import choice_order, grade_question, graded_unanswered, graded_unreadable
from grader.results import GradingResult

SINGLE = {"choices": [{"text": "a", "correct": True}, {"text": "b", "feedback": "not b"}, {"text": "c"}],
          "shuffle": True}
MULTIPLE = {"choices": [{"text": "a", "correct": True}, {"text": "b", "correct": True}, {"text": "c"},
                        {"text": "d"}]}
NUMERIC = {"answer": 72855552, "tolerance": {"sigfigs": 3},
           "misconceptions": [{"answer": 145711104, "message": "FLOPs, not multiplies"}]}
MATRIX = {"answer": [[1, 2], [3, 4]], "tolerance": {"abs": 0.01}, "shape_given": True}


def test_single_choice_right_wrong_and_feedback() -> None:
    assert grade_question("single", SINGLE, {"choice": 0}).score == 1
    wrong = grade_question("single", SINGLE, {"choice": 1})
    assert wrong.gradable and wrong.score == 0 and word(wrong.message, "en") == "not b"


@pytest.mark.parametrize("response", [{}, {"choice": 7}, {"choice": -1}, {"choice": True}, {"choice": "x"}, "0"])
def test_single_choice_format_errors_are_invalid(response) -> None:
    grade = grade_question("single", SINGLE, response)
    assert grade.gradable is False and grade.format_errors
    # Said in every language, and no score to speak of.
    assert all(word(text, lang) for text in grade.format_errors.values() for lang in LANGS)


@pytest.mark.parametrize(("picked", "score"), [([0, 1], 1.0), ([0], 0.5), ([0, 1, 2], 0.5), ([], 0.0),
                                               ([2, 3], 0.0), ([0, 2], 0.0)])
def test_multiple_choice_partial_credit(picked: list[int], score: float) -> None:
    assert grade_question("multiple", MULTIPLE, {"choices": picked}).score == pytest.approx(score)


def test_multiple_choice_rejects_repeats() -> None:
    assert not grade_question("multiple", MULTIPLE, {"choices": [0, 0]}).gradable


@pytest.mark.parametrize(("value", "score"), [(True, 1), ("true", 1), (False, 0), ("否", 0)])
def test_true_false(value, score) -> None:
    assert grade_question("truefalse", {"answer": True}, {"value": value}).score == score


@pytest.mark.parametrize("typed", ["72,855,552", "7.29e7", "72 855 552", "７２８５５５５２", "7.29×10^7"])
def test_numeric_accepts_what_people_type(typed: str) -> None:
    assert grade_question("numeric", NUMERIC, {"value": typed}).score == 1


def test_numeric_outside_tolerance_and_named_misconception() -> None:
    assert grade_question("numeric", NUMERIC, {"value": "7.4e7"}).score == 0
    flops = grade_question("numeric", NUMERIC, {"value": "145,711,104"})
    assert flops.score == 0 and word(flops.message, "zh-Hant") == "FLOPs, not multiplies" and flops.misconceptions


@pytest.mark.parametrize("typed", ["", "NaN", "abc", "1,2", "inf", "9" * 300])
def test_numeric_format_errors_cost_nothing(typed: str) -> None:
    grade = grade_question("numeric", NUMERIC, {"value": typed})
    assert grade.gradable is False and grade.format_errors["value"]


def test_matrix_per_cell_credit() -> None:
    grade = grade_question("matrix", MATRIX, {"value": [[1, 2], [3, 5]]})
    assert grade.score == 0.75 and grade.parts[0].name == "value"
    assert grade.parts[0].cells == [[True, True], [True, False]]
    assert grade_question("matrix", MATRIX, {"value": "1 2\n3 4"}).score == 1


def test_matrix_wrong_shape_is_a_format_error_when_the_shape_is_given() -> None:
    assert not grade_question("matrix", MATRIX, {"value": [[1, 2, 3], [3, 4, 5]]}).gradable
    assert not grade_question("matrix", MATRIX, {"value": [[1, 2], [3]]}).gradable


def test_symbolic_equivalence() -> None:
    spec = {"answer": "(n + 2*p - k)/s + 1", "variables": ["n", "k", "p", "s"]}
    assert grade_question("symbolic", spec, {"value": "(n-k+2p)/s + 1"}).score == 1
    assert grade_question("symbolic", spec, {"value": "(n-k+p)/s + 1"}).score == 0
    assert not grade_question("symbolic", spec, {"value": "(n-k"}).gradable


def test_text_accepted_forms() -> None:
    spec = {"accept": ["ReLU", "rectified linear unit"], "case_sensitive": False}
    assert grade_question("text", spec, {"value": "  relu "}).score == 1
    assert grade_question("text", spec, {"value": "Rectified  Linear Unit"}).score == 1
    assert grade_question("text", spec, {"value": "ＲｅＬＵ"}).score == 1
    assert grade_question("text", spec, {"value": "sigmoid"}).score == 0
    assert not grade_question("text", spec, {"value": ""}).gradable


def test_essay_goes_to_manual_grading() -> None:
    grade = grade_question("essay", {"key_points": ["x"]}, {"text": "my answer"})
    assert grade.gradable and grade.needs_manual_grading
    assert not grade_question("essay", {"key_points": ["x"]}, {"text": " "}).gradable


def test_parameterized_question_grades_the_students_variant() -> None:
    from grader.problems import get_family

    family = get_family("conv-by-hand")
    spec = {"family": "conv-by-hand", "constraints": None}
    answer = family.solve(family.generate(11))
    assert grade_question("param", spec, {"parts": answer}, seed=11).score == 1
    other = family.solve(family.generate(12))
    if other != answer:
        assert grade_question("param", spec, {"parts": other}, seed=11).score < 1
    broken = grade_question("param", spec, {"parts": {"shape": "abc", "output": "1 2"}}, seed=11)
    assert broken.gradable is False and broken.format_errors


def test_choice_order_is_fixed_per_seed_and_a_permutation() -> None:
    spec = {"choices": [{"text": str(i)} for i in range(6)], "shuffle": True}
    assert choice_order(spec, 5) == choice_order(spec, 5)
    assert sorted(choice_order(spec, 5)) == list(range(6))
    assert choice_order({**spec, "shuffle": False}, 5) == list(range(6))


def test_every_grade_is_worth_one_point_and_stores_every_language() -> None:
    grade = grade_question("matrix", {**MATRIX, "shape_given": False}, {"value": [[1, 2, 3]]})
    assert grade.max_points == 1.0 and grade.points == grade.score
    stored = grade.to_json()
    assert set(stored["message"]) == set(LANGS) and "2×2" in stored["message"]["en"]
    assert "矩陣" in stored["message"]["zh-Hant"]
    assert GradingResult.from_json(stored).parts[0].cells == grade.parts[0].cells


def test_unanswered_and_unreadable_answers_at_submission() -> None:
    unanswered = graded_unanswered().for_student(lang="en")
    assert unanswered["gradable"] and unanswered["score"] == 0 and unanswered["message"] == "No answer given."
    unreadable = graded_unreadable(grade_question("numeric", NUMERIC, {"value": "abc"}))
    shown = unreadable.for_student(lang="zh-Hant")
    assert shown["gradable"] and shown["score"] == 0 and shown["message"] == "答案格式無法判讀。"
    assert shown["format_errors"]["value"]


def test_grades_stored_before_the_typed_result_still_load() -> None:
    """``QuestionGrade.to_dict()`` rows (before this result type), a hand-graded essay among them."""
    matrix = GradingResult.from_json({"valid": True, "score": 0.75, "needs_manual_grading": False,
                                      "format_errors": {}, "feedback": ["矩陣大小應為 2×2。The matrix should be 2×2."],
                                      "misconceptions": [], "parts": {"cells": [[True, True], [True, False]]}})
    assert matrix is not None and matrix.score == 0.75 and matrix.parts[0].cells == [[True, True], [True, False]]
    assert "2×2" in matrix.for_student(lang="en")["message"]
    essay = GradingResult.from_json({"valid": True, "score": 0.0, "needs_manual_grading": False, "feedback": [],
                                     "format_errors": {}, "misconceptions": [], "parts": {},
                                     "manual": {"comment": "Good.", "grader": "ta1"}})
    assert essay is not None and essay.graded_by == "ta1" and essay.for_student(lang="en")["message"] == "Good."
    invalid = GradingResult.from_json({"valid": False, "score": 0, "format_errors": {"value": "bad"},
                                       "feedback": [], "misconceptions": [], "parts": {}})
    assert invalid is not None and not invalid.gradable
    assert invalid.for_student(lang="en")["format_errors"] == {"value": "bad"}
