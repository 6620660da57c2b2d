"""Reads for the course home and the class view: graded answers as ``progress.mastery`` takes them,
each read in a fixed number of queries (one per source, whatever the number of answers or students).

The answers counted (``graded_answers_*``): attempt items with a score whose results their student may
see (``quizzes.selectors.attempts_visible``: practice at once, mock exams once submitted, exams after
release) and the parts of graded lab submissions. An item is about its question's topic; a lab part is
about the topic of the bank's parameterized questions of its problem family (the first in syllabus
order). A misconception is a problem family's (``grader.problems``), keyed ``(family, tag)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Case, FilteredRelation, FloatField, Q, When
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Extract

from accounts.models import Course, Enrollment, Role, User
from labs.models import Submission, SubmissionStatus
from quizzes.models import Attempt, AttemptItem, QuestionType, QuestionVersion, Topic
from quizzes.selectors import attempts_visible


@dataclass(frozen=True)
class TopicInfo:
    id: int
    slug: str
    name_zh: str
    name_en: str
    position: int


@dataclass(frozen=True)
class GradedAnswer:
    user_id: int
    topic_id: int | None
    score: float
    at: datetime
    family: str  # "" for a question of no problem family
    misconceptions: tuple[str, ...]


def topics_with_families() -> tuple[list[TopicInfo], dict[str, int]]:
    """The topics in syllabus order, and each problem family's topic (the first, in syllabus order,
    with a parameterized question of it). One query, on PostgreSQL and SQLite alike: a row per topic and
    family of its parameterized questions (one row with none for a topic without them)."""
    rows = (Topic.objects
            .annotate(param=FilteredRelation("questions", condition=Q(questions__type=QuestionType.PARAM)))
            .annotate(family=KeyTextTransform("family", "param__current_version__spec"))
            .values_list("id", "slug", "name_zh", "name_en", "position", "family")
            .order_by("position", "slug", "id", "family").distinct())
    topics: list[TopicInfo] = []
    family_topic: dict[str, int] = {}
    for topic_id, slug, name_zh, name_en, position, family in rows:
        if not topics or topics[-1].id != topic_id:
            topics.append(TopicInfo(topic_id, slug, name_zh, name_en, position))
        if family:
            family_topic.setdefault(family, topic_id)
    return topics, family_topic


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    return tuple(str(tag) for tag in value) if isinstance(value, list) else ()


def _item_rows(attempts: Q, now: datetime, *, epoch: bool,
               join_versions: bool = False) -> list[tuple[int, int | None, str, float, Any, Any]]:
    """(user, topic, score, when, family, misconception tags as JSON text) of each graded item: two
    queries — the items (with only the attempt joined; the tags read from parameterized questions'
    items alone, so no other item's feedback is opened), then their question versions' topic and family.
    ``join_versions`` (one student's few hundred items): one query, the versions joined."""
    at = Coalesce("graded_at", "attempt__submitted_at", "attempt__started_at")
    param_versions = QuestionVersion.objects.filter(question__type=QuestionType.PARAM).values("id")
    tags = Case(When(question_version_id__in=param_versions, then=KT("feedback__misconceptions")), default=None)
    items = (AttemptItem.objects
             .filter(score__isnull=False, attempt__in=Attempt.objects.filter(attempts, attempts_visible(now)).values("id"))
             .order_by())
    # Extract under UTC: in the site's time zone, PostgreSQL's EPOCH of the local wall time is 8 h off.
    when = Cast(Extract(at, "epoch", tzinfo=UTC), FloatField()) if epoch else at
    if join_versions:
        return [(user_id, topic_id, family or "", score, at_, tags_)
                for user_id, topic_id, family, score, at_, tags_ in items.values_list(
                    "attempt__user_id", "question_version__question__topic_id",
                    KeyTextTransform("family", "question_version__spec"),
                    Cast("score", FloatField()), when, tags)]
    rows = list(items.values_list("attempt__user_id", "question_version_id", Cast("score", FloatField()), when, tags))
    versions = {
        version_id: (topic_id, family or "")
        for version_id, topic_id, family in QuestionVersion.objects.filter(id__in={row[1] for row in rows})
        .annotate(family=KeyTextTransform("family", "spec")).values_list("id", "question__topic_id", "family")
    } if rows else {}
    return [(user_id, *versions[version_id], score, at_, tags_)  # type: ignore[misc]
            for user_id, version_id, score, at_, tags_ in rows]


def _item_answers(attempts: Q, now: datetime) -> list[GradedAnswer]:
    return [GradedAnswer(user_id, topic_id, score, at, family, _tags(tags))
            for user_id, topic_id, family, score, at, tags in _item_rows(attempts, now, epoch=False,
                                                                          join_versions=True)]


def _lab_answers(submissions: Q, family_topic: dict[str, int]) -> list[GradedAnswer]:
    rows = (Submission.objects.filter(submissions, status=SubmissionStatus.GRADED).order_by()
            .values_list("user_id", "finished_at", KT("result__parts")))
    out = []
    for user_id, at, parts in rows:
        for part in json.loads(parts) if parts else ():
            if not isinstance(part, dict) or at is None:
                continue
            family = str(part.get("family") or "")
            out.append(GradedAnswer(user_id, family_topic.get(family), float(part.get("score") or 0.0), at, family,
                                    _tags(part.get("misconceptions"))))
    return out


def graded_answers_of_student(*, user: User, course: Course, now: datetime, family_topic: dict[str, int]
                              ) -> list[GradedAnswer]:
    """The student's graded answers in the course (two queries: the items with their versions, the labs)."""
    return [*_item_answers(Q(user=user, assessment__course=course), now),
            *_lab_answers(Q(user=user, lab__course=course), family_topic)]


def class_students(*, course: Course, sections: Iterable[str] | None) -> Q:
    """The course's students (of ``sections`` when given) as a filter on their user ids."""
    enrolled = Enrollment.objects.filter(course=course, role=Role.STUDENT)
    if sections is not None:
        enrolled = enrolled.filter(section__in=list(sections))
    return Q(user_id__in=enrolled.values("user_id"))


#: A class's graded answer, light: (user id, topic id or None, score, when in epoch seconds, family, tags).
ClassAnswer = tuple[int, int | None, float, float, str, tuple[str, ...]]


def graded_answers_of_class(*, course: Course, sections: Iterable[str] | None, now: datetime,
                            family_topic: dict[str, int]) -> list[ClassAnswer]:
    """Every graded answer of the course's students (of ``sections``): two queries. Plain tuples, times
    as numbers: a class has tens of thousands."""
    students = class_students(course=course, sections=sections)
    rows: list[ClassAnswer] = [
        (user_id, topic_id, score, at, family, _tags(tags) if tags and tags != "[]" else ())
        for user_id, topic_id, family, score, at, tags
        in _item_rows(students & Q(assessment__course=course), now, epoch=True)]
    rows += [(a.user_id, a.topic_id, a.score, a.at.timestamp(), a.family, a.misconceptions)
             for a in _lab_answers(students & Q(lab__course=course), family_topic)]
    return rows


@dataclass(frozen=True)
class RosterEntry:
    user_id: int
    username: str
    section: str  # "" for none


def class_roster(*, course: Course) -> list[RosterEntry]:
    """The course's students, each with their section: one query."""
    return [RosterEntry(*row) for row in Enrollment.objects.filter(course=course, role=Role.STUDENT)
            .order_by("user__username").values_list("user_id", "user__username", "section")]
