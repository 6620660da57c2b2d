"""What "mastery", "on track", "keeps forgetting" and an exam's countdown mean: pure rules, as values.

Framework-free (no Django, no database); the course home and the instructor's class view read
them from here and nowhere else, and ``progress/tests/test_mastery.py`` proves them without a database.

**Mastery** of a topic (or of avoiding one misconception) is the *recency-weighted mean score* of
the student's graded answers in it: each answer's score (0–1) weighs ``0.5 ** (age / HALF_LIFE_DAYS)``,
so an answer three weeks old counts half as much as one given today. The weights are relative: with
no new answer a student's mastery stays where it was; it moves when new answers differ from the old.
Beside the value goes a **confidence count**, the number of answers it rests on: a mastery read from
fewer than ``MIN_ANSWERS`` answers is shown as tentative and is never "on track".

A misconception's mastery is the same mean over the answers to questions of its problem family,
each scoring 1 when the answer did not show that mistake and 0 when it did.

**On track** in a topic: mastery ≥ ``ON_TRACK_MASTERY`` resting on at least ``MIN_ANSWERS`` answers. A
student is on track in the course *by mastery* when they are on track in at least ``ON_TRACK_TOPIC_SHARE``
of the topics the class has answered questions in so far: the class view's week-by-week history (answers
have dates; predictions of recall are not kept). Whether a student is on track *for the exam date* is the
study plan's rule, ``grader.spaced.exam_verdict`` (predicted recall on that date against the course's
desired retention), which the class view's headline, student list and CSV use.

**Keeps forgetting**: a topic or misconception whose class mastery fell by at least
``FORGET_DROP`` from one week to the next; the more such drops (and the deeper), the higher it is listed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

HALF_LIFE_DAYS = 21.0
MIN_ANSWERS = 3
ON_TRACK_MASTERY = 0.7
ON_TRACK_TOPIC_SHARE = 0.8
#: Below this (with enough answers) a topic is weak: the home lists it first, with a link to practise it.
WEAK_MASTERY = 0.6
FORGET_DROP = 0.05


@dataclass(frozen=True)
class Answer:
    """One graded answer: what it is about (a topic, a misconception …), its score 0–1 and when."""

    key: Hashable
    score: float
    at: datetime


@dataclass(frozen=True)
class Mastery:
    value: float | None  # None: no answer yet
    answers: int  # the confidence count: how many answers the value rests on

    @property
    def confident(self) -> bool:
        return self.answers >= MIN_ANSWERS

    @property
    def on_track(self) -> bool:
        return self.confident and self.value is not None and self.value >= ON_TRACK_MASTERY

    @property
    def weak(self) -> bool:
        return self.confident and self.value is not None and self.value < WEAK_MASTERY


NO_MASTERY = Mastery(None, 0)


def _weight(at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max((now - at).total_seconds(), 0.0) / 86400
    return 0.5 ** (age_days / half_life_days)


def mastery(answers: Iterable[tuple[float, datetime]], *, now: datetime,
            half_life_days: float = HALF_LIFE_DAYS) -> Mastery:
    """The recency-weighted mean of ``(score, at)`` pairs as of ``now`` (answers after it are left out)."""
    total = weights = 0.0
    count = 0
    for score, at in answers:
        if at > now:
            continue
        weight = _weight(at, now, half_life_days)
        total += weight * min(max(score, 0.0), 1.0)
        weights += weight
        count += 1
    if count == 0:
        return NO_MASTERY
    return Mastery(total / weights, count)


def mastery_by_key(answers: Iterable[Answer], *, now: datetime) -> dict[Hashable, Mastery]:
    grouped: dict[Hashable, list[tuple[float, datetime]]] = {}
    for answer in answers:
        grouped.setdefault(answer.key, []).append((answer.score, answer.at))
    return {key: mastery(pairs, now=now) for key, pairs in grouped.items()}


def weekly_mastery(answers: Sequence[tuple[float, datetime]], week_ends: Sequence[datetime], *,
                   half_life_days: float = HALF_LIFE_DAYS) -> list[Mastery]:
    """:func:`mastery` as of each of ``week_ends`` (ascending) in one pass over the answers: the
    weights' ratio does not depend on the moment read, so running sums of ``2 ** (t / half-life)``-
    weighted scores give every week's value."""
    if not week_ends:
        return []
    ordered = sorted((at, min(max(score, 0.0), 1.0)) for score, at in answers)
    origin = ordered[0][0] if ordered else week_ends[0]
    out: list[Mastery] = []
    total = weights = 0.0
    count = i = 0
    for end in week_ends:
        while i < len(ordered) and ordered[i][0] <= end:
            at, score = ordered[i]
            weight = 2.0 ** ((at - origin).total_seconds() / 86400 / half_life_days)
            total += weight * score
            weights += weight
            count += 1
            i += 1
        out.append(Mastery(total / weights, count) if count else NO_MASTERY)
    return out


