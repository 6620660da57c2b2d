"""Reads for the study pages: the review queue, today's panel, the plan and readiness. A fixed
number of queries each (the due cards by ``study_card_due``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from dlcv_site.i18n import localized
from grader import spaced
from quizzes.models import Assessment, AssessmentMode, Question, QuestionType, Topic
from study.models import Card, ReviewLog, StudyPreferences, StudySettings

#: A review's expected length when the course has no timings yet.
DEFAULT_SECONDS_PER_REVIEW = 60
#: Depth of the readiness tree on the pages (each level doubles the work: 2^depth reviews per card).
PAGE_DEPTH = 4


@dataclass(frozen=True)
class SkillEntry:
    """One reviewable skill of the bank: a concept question, or a family (its first question)."""

    skill: str
    question_id: int
    topic_id: int
    topic_slug: str


def skill_catalog() -> list[SkillEntry]:
    """Every skill a student may be offered as a new card, in syllabus order (topic position, bank
    id): one query. Essays are left out (they are assessed by the student, not recalled)."""
    rows = (Question.objects.filter(retired=False).exclude(type=QuestionType.ESSAY)
            .exclude(current_version__isnull=True)
            .order_by("topic__position", "topic__slug", "bank_id")
            .values_list("id", "bank_id", "type", "topic_id", "topic__slug",
                         KT("current_version__spec__family")))
    return _catalog(tuple(rows))


@lru_cache(maxsize=8)
def _catalog(rows: tuple[tuple[Any, ...], ...]) -> list[SkillEntry]:
    entries, seen = [], set()
    for question_id, bank_id, qtype, topic_id, topic_slug, family in rows:
        skill = spaced.family_skill(family) if qtype == QuestionType.PARAM and family else spaced.concept_skill(bank_id)
        if skill not in seen:
            seen.add(skill)
            entries.append(SkillEntry(skill, question_id, topic_id, topic_slug))
    return entries


def preferences(*, user: User, course: Course) -> StudyPreferences:
    return (StudyPreferences.objects.filter(user=user, course=course).first()
            or StudyPreferences(user=user, course=course))


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in the site's time zone: daily limits count from there."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Counts:
    reviews_today: int
    new_today: int


def _today_counts(user: User, course: Course, now: datetime) -> Counts:
    start = day_start(now)
    reviews = ReviewLog.objects.filter(user=user, course=course, reviewed_at__gte=start,
                                       reviewed_at__lte=now).values("source").distinct().count()
    new = Card.objects.filter(user=user, course=course, created_at__gte=start, created_at__lte=now).count()
    return Counts(reviews, new)


def _due(user: User, course: Course, now: datetime, topic: str = "", skill: str = "") -> Any:
    cards = Card.objects.filter(user=user, course=course, due__lte=now)
    if topic:
        cards = cards.filter(topic__slug=topic)
    if skill:
        cards = cards.filter(Q(skill=skill) | Q(skill__startswith=skill + ":"))
    return cards


def _unseen(user: User, course: Course, topic: str = "", skill: str = "") -> list[SkillEntry]:
    have = set(Card.objects.filter(user=user, course=course).values_list("skill", flat=True))
    return [entry for entry in skill_catalog() if entry.skill not in have
            and (not topic or entry.topic_slug == topic) and (not skill or entry.skill == skill)]


def review_next(*, user: User, course: Course, now: datetime, topic: str = "", skill: str = "") -> Card | None:
    """The card to review now: the most overdue one within today's review limit, else a new skill
    within today's new-card limit (an unsaved Card), else None. A card already showing a variant
    comes first. Five queries."""
    prefs = preferences(user=user, course=course)
    counts = _today_counts(user, course, now)
    if counts.reviews_today < prefs.reviews_per_day:
        card = (_due(user, course, now, topic, skill).select_related("question")
                .order_by(F("serving").desc(nulls_last=True), "due", "id").first())
        if card is not None:
            return card
    if counts.new_today < prefs.new_per_day:
        unseen = _unseen(user, course, topic, skill)
        if unseen:
            entry = unseen[0]
            return Card(user=user, course=course, skill=entry.skill, topic_id=entry.topic_id,
                        question_id=entry.question_id, created_at=now)
    return None


def next_exam(*, course: Course, now: datetime) -> Assessment | None:
    return (Assessment.objects.filter(course=course, mode=AssessmentMode.EXAM, published=True, opens_at__gt=now)
            .order_by("opens_at").first())


def _seconds_per_review(course: Course) -> float:
    return DEFAULT_SECONDS_PER_REVIEW


def today_panel(*, user: User, course: Course, now: datetime) -> dict[str, Any] | None:
    """Today's study for the course home and the plan page: reviews due, new cards offered, the
    estimated minutes, the next exam and where to review. None when the bank has nothing to review.
    Seven queries."""
    prefs = preferences(user=user, course=course)
    counts = _today_counts(user, course, now)
    due = _due(user, course, now).count()
    unseen = len(_unseen(user, course))
    if not due and not unseen and not Card.objects.filter(user=user, course=course).exists():
        return None
    due_shown = max(0, min(due, prefs.reviews_per_day - counts.reviews_today))
    new_shown = max(0, min(unseen, prefs.new_per_day - counts.new_today))
    exam = next_exam(course=course, now=now)
    return {
        "course_slug": course.slug,
        "due": due_shown,
        "new": new_shown,
        "done_today": counts.reviews_today,
        "minutes": math.ceil((due_shown + new_shown) * _seconds_per_review(course) / 60),
        "exam": {"title": (title := localized(exam.title, exam.translations, "title")).text, "title_lang": title.lang,
                 "date": timezone.localtime(exam.opens_at),
                 "days": max(0, (timezone.localdate(exam.opens_at) - timezone.localdate(now)).days)} if exam else None,
        "review_url": reverse("study-review", args=[course.slug]),
        "plan_url": reverse("study-plan", args=[course.slug]),
        "readiness_url": reverse("study-readiness", args=[course.slug]),
    }


def upcoming(*, user: User, course: Course, now: datetime, days: int = 7) -> list[tuple[datetime, int]]:
    """Cards coming due on each of the next ``days`` days (today: due now or later today). One query."""
    start = day_start(now)
    rows = (Card.objects.filter(user=user, course=course, due__isnull=False, due__lt=start + timedelta(days=days))
            .values_list("due", flat=True))
    counts = [0] * days
    for due in rows:
        index = max(0, (timezone.localdate(due) - start.date()).days)
        counts[min(index, days - 1)] += 1
    return [(start + timedelta(days=d), counts[d]) for d in range(days)]


def study_settings(*, course: Course) -> StudySettings:
    return StudySettings.objects.filter(course=course).first() or StudySettings(course=course)


@dataclass(frozen=True)
class TopicReadiness:
    topic: Topic
    skills: int
    studied: int
    if_plan: float
    if_stop: float


@dataclass(frozen=True)
class ReadinessView:
    exam: Assessment | None
    exam_at: datetime
    topics: list[TopicReadiness]
    overall_plan: float
    overall_stop: float


def readiness(*, user: User, course: Course, now: datetime, depth: int = PAGE_DEPTH) -> ReadinessView:
    """Per topic (syllabus order) and overall, the predicted recall on the exam date if the student
    keeps to the plan and if they stop now. Skills never studied count as 0 if they stop; in the plan
    they are learnt on the day the daily new-card limit reaches them. Without an exam, in two weeks.
    Six queries."""
    settings = study_settings(course=course)
    sched = spaced.scheduler(settings.parameters or None, settings.desired_retention)
    exam = next_exam(course=course, now=now)
    exam_at = exam.opens_at if exam else now + timedelta(days=14)
    prefs = preferences(user=user, course=course)
    cards = {card.skill: card for card in Card.objects.filter(user=user, course=course)}
    per_topic: dict[int, list[tuple[float, float]]] = {}
    studied: dict[int, int] = {}
    new_index = 0
    fresh_cache: dict[int, float] = {}
    for entry in skill_catalog():
        card = cards.pop(entry.skill, None)
        if card is not None and card.last_review is not None:
            r = spaced.readiness(_state(card), now=now, exam_at=exam_at, sched=sched, depth=depth)
            per_topic.setdefault(entry.topic_id, []).append((r.if_plan, r.if_stop))
            studied[entry.topic_id] = studied.get(entry.topic_id, 0) + 1
            continue
        day = new_index // max(1, prefs.new_per_day)
        new_index += 1
        start = now + timedelta(days=day)
        if day not in fresh_cache:
            fresh_cache[day] = (spaced.readiness(spaced.CardState(), now=start, exam_at=exam_at, sched=sched,
                                                 depth=depth).if_plan if start < exam_at else 0.0)
        per_topic.setdefault(entry.topic_id, []).append((fresh_cache[day], 0.0))
    for card in cards.values():  # a family's misconception cards: in their topic, as studied
        if card.last_review is not None and card.topic_id is not None:
            r = spaced.readiness(_state(card), now=now, exam_at=exam_at, sched=sched, depth=depth)
            per_topic.setdefault(card.topic_id, []).append((r.if_plan, r.if_stop))
    topics = []
    for topic in Topic.objects.filter(id__in=per_topic.keys()).order_by("position", "slug"):
        values = per_topic[topic.id]
        topics.append(TopicReadiness(topic, len(values), studied.get(topic.id, 0),
                                     _mean(v[0] for v in values), _mean(v[1] for v in values)))
    everything = [v for values in per_topic.values() for v in values]
    return ReadinessView(exam, exam_at, topics, _mean(v[0] for v in everything), _mean(v[1] for v in everything))


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _state(card: Card) -> spaced.CardState:
    return spaced.CardState(state=card.state, step=card.step, stability=card.stability, difficulty=card.difficulty,
                            due=card.due, last_review=card.last_review)


def fit_view(*, course: Course) -> dict[str, Any]:
    """The instructors' page: the course's settings, its fit and how many logs it has. Two queries."""
    settings = study_settings(course=course)
    logs = ReviewLog.objects.filter(course=course).aggregate(n=Count("id"), students=Count("user", distinct=True))
    return {"settings": settings, "logs": logs["n"], "students": logs["students"]}
