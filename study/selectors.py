"""Reads for the study pages: the review queue, today's panel, the plan and readiness. A fixed
number of queries each (the due cards by ``study_card_due``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, Max, Q, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from dlcv_site.i18n import localized
from grader import spaced
from quizzes.models import Assessment, AssessmentMode, Question, QuestionType, Topic
from study import sql
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
    id). Essays are left out (they are assessed by the student, not recalled). One small query (the
    bank's size and last change); the list itself is kept per process until the bank changes."""
    state = Question.objects.aggregate(n=Count("id"), changed=Max("updated_at"), topics=Max("topic__position"))
    return _catalog_for(state["n"], state["changed"], state["topics"])


def _one_value(queryset: Any, **aggregate: Any) -> Subquery:
    """``queryset``'s aggregate over all its rows, as a scalar subquery (grouped by a constant)."""
    return Subquery(queryset.order_by().annotate(_all=Value(1)).values("_all").annotate(**aggregate)
                    .values(*aggregate)[:1])


@lru_cache(maxsize=4)
def _catalog_for(count: int, changed: datetime | None, topics: int | None) -> list[SkillEntry]:
    rows = (Question.objects.filter(retired=False).exclude(type=QuestionType.ESSAY)
            .exclude(current_version__isnull=True)
            .order_by("topic__position", "topic__slug", "bank_id")
            .values_list("id", "bank_id", "type", "topic_id", "topic__slug",
                         KeyTextTransform("family", "current_version__spec")))
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
class CardRow:
    id: int
    skill: str
    topic_slug: str | None
    due: datetime | None  # read only when due now
    begun_today: bool
    serving_id: int | None  # a variant shown (review_serve checks whether it is still unanswered)


@dataclass(frozen=True)
class Snapshot:
    """What the study pages read of one student in one course, in two queries: their limits, today's
    reviews and the bank's state in one row, then their cards (a few columns each); the bank's skills
    are kept per process while the bank is unchanged. ``prefs`` is not saved (its values only)."""

    prefs: StudyPreferences
    cards: list[CardRow]
    reviews_today: int
    catalog: list[SkillEntry]
    now: datetime
    skills: frozenset[str] = frozenset()  # every card's skill

    @property
    def new_today(self) -> int:
        """New skills begun today (a mistake's card, made by an answer, is not one)."""
        return sum(1 for c in self.cards if c.begun_today and not spaced.parse_skill(c.skill).tag)

    def due(self, topic: str = "", skill: str = "") -> list[CardRow]:
        """Due cards, a variant already showing first, then the most overdue."""
        rows = [c for c in self.cards if c.due is not None and c.due <= self.now
                and (not topic or c.topic_slug == topic)
                and (not skill or c.skill == skill or c.skill.startswith(skill + ":"))]
        return sorted(rows, key=lambda c: (c.serving_id is None, c.due, c.id))

    def unseen(self, topic: str = "", skill: str = "") -> list[SkillEntry]:
        return [e for e in self.catalog if e.skill not in self.skills
                and (not topic or e.topic_slug == topic) and (not skill or e.skill == skill)]

    @property
    def reviews_left(self) -> int:
        return max(0, self.prefs.reviews_per_day - self.reviews_today)

    @property
    def new_left(self) -> int:
        return max(0, self.prefs.new_per_day - self.new_today)


def snapshot_head_orm(*, user_id: int, course_id: int, start: datetime, now: datetime) -> tuple[Any, ...]:
    """The rule of ``study.sql.snapshot_head``: the student's limits, today's reviews and the bank's
    state in one row (the ORM path, and the reference the SQL is tested against)."""
    mine = StudyPreferences.objects.filter(user_id=user_id, course_id=course_id)
    reviewed = ReviewLog.objects.filter(user_id=user_id, course_id=course_id, reviewed_at__gte=start,
                                        reviewed_at__lte=now)
    return tuple(Course.objects.filter(pk=course_id).values_list(
        Subquery(mine.values("new_per_day")[:1]), Subquery(mine.values("reviews_per_day")[:1]),
        _one_value(reviewed, n=Count("source", distinct=True)),
        _one_value(Question.objects.all(), n=Count("id")), _one_value(Question.objects.all(), m=Max("updated_at")),
        _one_value(Question.objects.all(), t=Max("topic__position")),
    ).get())


def snapshot_cards_orm(*, user_id: int, course_id: int, start: datetime, now: datetime) -> list[tuple[Any, ...]]:
    """The rule of ``study.sql.snapshot_cards``: every card, a few columns and no join; only a due
    card's due date (dates are the costly part of a row) and "begun today" as a flag."""
    return list(Card.objects.filter(user_id=user_id, course_id=course_id)
                .annotate(due_now=Case(When(due__lte=now, then=F("due")), default=None),
                          today=ExpressionWrapper(Q(created_at__gte=start, created_at__lte=now),
                                                  output_field=BooleanField()))
                .values_list("id", "skill", "topic_id", "due_now", "today", "serving_id"))


