"""The one grading result: stored in every language, read back in any shape it was ever stored in,
and shown to a student through one whitelist."""

from __future__ import annotations

import json

from grader.i18n import LANGS, Text, Verbatim
from grader.problems import get_family
from grader.results import GradingResult, PartResult, PolicyApplied, RunOutput, TestResult

#: Everything a stored result may hold that a student never sees.
HIDDEN_FIELDS = {"version", "detail", "graded_by", "lab", "fingerprint", "seed", "sandboxed", "expected"}


def _keys(value: object) -> set[str]:
    """Every key of every mapping in a JSON document (language names of worded texts aside)."""
    if isinstance(value, dict):
        if set(value) and set(value) <= set(LANGS):
            return set()
        return set(value) | {key for child in value.values() for key in _keys(child)}
    if isinstance(value, list):
        return {key for child in value for key in _keys(child)}
    return set()


def _code_result() -> GradingResult:
    tests = (
        TestResult("public-a", "3 boxes", True, "box_iou", 1.0, 1.0, "passed", Text("Passed."), 0.01),
        TestResult("hidden-b", "ties", False, "nms", 2.0, 0.0, "failed", Verbatim("IndexError: list index"),
                   0.02, traceback="Traceback …", detail={"expected": [1, 2]}),
    )
    run = RunOutput(stdout="hi\n", resources={"wall_seconds": 0.3, "exit": {"exit_code": 0}}, sandboxed=True,
                    lab="iou-nms", fingerprint="abc", seed=7)
    return GradingResult(score=1 / 3, points=1.0, max_points=3.0, message=Text("Correct."), tests=tests, run=run,
                         policy=PolicyApplied(attempt=2, attempt_factor=0.8))


def _numeric_result() -> GradingResult:
    family = get_family("conv-by-hand")
    params = family.generate(3)
    answer = family.solve(params)
    alt = next(iter(family.alternatives(params).values()))
    return family.grade(params, {**answer, **alt})


def test_a_stored_result_reads_back_the_same_in_every_language() -> None:
    for result in (_code_result(), _numeric_result()):
        stored = json.loads(json.dumps(result.to_json()))
        again = GradingResult.from_json(stored)
        assert again is not None and again.to_json() == stored
        for lang in LANGS:
            shown, shown_again = result.for_student(lang=lang), again.for_student(lang=lang)
            # The expected answers live in memory only: the rest reads the same after storage.
            assert shown == shown_again


def test_every_stored_field_is_shown_to_students_or_named_hidden() -> None:
    """A field added to the stored result later must be decided on: shown, or listed as hidden here."""
    for result in (_code_result(), _numeric_result()):
        stored = _keys(result.to_json())
        shown = _keys(result.for_student(lang="en", reveal=True))
        # For students the run's output flag keeps its older name and its exit status is flattened.
        renamed = {"truncated", "exit"}
        assert stored - shown - HIDDEN_FIELDS - renamed == set()
        text = json.dumps(result.for_student(lang="en"))
        assert "expected" not in text and '"detail"' not in text and "fingerprint" not in text


def test_expected_answers_are_never_stored_and_shown_only_when_revealed() -> None:
    result = _numeric_result()
    assert all(part.expected is not None for part in result.parts)
    assert "expected" not in json.dumps(result.to_json())
    assert "expected" not in json.dumps(result.for_student(lang="en"))
    revealed = result.for_student(lang="en", reveal=True)
    assert [part["expected"] for part in revealed["parts"]] == [part.expected for part in result.parts]


def test_a_numeric_lab_result_of_the_earlier_shape_still_loads() -> None:
    """A row labs.services stored before the typed result: parts with key/title/feedback/items."""
    stored = {
        "parts": [{"key": "conv", "title": "Conv", "family": "conv-by-hand", "max_points": 3.0, "score": 0.25,
                   "points": 0.75, "correct": False, "feedback": "你的 4 個值中有 1 個正確。",
                   "misconceptions": ["kernel-flipped"],
                   "items": [{"name": "output", "label": "輸出 Y (output)", "score": 0.25, "points": 0.75,
                              "max_points": 3.0, "correct": False, "feedback": "…", "misconceptions": [],
                              "cells": [[True, False], [False, False]]}]}],
        "misconceptions": ["kernel-flipped"], "points": 0.75, "max_points": 3.0, "attempt": 2,
        "attempt_factor": 0.8, "late_days": 1, "late_factor": 0.9, "lang": "zh-Hant",
    }
    result = GradingResult.from_json(stored)
    assert result is not None and result.score == 0.25 and result.points == 0.75
    assert result.policy == PolicyApplied(attempt=2, attempt_factor=0.8, late_days=1, late_factor=0.9)
    (part,) = result.parts
    assert (part.name, part.label, part.family, part.misconceptions) == ("conv", "Conv", "conv-by-hand",
                                                                           ("kernel-flipped",))
    assert part.parts[0].cells == [[True, False], [False, False]]
    # Worded once, in the submitter's language: shown as it was, whatever the reader's language.
    assert result.for_student(lang="en")["parts"][0]["message"] == "你的 4 個值中有 1 個正確。"


