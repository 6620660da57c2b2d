"""One grading result for every kind of question and lab, and what a student may see of it.

Shaped like PrairieLearn's external-grader results: ``gradable`` (False: the response could not be
read; no score, no attempt charged), ``score`` in [0, 1], ``points`` of ``max_points``, a
``message``, ``parts`` (answer boxes, or a lab's parts holding their boxes) with per-entry marks
and the misconceptions that explain them, and ``tests`` for code. Numeric problem families
(:meth:`grader.problems.base.ProblemFamily.grade`), bank questions (:mod:`grader.questions`) and
coding labs (:func:`grader.codelabs.grade.grade_code`) all return a :class:`GradingResult`.

Texts are :mod:`grader.i18n` wordings: lazy while grading, every language once stored
(:meth:`GradingResult.to_json`), so a result reads in the language of whoever looks at it.

What is stored never holds an expected answer: ``PartResult.expected`` lives in memory only (the
command line shows it on request). :meth:`GradingResult.for_student` is the one whitelist of what a
student may see; a test checks that every field a result stores is either in it or named hidden.
Stored results of earlier shapes load too (:meth:`GradingResult.from_json`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grader.i18n import LANGS, Wording, localize, word

__all__ = ["GradingResult", "PartResult", "PolicyApplied", "RunOutput", "TestResult", "RESULT_VERSION"]

#: The stored shape's version (rows of earlier shapes have no ``version``).
RESULT_VERSION = 2
#: Statuses of a code test.
TEST_STATUSES = ("passed", "failed", "error", "not_run")


def _r(value: float) -> float:
    return round(float(value), 6)


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _tags(value: Any) -> tuple[str, ...]:
    return tuple(str(tag) for tag in value or () if tag is not None)


def _cells(value: Any) -> list[list[bool]] | None:
    if not isinstance(value, list):
        return None
    return [[bool(cell) for cell in row] for row in value if isinstance(row, list)]


def _wording(value: Any) -> Wording:
    """A stored text: ``{lang: text}`` as it is, anything else as a string."""
    if isinstance(value, Mapping):
        return {str(lang): str(text) for lang, text in value.items()}
    return "" if value is None else str(value)


@dataclass(frozen=True)
class PartResult:
    """One graded answer box; or one part of a lab, whose answer boxes are in ``parts``."""

    name: str
    label: Wording
    score: float  # 0–1
    points: float
    max_points: float
    correct: bool
    message: Wording = ""
    misconceptions: tuple[str, ...] = ()
    #: Per entry of a matrix or vector answer, right or not (rows of the answer as given).
    cells: list[list[bool]] | None = None
    #: The right answer of this variant: in memory only, never stored, shown only when revealed.
    expected: Any = None
    #: A lab part: the problem family its boxes come from.
    family: str = ""
    parts: tuple[PartResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "label": localize(self.label), "score": _r(self.score), "points": _r(self.points),
            "max_points": _r(self.max_points), "correct": self.correct, "message": localize(self.message),
            "misconceptions": list(self.misconceptions),
        }
        if self.cells is not None:
            out["cells"] = self.cells
        if self.family:
            out["family"] = self.family
        if self.parts:
            out["parts"] = [part.to_json() for part in self.parts]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PartResult:
        # Earlier lab rows named a part by "key"/"title", its text "feedback" and its boxes "items".
        boxes = data.get("parts") if isinstance(data.get("parts"), list) else data.get("items")
        return cls(
            name=str(data.get("name") or data.get("key") or ""),
            label=_wording(data.get("label") if data.get("label") is not None else data.get("title")),
            score=_float(data.get("score")), points=_float(data.get("points")),
            max_points=_float(data.get("max_points")), correct=bool(data.get("correct")),
            message=_wording(data.get("message") if "message" in data else data.get("feedback")),
            misconceptions=_tags(data.get("misconceptions")), cells=_cells(data.get("cells")),
            family=str(data.get("family") or ""),
            parts=tuple(cls.from_json(box) for box in boxes or () if isinstance(box, Mapping)),
        )

    def for_student(self, lang: str, reveal: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "label": word(self.label, lang), "score": _r(self.score), "points": _r(self.points),
            "max_points": _r(self.max_points), "correct": self.correct, "message": word(self.message, lang),
            "misconceptions": list(self.misconceptions), "cells": self.cells,
        }
        if self.family:
            out["family"] = self.family
        if self.parts:
            out["parts"] = [part.for_student(lang, reveal) for part in self.parts]
        if reveal and self.expected is not None:
            out["expected"] = self.expected
        return out


@dataclass(frozen=True)
class TestResult:
    """One test of a coding lab, scored on the trusted side."""

    __test__ = False  # not a pytest class

    name: str
    title: str
    public: bool
    function: str
    max_points: float
    points: float  # earned
    status: str  # passed, failed, error, not_run
    message: Wording = ""
    seconds: float | None = None
    #: From the student's own code, when it raised.
    traceback: str = ""
    #: What the check found (may hold expected values): staff only, never in a student's view.
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "title": self.title, "public": self.public, "function": self.function,
            "max_points": _r(self.max_points), "points": _r(self.points), "status": self.status,
            "message": localize(self.message), "seconds": self.seconds,
        }
        if self.traceback:
            out["traceback"] = self.traceback
        if self.detail:
            out["detail"] = dict(self.detail)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestResult:
        # Earlier rows: "points" was the test's maximum and "earned" what it earned.
        earlier = "earned" in data
        status = str(data.get("status") or "error")
        seconds = data.get("seconds")
        return cls(
            name=str(data.get("name") or ""), title=str(data.get("title") or data.get("name") or ""),
            public=bool(data.get("public")), function=str(data.get("function") or ""),
            max_points=_float(data.get("points") if earlier else data.get("max_points")),
            points=_float(data.get("earned") if earlier else data.get("points")),
            status=status if status in TEST_STATUSES else "error", message=_wording(data.get("message")),
            seconds=None if seconds is None else _float(seconds), traceback=str(data.get("traceback") or ""),
            detail=dict(data.get("detail") or {}) if isinstance(data.get("detail"), Mapping) else {},
        )

    def for_student(self, lang: str) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "public": self.public, "function": self.function,
            "max_points": _r(self.max_points), "points": _r(self.points), "passed": self.passed,
            "status": self.status, "message": word(self.message, lang), "seconds": self.seconds,
            "traceback": self.traceback,
        }


@dataclass(frozen=True)
class RunOutput:
    """A coding lab's run in the sandbox: what the student's program printed and used."""

    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    #: wall_seconds, cpu_seconds, max_rss_mb, busy_seconds, exit {exit_code, signal, timed_out}.
    resources: Mapping[str, Any] = field(default_factory=dict)
    #: Why the run stopped before every test had run, if it did.
    summary: Wording | None = None
    sandboxed: bool = False
    # Which lab spec and hidden-test seed were run (for regrades and audits; not shown to students).
    lab: str = ""
    fingerprint: str = ""
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "stdout": self.stdout, "stderr": self.stderr, "truncated": self.truncated,
            "resources": dict(self.resources), "summary": None if self.summary is None else localize(self.summary),
            "sandboxed": self.sandboxed, "lab": self.lab, "fingerprint": self.fingerprint, "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOutput:
        summary = data.get("summary")
        return cls(
            stdout=str(data.get("stdout") or ""), stderr=str(data.get("stderr") or ""),
            truncated=bool(data.get("truncated", data.get("output_truncated"))),
            resources=dict(data.get("resources") or {}) if isinstance(data.get("resources"), Mapping) else {},
            summary=None if summary is None else _wording(summary), sandboxed=bool(data.get("sandboxed")),
            lab=str(data.get("lab") or ""), fingerprint=str(data.get("fingerprint") or ""),
            seed=int(_float(data.get("seed"))),
        )

    def for_student(self, lang: str) -> dict[str, Any]:
        resources = self.resources
        exit_info = resources.get("exit") if isinstance(resources.get("exit"), Mapping) else {}
        return {
            "stdout": self.stdout, "stderr": self.stderr, "output_truncated": self.truncated,
            "summary": None if self.summary is None else word(self.summary, lang),
            "resources": {
                "wall_seconds": resources.get("wall_seconds"), "cpu_seconds": resources.get("cpu_seconds"),
                "max_rss_mb": resources.get("max_rss_mb"), "exit_code": exit_info.get("exit_code"),
                "signal": exit_info.get("signal"), "timed_out": bool(exit_info.get("timed_out")),
            },
        }


@dataclass(frozen=True)
class PolicyApplied:
    """A lab's policies as applied to one submission: its attempt's factor and its lateness."""

    attempt: int = 1
    attempt_factor: float = 1.0
    late_days: int = 0
    late_factor: float = 1.0

    @property
    def factor(self) -> float:
        return self.attempt_factor * self.late_factor

    def to_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "attempt_factor": self.attempt_factor, "late_days": self.late_days,
                "late_factor": self.late_factor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicyApplied:
        return cls(attempt=int(_float(data.get("attempt"), 1)), attempt_factor=_float(data.get("attempt_factor"), 1.0),
                   late_days=int(_float(data.get("late_days"))), late_factor=_float(data.get("late_factor"), 1.0))


@dataclass(frozen=True)
class GradingResult:
    """The grade of one response: a bank question, a numeric problem, a lab submission."""

    gradable: bool = True
    score: float = 0.0  # 0–1, before any policy
    points: float = 0.0
    max_points: float = 0.0
    message: Wording = ""
    parts: tuple[PartResult, ...] = ()
    tests: tuple[TestResult, ...] = ()
    misconceptions: tuple[str, ...] = ()
    #: Why the response could not be read, by answer box (``gradable`` is then False).
    format_errors: Mapping[str, Wording] = field(default_factory=dict)
    #: An essay waiting for a person's grade.
    needs_manual_grading: bool = False
    #: Graded by a person: who.
    graded_by: str = ""
    #: A person's note on this grade, shown with it (the course staff's answer when a regrade
    #: request changed the score).
    note: Wording = ""
    run: RunOutput | None = None
    policy: PolicyApplied | None = None

    @classmethod
    def invalid(cls, format_errors: Mapping[str, Wording], message: Wording = "") -> GradingResult:
        """A response with format errors: no score, no attempt charged."""
        return cls(gradable=False, message=message, format_errors=dict(format_errors))

    @property
    def correct(self) -> bool:
        return self.gradable and self.score >= 1.0

    def with_policy(self, policy: PolicyApplied) -> GradingResult:
        return replace(self, policy=policy)

    def rescored(self, score: float, note: Wording = "") -> GradingResult:
        """This grade with a person's new ``score`` (0–1): its parts, message and misconceptions kept,
        its points scaled to the new score, and ``note`` (kept in every language this result's
        message has, or in every language) saying why."""
        score = min(max(float(score), 0.0), 1.0)
        points = score * self.max_points if self.max_points else score
        if isinstance(note, str) and note:
            langs = list(self.message) if isinstance(self.message, Mapping) and self.message else list(LANGS)
            note = {lang: note for lang in langs}
        return replace(self, gradable=True, score=score, points=points, max_points=self.max_points or 1.0,
                       format_errors={}, needs_manual_grading=False, note=note or self.note)

    # ---- storage --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """What is stored: every text in every language, never an expected answer."""
        out: dict[str, Any] = {
            "version": RESULT_VERSION, "gradable": self.gradable, "score": _r(self.score), "points": _r(self.points),
            "max_points": _r(self.max_points), "message": localize(self.message),
            "misconceptions": list(self.misconceptions),
            "parts": [part.to_json() for part in self.parts],
        }
        if self.format_errors:
            out["format_errors"] = {str(key): localize(text) for key, text in self.format_errors.items()}
        if self.tests:
            out["tests"] = [test.to_json() for test in self.tests]
        if self.needs_manual_grading:
            out["needs_manual_grading"] = True
        if self.graded_by:
            out["graded_by"] = self.graded_by
        if self.note:
            out["note"] = localize(self.note)
        if self.run is not None:
            out["run"] = self.run.to_json()
        if self.policy is not None:
            out["policy"] = self.policy.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> GradingResult | None:
        """A stored result, of this shape or an earlier one; None for nothing stored."""
        if not isinstance(data, Mapping):
            return None
        if "version" in data:
            return cls._from_current(data)
        if "valid" in data:
            return cls._from_question_grade(data)
        return cls._from_lab_result(data)

    @classmethod
    def _from_current(cls, data: Mapping[str, Any]) -> GradingResult:
        return cls(
            gradable=bool(data.get("gradable", True)), score=_float(data.get("score")), points=_float(data.get("points")),
            max_points=_float(data.get("max_points")), message=_wording(data.get("message")),
            parts=tuple(PartResult.from_json(p) for p in data.get("parts") or () if isinstance(p, Mapping)),
            tests=tuple(TestResult.from_json(t) for t in data.get("tests") or () if isinstance(t, Mapping)),
            misconceptions=_tags(data.get("misconceptions")),
            format_errors={str(k): _wording(v) for k, v in (data.get("format_errors") or {}).items()},
            needs_manual_grading=bool(data.get("needs_manual_grading")), graded_by=str(data.get("graded_by") or ""),
            note=_wording(data.get("note")) if data.get("note") else "",
            run=RunOutput.from_json(data["run"]) if isinstance(data.get("run"), Mapping) else None,
            policy=PolicyApplied.from_json(data["policy"]) if isinstance(data.get("policy"), Mapping) else None,
        )

    @classmethod
    def _from_question_grade(cls, data: Mapping[str, Any]) -> GradingResult:
        """A bank question's grade as stored before (``QuestionGrade.to_dict()``, plus ``manual``)."""
        parts_data = data.get("parts")
        parts: tuple[PartResult, ...] = ()
        if isinstance(parts_data, list):  # a parameterized question: its answer boxes
            parts = tuple(PartResult.from_json(p) for p in parts_data if isinstance(p, Mapping))
        elif isinstance(parts_data, Mapping) and isinstance(parts_data.get("cells"), list):  # a matrix question
            cells = _cells(parts_data["cells"]) or []
            right = sum(map(sum, cells))
            size = sum(map(len, cells)) or 1
            parts = (PartResult("value", "", right / size, right / size, 1.0, right == size, cells=cells),)
        manual = data.get("manual") if isinstance(data.get("manual"), Mapping) else {}
        texts = [str(text) for text in data.get("feedback") or () if text]
        if manual.get("comment"):
            texts.append(str(manual["comment"]))
        score = _float(data.get("score"))
        return cls(
            gradable=bool(data.get("valid", True)), score=score, points=score, max_points=1.0,
            message="\n\n".join(texts), parts=parts, misconceptions=_tags(data.get("misconceptions")),
            format_errors={str(k): _wording(v) for k, v in (data.get("format_errors") or {}).items()},
            needs_manual_grading=bool(data.get("needs_manual_grading")), graded_by=str(manual.get("grader") or ""),
        )

    @classmethod
    def _from_lab_result(cls, data: Mapping[str, Any]) -> GradingResult:
        """A lab submission's result as stored before: numeric parts with ``items``, or ``code``."""
        code = data.get("code") if isinstance(data.get("code"), Mapping) else None
        points, max_points = _float(data.get("points")), _float(data.get("max_points"))
        run = None
        tests: tuple[TestResult, ...] = ()
        if code is not None:
            tests = tuple(TestResult.from_json(t) for t in code.get("tests") or () if isinstance(t, Mapping))
            run = RunOutput.from_json({**code, "truncated": code.get("output_truncated")})
        policy = PolicyApplied.from_json(data) if "attempt" in data else None
        return cls(
            score=points / max_points if max_points else 0.0, points=points, max_points=max_points,
            parts=tuple(PartResult.from_json(p) for p in data.get("parts") or () if isinstance(p, Mapping)),
            tests=tests, misconceptions=_tags(data.get("misconceptions")), run=run, policy=policy,
        )

    # ---- what a student sees --------------------------------------------------------------

    def for_student(self, *, lang: str, reveal: bool = False) -> dict[str, Any]:
        """Everything a student may see of this result, worded in ``lang``: scores, messages,
        per-entry marks and misconception tags; never a hidden test's detail or where the lab
        spec came from; the expected answers only with ``reveal`` (and only while in memory)."""
        out: dict[str, Any] = {
            "gradable": self.gradable, "score": _r(self.score), "points": _r(self.points),
            "max_points": _r(self.max_points), "message": word(self.message, lang),
            "misconceptions": list(self.misconceptions),
            "format_errors": {key: word(text, lang) for key, text in self.format_errors.items()},
            "needs_manual_grading": self.needs_manual_grading,
            "note": word(self.note, lang),
            "parts": [part.for_student(lang, reveal) for part in self.parts],
        }
        if self.tests or self.run is not None:
            out["tests"] = [test.for_student(lang) for test in self.tests]
            out["passed"] = sum(test.passed for test in self.tests)
        if self.run is not None:
            out["run"] = self.run.for_student(lang)
        if self.policy is not None:
            out["policy"] = self.policy.to_json()
        return out


def total(parts: Sequence[PartResult]) -> tuple[float, float]:
    """``(points, max_points)`` over ``parts``."""
    return sum(p.points for p in parts), sum(p.max_points for p in parts)
