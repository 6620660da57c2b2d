"""The review session: the next due card served as a fresh variant, its answer graded as practice
checks are (``quizzes.services.attempts.practice_check``) and recorded on the cards at once.

Each course has one unpublished practice assessment, ``REVIEW_SLUG``, whose open attempt per student
holds the variants served (an attempt item each), so the quiz page's widgets, checks and feedback
serve reviews unchanged; it is never listed to students.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Course, User
from dlcv_site.errors import ServiceError
from grader import spaced
from grader.results import GradingResult
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptItem, AttemptStatus, QuestionType
from quizzes.services.attempts import attempt_start, practice_check
from study import selectors
from study.models import Card, ReviewLog, StudyPreferences
from study.services.cards import REVIEW_SLUG, attempt_item_record


class StudyError(ServiceError):
    code = "study"


def review_assessment(*, course: Course) -> Assessment:
    assessment, _created = Assessment.objects.get_or_create(
        course=course, slug=REVIEW_SLUG,
        defaults={"title": "間隔複習", "mode": AssessmentMode.PRACTICE, "published": False,
                  "translations": {"en": {"title": "Spaced review"}}, "practice_reveal_after": 1})
    return assessment


def _review_attempt(user: User, course: Course, now: datetime) -> Attempt:
    assessment = review_assessment(course=course)
    attempt = Attempt.objects.filter(assessment=assessment, user=user, status=AttemptStatus.IN_PROGRESS).first()
    return attempt or attempt_start(user=user, assessment=assessment, now=now)


def _seed(card: Card) -> int:
    skill = spaced.parse_skill(card.skill)
    version = card.question.current_version if card.question else None
    if skill.kind == "f" and version is not None:
        return spaced.exposing_seed(skill.name, skill.tag, constraints=(version.spec or {}).get("constraints"))
    return random.SystemRandom().randrange(1, 2**31 - 1)


@dataclass(frozen=True)
class Served:
    card_id: int
    item_id: int


def review_serve(*, user: User, course: Course, snap: selectors.Snapshot, topic: str = "",
                 skill: str = "") -> Served | None:
    """The card to review now (``selectors.review_next``) with its variant: the one shown before if
    it is still unanswered (one read, nothing written), else a fresh one. None when nothing is left today."""
    chosen = selectors.review_next(snap=snap, topic=topic, skill=skill)
    if chosen is None:
        return None
    if isinstance(chosen, selectors.CardRow) and chosen.serving_id is not None and AttemptItem.objects.filter(
            pk=chosen.serving_id, checks=0).exists():
        return Served(chosen.id, chosen.serving_id)
    return _serve_fresh(user, course, snap.now, chosen)


@transaction.atomic
def _serve_fresh(user: User, course: Course, now: datetime,
                 chosen: selectors.CardRow | selectors.SkillEntry) -> Served:
    if isinstance(chosen, selectors.SkillEntry):  # a new skill: its card begins now
        card, _created = Card.objects.get_or_create(
            user=user, course=course, skill=chosen.skill,
            defaults={"topic_id": chosen.topic_id, "question_id": chosen.question_id, "created_at": now})
        card_id = card.pk
    else:
        card_id = chosen.id
    card = Card.objects.select_for_update(of=("self",)).select_related(
        "question__current_version", "serving").get(pk=card_id)
    if card.serving is not None and card.serving.checks == 0:
        return Served(card.pk, card.serving.pk)
    version = card.question.current_version if card.question else None
    if version is None:
        raise StudyError(_("This skill has no question to review."))
    attempt = _review_attempt(user, course, now)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    position = (attempt.items.aggregate(top=Max("position"))["top"] or 0) + 1
    card.serving = AttemptItem.objects.create(attempt=attempt, position=position, question_version=version,
                                              seed=_seed(card), max_points=version.points)
    card.served_at = now
    card.save(update_fields=["serving", "served_at"])
    return Served(card.pk, card.serving.pk)


@dataclass(frozen=True)
class ReviewOutcome:
    grade: GradingResult
    logs: list[ReviewLog]


@transaction.atomic
def review_answer(*, user: User, item: AttemptItem, response: object, now: datetime | None = None,
                  hint_used: bool = False) -> ReviewOutcome:
    """Grade a review answer (as a practice check) and record it on the cards now: the page shows the
    next due date at once. A format error is returned and records nothing. ``hint_used``: the student
    opened the hint first (a right answer is then Hard)."""
    now = now or timezone.now()
    served = Card.objects.filter(user=user, serving=item).first()
    grade = practice_check(item=item, response=response, now=now, hint_used=hint_used)
    if not grade.gradable:
        return ReviewOutcome(grade, [])
    duration = int((now - served.served_at).total_seconds() * 1000) if served and served.served_at else None
    attempt_item_record(item_id=item.pk, now=now, duration_ms=duration)
    Card.objects.filter(user=user, serving=item).update(serving=None)
    logs = list(ReviewLog.objects.filter(source=f"item:{item.pk}").select_related("card").order_by("id"))
    return ReviewOutcome(grade, logs)


@transaction.atomic
def preferences_set(*, user: User, course: Course, new_per_day: int, reviews_per_day: int) -> StudyPreferences:
    """A student's daily limits in a course."""
    if not 0 <= new_per_day <= 200 or not 1 <= reviews_per_day <= 1000:
        raise StudyError(_("New cards: 0 to 200 a day; reviews: 1 to 1000 a day."))
    prefs, _created = StudyPreferences.objects.update_or_create(
        user=user, course=course, defaults={"new_per_day": new_per_day, "reviews_per_day": reviews_per_day})
    return prefs


def question_type_reviewable(qtype: str) -> bool:
    return qtype != QuestionType.ESSAY


@transaction.atomic
def retention_set(*, course: Course, retention: float) -> None:
    """The course's desired retention (what the intervals aim at)."""
    from study.services.cards import study_settings_for

    if not 0.7 <= retention <= 0.99:
        raise StudyError(_("The desired retention is between 0.70 and 0.99."))
    settings = study_settings_for(course_id=course.pk)
    settings.desired_retention = retention
    settings.save(update_fields=["desired_retention"])
