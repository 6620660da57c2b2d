"""Reads for the study pages: the review queue, today's panel, the plan and readiness. A fixed
number of queries each (the due cards by ``study_card_due``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Extract
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
    verdict: spaced.Verdict


@dataclass(frozen=True)
class Horizon:
    """What every readiness figure of a course is read against: the next exam (or, without one, two
    weeks from now), the course's scheduler and its desired retention (the "on track" target)."""

    exam: Assessment | None
    exam_at: datetime
    sched: Any
    target: float
    depth: int
    now: datetime
    _fresh: dict[int, float] = field(default_factory=dict)

    def fresh(self, day: int) -> float:
        """A skill first studied ``day`` days from now, then kept to the plan: its recall on the exam date."""
        if day not in self._fresh:
            start = self.now + timedelta(days=day)
            self._fresh[day] = (spaced.readiness(spaced.CardState(), now=start, exam_at=self.exam_at, sched=self.sched,
                                                 depth=self.depth).if_plan if start < self.exam_at else 0.0)
        return self._fresh[day]


def horizon(*, course: Course, now: datetime, depth: int = PAGE_DEPTH) -> Horizon:
    """Two queries: the course's study settings and its next exam."""
    settings = study_settings(course=course)
    exam = next_exam(course=course, now=now)
    return Horizon(exam, exam.opens_at if exam else now + timedelta(days=14),
                   spaced.scheduler(settings.parameters or None, settings.desired_retention),
                   settings.desired_retention, depth, now)


def _studied(stability: list[float], difficulty: list[float], due: Any, last_review: Any, h: Horizon) -> tuple[Any, Any]:
    """(if_plan, if_stop) arrays of studied cards (``due``, ``last_review``: µs since ``h.now``)."""
    return spaced.readiness_many(np.array(stability, dtype=float), np.array(difficulty, dtype=float),
                                 np.asarray(due, dtype=np.int64), np.asarray(last_review, dtype=np.int64),
                                 now=h.now, exam_at=h.exam_at, sched=h.sched, depth=h.depth)


def _epoch_us(name: str) -> Cast:
    """A date column as whole microseconds since 1970 (exact: PostgreSQL's EXTRACT is numeric). Extracted
    under UTC: in the site's time zone the epoch of the local wall time would shift the instant."""
    return Cast(Extract(name, "epoch", tzinfo=UTC) * Value(1_000_000), BigIntegerField())