def snapshot(*, user: User, course: Course, now: datetime) -> Snapshot:
    """Two queries: the head row (limits, today's reviews, the bank's state: the course home reads
    this beside its own queries and stays within ten) and the cards (≤ a few hundred rows). On
    PostgreSQL both as hand-written statements (``study.sql``: Django compiling the nested querysets
    was most of the time), elsewhere through their ORM rules."""
    start = day_start(now)
    keys = {"user_id": user.pk, "course_id": course.pk, "start": start, "now": now}
    by_sql = sql.available()
    new_per_day, reviews_per_day, reviews, bank_n, bank_changed, bank_topics = (
        sql.snapshot_head(**keys) if by_sql else snapshot_head_orm(**keys))
    prefs = StudyPreferences(user=user, course=course)
    if new_per_day is not None:
        prefs.new_per_day, prefs.reviews_per_day = new_per_day, reviews_per_day
    catalog = _catalog_for(bank_n or 0, bank_changed, bank_topics)
    topics = {entry.topic_id: entry.topic_slug for entry in catalog}
    rows = [CardRow(pk, skill, topics.get(topic_id), due, bool(today), serving_id)
            for pk, skill, topic_id, due, today, serving_id in (
                sql.snapshot_cards(**keys) if by_sql else snapshot_cards_orm(**keys))]
    return Snapshot(prefs, rows, reviews or 0, catalog, now, frozenset(row.skill for row in rows))


def review_next(*, snap: Snapshot, topic: str = "", skill: str = "") -> CardRow | SkillEntry | None:
    """What to review now: the most overdue card within today's review limit (one already showing
    a variant first), else a new skill within today's new-card limit, else None."""
    showing = [c for c in snap.cards if c.serving_id is not None
               and (not topic or c.topic_slug == topic)
               and (not skill or c.skill == skill or c.skill.startswith(skill + ":"))]
    if showing:
        return showing[0]
    if snap.reviews_left:
        due = snap.due(topic, skill)
        if due:
            return due[0]
    if snap.new_left:
        unseen = snap.unseen(topic, skill)
        if unseen:
            return unseen[0]
    return None


def next_exam(*, course: Course, now: datetime) -> Assessment | None:
    return (Assessment.objects.filter(course=course, mode=AssessmentMode.EXAM, published=True, opens_at__gt=now)
            .order_by("opens_at").first())


def _seconds_per_review(course: Course) -> float:
    return DEFAULT_SECONDS_PER_REVIEW


def left_today(snap: Snapshot) -> dict[str, int]:
    """Reviews due and new cards still offered today, within the student's limits."""
    return {"due": min(len(snap.due()), snap.reviews_left), "new": min(len(snap.unseen()), snap.new_left),
            "done_today": snap.reviews_today}


#: ``today_panel``'s "look the next exam up" (the course home passes the one it already read).
_LOOK_UP: Any = object()


def today_panel(*, user: User, course: Course, now: datetime, snap: Snapshot | None = None,
                exam: Assessment | None = _LOOK_UP) -> dict[str, Any] | None:
    """Today's study for the course home and the plan page: reviews due, new cards offered, the
    estimated minutes, the next exam and where to review. None when the bank has nothing to review.
    Three queries (``snapshot`` and the next exam, unless given)."""
    snap = snap or snapshot(user=user, course=course, now=now)
    if not snap.skills and not snap.catalog:
        return None
    left = left_today(snap)
    if exam is _LOOK_UP:
        exam = next_exam(course=course, now=now)
    return {
        "course_slug": course.slug,
        **left,
        "minutes": math.ceil((left["due"] + left["new"]) * _seconds_per_review(course) / 60),
        "exam": {"title": (title := localized(exam.title, exam.translations, "title")).text, "title_lang": title.lang,
                 "date": timezone.localtime(exam.opens_at),
                 "days": max(0, (timezone.localdate(exam.opens_at) - timezone.localdate(now)).days)} if exam else None,
        "review_url": reverse("study-review", args=[course.slug]),
        "plan_url": reverse("study-plan", args=[course.slug]),
        "readiness_url": reverse("study-readiness", args=[course.slug]),
    }


def upcoming(*, user: User, course: Course, now: datetime, days: int = 7) -> list[tuple[datetime, int]]:
    """Cards coming due on each of the next ``days`` days (today: everything due by tonight; the last
    day: everything later). One query."""
    start = day_start(now)
    counts = [0] * days
    for due in Card.objects.filter(user=user, course=course, due__isnull=False).values_list("due", flat=True):
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
