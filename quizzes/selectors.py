"""Reads for the quizzes pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from accounts.models import Course, User
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, AttemptStatus, PracticeRecord


def results_visible(*, attempt: Attempt, now: datetime | None = None) -> bool:
    """Scores, answers and explanations: practice at once, mock exams after submitting, exams after release."""
    now = now or timezone.now()
    assessment = attempt.assessment
    if assessment.mode == AssessmentMode.PRACTICE:
        return True
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return False
    if assessment.mode == AssessmentMode.MOCK:
        return True
    return assessment.results_released_at is not None and assessment.results_released_at <= now


@dataclass(frozen=True)
class AssessmentRow:
    assessment: Assessment
    attempt: Attempt | None  # the latest
    attempts: int
    best_score: Decimal | None


def assessments_for_student(*, user: User, course: Course, include_unpublished: bool = False) -> list[AssessmentRow]:
    assessments = Assessment.objects.filter(course=course).order_by("mode", "opens_at", "slug")
    if not include_unpublished:
        assessments = assessments.filter(published=True)
    attempts: dict[int, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(user=user, assessment__course=course).select_related("assessment").order_by("-number"):
        attempts.setdefault(attempt.assessment_id, []).append(attempt)
    return [_row(assessment, attempts.get(assessment.id, [])) for assessment in assessments]


def assessment_row_for_student(*, user: User, assessment: Assessment) -> AssessmentRow:
    """One assessment's row of :func:`assessments_for_student` (its landing page)."""
    mine = list(Attempt.objects.filter(user=user, assessment=assessment).order_by("-number"))
    for attempt in mine:
        attempt.assessment = assessment  # results_visible reads it
    return _row(assessment, mine)


def _row(assessment: Assessment, mine: list[Attempt]) -> AssessmentRow:
    """``mine``: the student's attempts at ``assessment``, latest first."""
    scores = [a.score for a in mine if a.score is not None and results_visible(attempt=a)]
    return AssessmentRow(assessment, mine[0] if mine else None, len(mine), max(scores) if scores else None)


# What the quiz and results pages read of an item's version: its content, not its source file or metadata.
_SHOWN_VERSION_FIELDS = [f"question_version__{name}" for name in
                         ("content_hash", "prompt", "explanation", "hint", "spec", "question__type")]


def attempt_items(*, attempt: Attempt) -> QuerySet[AttemptItem]:
    """The attempt's items in order, with what the pages need to show their questions."""
    item_fields = [field.name for field in AttemptItem._meta.concrete_fields]
    return (attempt.items.select_related("question_version__question")
            .only(*item_fields, *_SHOWN_VERSION_FIELDS).order_by("position"))


@dataclass(frozen=True)
class TopicStrength:
    slug: str
    name_zh: str
    name_en: str
    questions: int
    mean_latest: float

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


def practice_strengths(*, user: User, course: Course) -> list[TopicStrength]:
    """Per topic: questions practised in this course's practice sets and the mean latest score, weakest first."""
    practised = AttemptItem.objects.filter(
        attempt__user=user, attempt__assessment__course=course, attempt__assessment__mode=AssessmentMode.PRACTICE
    ).values("question_version__question_id")
    rows = (
        PracticeRecord.objects.filter(user=user, question_id__in=practised)
        .values("question__topic__slug", "question__topic__name_zh", "question__topic__name_en")
        .annotate(n=Count("id"), mean=Avg("latest_score"))
        .order_by("mean", "question__topic__slug")
    )
    return [TopicStrength(r["question__topic__slug"], r["question__topic__name_zh"], r["question__topic__name_en"],
                          r["n"], float(r["mean"])) for r in rows]
