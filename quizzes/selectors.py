"""Reads for the quizzes pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Course, User
from quizzes import sql
from quizzes.models import (
    STUDY_REVIEW_SLUG,
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Extension,
    QuestionVersion,
)


def _syllabus_position() -> Subquery:
    """The syllabus position (``Topic.position``: the order of ``fixtures/bank/topics.yaml``) of the
    one topic an assessment's items come from — a topic's practice set; None when they come from
    several (the mixed practice set, most exams)."""
    items = (
        AssessmentItem.objects.filter(assessment=OuterRef("pk")).order_by().values("assessment")
        .annotate(topics=Count(Coalesce("pool_topic_id", "question__topic_id"), distinct=True),
                  position=Min(Coalesce("pool_topic__position", "question__topic__position")))
        .filter(topics=1).values("position")
    )
    return Subquery(items)


def in_syllabus_order(assessments: QuerySet[Assessment], *, by_mode: bool = False) -> QuerySet[Assessment]:
    """Every list of assessments in one order (the dashboard, the gradebook, the instructor's list):
    by mode when the list is grouped by it, by opening time, then as the syllabus orders their topics
    (one topic's sets first, in ``topics.yaml``'s order; sets of several topics after them), then by slug.
    The study plan's own review set (``STUDY_REVIEW_SLUG``) is in none of them."""
    return assessments.exclude(slug=STUDY_REVIEW_SLUG).annotate(syllabus_position=_syllabus_position()).order_by(
        *(["mode"] if by_mode else []), "opens_at", F("syllabus_position").asc(nulls_last=True), "slug")


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


def attempts_visible(now: datetime) -> Q:
    """:func:`results_visible` as a filter on attempts (the gradebook's; a test holds them equal)."""
    return Q(assessment__mode=AssessmentMode.PRACTICE) | (
        ~Q(status=AttemptStatus.IN_PROGRESS)
        & (Q(assessment__mode=AssessmentMode.MOCK) | Q(assessment__results_released_at__lte=now))
    )


@dataclass(frozen=True)
class AssessmentRow:
    assessment: Assessment
    attempt: Attempt | None  # the latest
    attempts: int
    best_points: Decimal | None  # the most points of a submitted attempt whose results the student can see
    best_max_points: Decimal | None = None  # that attempt's maximum (self-assessed essays are in neither)
    question_count: int | None = None  # on the landing page only (a pool counts its draws)


def assessments_for_student(*, user: User, course: Course, include_unpublished: bool = False) -> list[AssessmentRow]:
    assessments = in_syllabus_order(Assessment.objects.filter(course=course), by_mode=True)
    if not include_unpublished:
        assessments = assessments.filter(published=True)
    attempts: dict[int, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(user=user, assessment__course=course).select_related("assessment").order_by("-number"):
        attempts.setdefault(attempt.assessment_id, []).append(attempt)
    return [_row(assessment, attempts.get(assessment.id, [])) for assessment in assessments]


def assessment_row_for_student(*, user: User, assessment: Assessment) -> AssessmentRow:
    """One assessment's row of :func:`assessments_for_student`, with its question count (the landing
    page, which every student of an exam opens in the same minute: one statement written once,
    ``quizzes.sql.assessment_landing``)."""
    question_count, mine = sql.assessment_landing(assessment_id=assessment.id, user_id=user.id)
    for attempt in mine:
        attempt.assessment = assessment  # results_visible reads it
    return replace(_row(assessment, mine), question_count=question_count)


def _row(assessment: Assessment, mine: list[Attempt]) -> AssessmentRow:
    """``mine``: the student's attempts at ``assessment``, latest first."""
    scored = [a for a in mine if a.points is not None and results_visible(attempt=a)]
    best = max(scored, key=lambda a: a.points) if scored else None
    return AssessmentRow(assessment, mine[0] if mine else None, len(mine), best.points if best else None,
                         best.max_points if best else None)


def attempt_items(*, attempt: Attempt) -> list[AttemptItem]:
    """The attempt's items in order, each with its version and question (their shown fields, as
    ``quizzes.sql.SHOWN_VERSION_FIELDS`` and ``SHOWN_QUESTION_FIELDS`` name them; the rest deferred).
    One statement written once (``quizzes.sql.attempt_items_shown``): every exam page reads twenty."""
    items = sql.attempt_items_shown(attempt_id=attempt.id)
    for item in items:
        item.attempt = attempt
    return items


def past_exam_versions(*, assessment: Assessment) -> list[QuestionVersion]:
    """A past exam's questions in exam order, each at its current version (one query)."""
    items = (AssessmentItem.objects.filter(assessment=assessment, question__isnull=False)
             .select_related("question__current_version").order_by("position"))
    versions = []
    for item in items:
        version = item.question.current_version
        if version is not None and not item.question.retired:
            version.question = item.question  # already read: version_content needs its type
            versions.append(version)
    return versions


def extension_minutes(*, user: User, assessment: Assessment) -> int:
    """The student's extra minutes on the assessment (0 without an extension)."""
    return Extension.objects.filter(assessment=assessment, user=user).values_list("extra_minutes", flat=True).first() or 0