def student_on_track(topic_mastery: dict[Hashable, Mastery], class_topics: Iterable[Hashable]) -> bool:
    """On track in at least ``ON_TRACK_TOPIC_SHARE`` of ``class_topics`` (the topics the class has answered in)."""
    topics = list(class_topics)
    if not topics:
        return False
    on = sum(1 for topic in topics if topic_mastery.get(topic, NO_MASTERY).on_track)
    return on >= ON_TRACK_TOPIC_SHARE * len(topics)


@dataclass(frozen=True)
class Forgetting:
    drops: int  # weeks whose class mastery fell by FORGET_DROP or more from the week before
    total_drop: float  # their sum
    latest_drop: float  # the fall into the last week (0 when it rose or held)


def forgetting(series: Sequence[float | None]) -> Forgetting:
    """How often and how far a weekly series of class mastery fell (weeks without a value are skipped)."""
    values = [v for v in series if v is not None]
    falls = [before - after for before, after in zip(values, values[1:], strict=False) if before - after >= FORGET_DROP]
    latest = values[-2] - values[-1] if len(values) >= 2 and values[-2] - values[-1] > 0 else 0.0
    return Forgetting(len(falls), sum(falls), latest)


def week_ends(*, first: datetime, now: datetime, weeks: int) -> list[datetime]:
    """The ends of the last ``weeks`` weeks up to ``now`` (the last one is ``now``), none before the
    week of ``first``."""
    ends = [now - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [end for end in ends if end > first - timedelta(weeks=1)] or [now]


@dataclass(frozen=True)
class Countdown:
    days: int
    hours: int
    minutes: int

    @property
    def parts(self) -> tuple[tuple[str, int], ...]:
        """The two largest units worth saying: days and hours, else hours and minutes, else minutes
        (at least one minute: a countdown never says "0")."""
        if self.days:
            return (("days", self.days),) + ((("hours", self.hours),) if self.hours else ())
        if self.hours:
            return (("hours", self.hours),) + ((("minutes", self.minutes),) if self.minutes else ())
        return (("minutes", max(self.minutes, 1)),)


def countdown(start: datetime, now: datetime) -> Countdown | None:
    """The time from ``now`` to ``start`` in whole days, hours and minutes (rounded up to the minute);
    None once ``start`` has come."""
    seconds = (start - now).total_seconds()
    if seconds <= 0:
        return None
    minutes = int(-(-seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return Countdown(days, hours, minutes)


# --------------------------------------------------------------------------- a class at once (arrays)


@dataclass(frozen=True)
class WeeklyGrid:
    """:func:`weekly_mastery` for every (thing, student) at once: ``values[k, u, w]`` (NaN: no answer
    yet) and ``counts[k, u, w]`` for thing ``k`` (a topic, a misconception), student ``u`` and week ``w``."""

    values: np.ndarray
    counts: np.ndarray

    @property
    def on_track(self) -> np.ndarray:
        """:attr:`Mastery.on_track` of every cell."""
        with np.errstate(invalid="ignore"):
            return (self.counts >= MIN_ANSWERS) & (np.nan_to_num(self.values, nan=-1.0) >= ON_TRACK_MASTERY)


def weekly_grid(keys: np.ndarray, users: np.ndarray, scores: np.ndarray, times: np.ndarray, *, shape: tuple[int, int],
                week_ends: Sequence[float], half_life_days: float = HALF_LIFE_DAYS) -> WeeklyGrid:
    """``keys``, ``users``: each answer's thing and student (indexes below ``shape``); ``scores`` 0–1;
    ``times`` and ``week_ends`` (ascending) in seconds. Answers after the last week end are left out."""
    ends = np.asarray(week_ends, dtype=float)
    weeks = len(ends)
    total = np.zeros((*shape, weeks))
    weights = np.zeros((*shape, weeks))
    counts = np.zeros((*shape, weeks), dtype=np.int64)
    times = np.asarray(times, dtype=float)
    week = np.searchsorted(ends, times, side="left")  # the first week end at or after the answer
    kept = week < weeks
    if kept.any():
        keys, users, week = np.asarray(keys)[kept], np.asarray(users)[kept], week[kept]
        weight = np.exp2((times[kept] - ends[-1]) / 86400 / half_life_days)
        np.add.at(total, (keys, users, week), weight * np.clip(np.asarray(scores, dtype=float)[kept], 0.0, 1.0))
        np.add.at(weights, (keys, users, week), weight)
        np.add.at(counts, (keys, users, week), 1)
    total, weights, counts = total.cumsum(axis=2), weights.cumsum(axis=2), counts.cumsum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, total / np.where(weights > 0, weights, 1.0), np.nan)
    return WeeklyGrid(values, counts)


def students_on_track(topics: WeeklyGrid) -> np.ndarray:
    """:func:`student_on_track` for every student and week (``[u, w]``): the class's topics in a week
    are those any student had answered in by then."""
    class_topics = (topics.counts > 0).any(axis=1)  # [k, w]
    on = (topics.on_track & class_topics[:, None, :]).sum(axis=0)  # [u, w]
    needed = class_topics.sum(axis=0)  # [w]
    return (needed > 0)[None, :] & (on >= ON_TRACK_TOPIC_SHARE * needed[None, :])