def test_a_coding_lab_result_of_the_earlier_shape_still_loads() -> None:
    stored = {
        "code": {"kind": "code", "lab": "iou-nms", "seed": 5, "score": 0.5, "earned": 1.0, "points": 2.0,
                 "passed": 1, "tests": [
                     {"name": "a", "title": "A", "public": True, "function": "f", "points": 1.0, "earned": 1.0,
                      "passed": True, "status": "passed", "message": {"en": "Passed.", "zh-Hant": "通過。"},
                      "seconds": 0.01},
                     {"name": "b", "title": "B", "public": False, "function": "f", "points": 1.0, "earned": 0.0,
                      "passed": False, "status": "failed", "message": {"en": "Wrong.", "zh-Hant": "錯誤。"},
                      "seconds": 0.02, "detail": {"expected": 3}}],
                 "summary": None, "stdout": "", "stderr": "", "output_truncated": True,
                 "resources": {"wall_seconds": 0.1}, "sandboxed": True},
        "parts": [], "misconceptions": [], "points": 1.0, "max_points": 2.0, "attempt": 1, "attempt_factor": 1.0,
        "late_days": 0, "late_factor": 1.0, "lang": "en",
    }
    result = GradingResult.from_json(stored)
    assert result is not None and result.run is not None and result.run.truncated and result.run.seed == 5
    assert [(t.points, t.max_points, t.status) for t in result.tests] == [(1.0, 1.0, "passed"), (0.0, 1.0, "failed")]
    shown = result.for_student(lang="zh-Hant")
    assert shown["passed"] == 1 and shown["tests"][1]["message"] == "錯誤。" and "detail" not in shown["tests"][1]


def test_nothing_stored_is_none_and_a_non_gradable_result_has_only_its_errors() -> None:
    assert GradingResult.from_json(None) is None
    invalid = GradingResult.invalid({"value": Text("Expected a number.")})
    shown = invalid.for_student(lang="zh-Hant")
    assert shown["gradable"] is False and shown["format_errors"]["value"] == "需要一個數字。"
    assert shown["parts"] == [] and shown["score"] == 0


def test_part_results_nest_like_a_labs_parts_and_their_boxes() -> None:
    box = PartResult("output", Text("Output Y"), 0.5, 1.5, 3.0, False, cells=[[True, False]])
    part = PartResult("conv", "Conv", 0.5, 1.5, 3.0, False, family="conv-by-hand", parts=(box,))
    shown = part.for_student("zh-Hant")
    assert shown["parts"][0]["label"] == "輸出 Y (output)" and shown["parts"][0]["cells"] == [[True, False]]
    assert PartResult.from_json(part.to_json()).to_json() == part.to_json()


def test_a_rescored_result_keeps_its_parts_and_shows_the_note_in_every_language() -> None:
    """A person's new score (a regrade request's answer): the grade's parts and message stay, the
    score and points are the new ones, the note reads in each language the result is stored in."""
    graded = _numeric_result()
    stored = GradingResult.from_json(json.loads(json.dumps(graded.to_json())))
    assert stored is not None
    new_score = 1.0 if stored.score < 1.0 else 0.25
    again = stored.rescored(new_score, "Your second box was right after all.")
    back = GradingResult.from_json(json.loads(json.dumps(again.to_json())))
    assert back is not None and back.to_json() == again.to_json()
    assert back.score == new_score and back.points == new_score * stored.max_points
    assert [p.to_json() for p in back.parts] == [p.to_json() for p in stored.parts]
    assert back.message == stored.message
    for lang in LANGS:
        shown = back.for_student(lang=lang)
        assert shown["note"] == "Your second box was right after all."
        assert shown["score"] == new_score and shown["message"] == stored.for_student(lang=lang)["message"]
    assert "note" not in stored.to_json() and stored.for_student(lang="en")["note"] == ""