def overall_plan(*, studied: Iterable[float], unstudied: int, new_per_day: int, h: Horizon) -> float:
    """The student's predicted recall on the exam date with the plan, over the course's skills: each
    studied card's, and each skill not studied yet learnt on the day the daily new-card limit
    reaches it (``h.fresh``). An exact sum (``math.fsum``): the page and the class view add the same
    values in different orders and must agree to the last digit."""
    per_day = max(1, new_per_day)
    values = list(studied)
    n = len(values) + unstudied
    values += [h.fresh(i // per_day) for i in range(unstudied)]
    return math.fsum(values) / n if n else 0.0


def overall_stop(*, studied: Iterable[float], unstudied: int) -> float:
    """The student's predicted recall on the exam date if they stop now, over the course's skills: each
    studied card's, and 0 for each skill never studied. An exact sum, as :func:`overall_plan`."""
    values = list(studied)
    n = len(values) + unstudied
    return math.fsum(values) / n if n else 0.0


def readiness(*, user: User, course: Course, now: datetime, depth: int = PAGE_DEPTH) -> ReadinessView:
    """Per topic (syllabus order) and overall, the predicted recall on the exam date if the student
    keeps to the plan and if they stop now, and whether that is on track (``spaced.exam_verdict``).
    Skills never studied count as 0 if they stop; in the plan they are learnt on the day the daily
    new-card limit reaches them. Without an exam, in two weeks. Six queries."""
    h = horizon(course=course, now=now, depth=depth)
    prefs = preferences(user=user, course=course)
    cards = {card.skill: card for card in Card.objects.filter(user=user, course=course)}
    catalog = skill_catalog()
    # Studied cards: a catalog skill's in its entry's topic, another (a family's misconception) in its own.
    studied = [(entry.topic_id, cards.pop(entry.skill)) for entry in catalog
               if entry.skill in cards and cards[entry.skill].last_review is not None]
    studied += [(card.topic_id, card) for card in cards.values()
                if card.last_review is not None and card.topic_id is not None]
    plan, stop = _studied([c.stability for _t, c in studied], [c.difficulty for _t, c in studied],
                          spaced.to_micros([c.due for _t, c in studied], now),
                          spaced.to_micros([c.last_review for _t, c in studied], now), h)
    per_topic: dict[int, list[tuple[float, float]]] = {}
    counted: dict[int, int] = {}
    for (topic_id, _card), p, s in zip(studied, plan.tolist(), stop.tolist(), strict=True):
        per_topic.setdefault(topic_id, []).append((p, s))
        counted[topic_id] = counted.get(topic_id, 0) + 1
    done = {card.skill for _t, card in studied}
    unstudied = [entry for entry in catalog if entry.skill not in done]
    for index, entry in enumerate(unstudied):
        per_topic.setdefault(entry.topic_id, []).append((h.fresh(index // max(1, prefs.new_per_day)), 0.0))
    topics = []
    for topic in Topic.objects.filter(id__in=per_topic.keys()).order_by("position", "slug"):
        values = per_topic[topic.id]
        topics.append(TopicReadiness(topic, len(values), counted.get(topic.id, 0),
                                     _mean(v[0] for v in values), _mean(v[1] for v in values)))
    overall = overall_plan(studied=plan.tolist(), unstudied=len(unstudied), new_per_day=prefs.new_per_day, h=h)
    if_stop = overall_stop(studied=stop.tolist(), unstudied=len(unstudied))
    return ReadinessView(h.exam, h.exam_at, topics, overall, if_stop,
                         spaced.exam_verdict(predicted=overall, studied=len(studied), target=h.target))


@dataclass(frozen=True)
class ClassReadiness:
    """Every student's verdict for the exam date (the readiness page's, computed for a class at once)."""

    exam: Assessment | None
    exam_at: datetime
    target: float
    verdicts: dict[int, tuple[str, spaced.Verdict]]  # user id → (username, verdict), studied students only
    #: user id → predicted recall on the exam date if they stop now (the readiness page's second figure)
    if_stop: dict[int, float] = field(default_factory=dict)


def class_readiness(*, course: Course, students: Q, now: datetime, depth: int = PAGE_DEPTH) -> ClassReadiness:
    """:func:`readiness`'s overall figure and verdict for every student of ``students`` (a filter on
    user ids) who has studied: five queries whatever the class's size (the settings, the next exam,
    the bank's state, the students' daily new-card limits, every studied card), the trees
    of all the cards computed at once (``spaced.readiness_many``). A student with no studied card is
    not in ``verdicts`` (not started)."""
    h = horizon(course=course, now=now, depth=depth)
    catalog = skill_catalog()
    in_catalog = {entry.skill for entry in catalog}
    default_limit = StudyPreferences._meta.get_field("new_per_day").get_default()
    limits = dict(StudyPreferences.objects.filter(students, course=course).values_list("user_id", "new_per_day"))
    # Dates as numbers (parsing tens of thousands of timestamps was most of the time), exactly; the
    # catalog test in Python (a list of every skill in the statement cost more than the rows it left out).
    rows = [row for row in Card.objects.filter(students, course=course, last_review__isnull=False).order_by()
            .values_list("user_id", "user__username", "skill", "topic_id", "stability", "difficulty",
                         _epoch_us("due"), _epoch_us("last_review"))
            if row[2] in in_catalog or row[3] is not None]
    origin = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    plan, stop = _studied([r[4] for r in rows], [r[5] for r in rows],
                           np.array([r[6] if r[6] is not None else origin for r in rows], dtype=np.int64) - origin,
                           np.array([r[7] for r in rows], dtype=np.int64) - origin, h)
    mine: dict[int, list[float]] = {}
    stopped: dict[int, list[float]] = {}
    seen: dict[int, tuple[str, int, int]] = {}  # user → (username, limit, catalog skills studied)
    for row, value, if_stop in zip(rows, plan.tolist(), stop.tolist(), strict=True):
        user_id, username, skill = row[:3]
        mine.setdefault(user_id, []).append(value)
        stopped.setdefault(user_id, []).append(if_stop)
        _name, _limit, known = seen.get(user_id, (username, limits.get(user_id, default_limit), 0))
        seen[user_id] = (username, _limit, known + (skill in in_catalog))
    verdicts, if_stop = {}, {}
    for user_id, values in mine.items():
        username, new_per_day, known = seen[user_id]
        overall = overall_plan(studied=values, unstudied=len(catalog) - known, new_per_day=new_per_day, h=h)
        verdicts[user_id] = (username, spaced.exam_verdict(predicted=overall, studied=len(values), target=h.target))
        if_stop[user_id] = overall_stop(studied=stopped[user_id], unstudied=len(catalog) - known)
    return ClassReadiness(h.exam, h.exam_at, h.target, verdicts, if_stop)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def fit_view(*, course: Course) -> dict[str, Any]:
    """The instructors' page: the course's settings, its fit and how many logs it has. Two queries."""
    settings = study_settings(course=course)
    logs = ReviewLog.objects.filter(course=course).aggregate(n=Count("id"), students=Count("user", distinct=True))
    return {"settings": settings, "logs": logs["n"], "students": logs["students"]}
