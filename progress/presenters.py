"""What the course home and the class view show: plain dicts worded in the request's language, the
class view's charts laid out as SVG coordinates (drawn by the templates, no script) and its CSV.
Every figure comes from the rules of ``progress.mastery``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from dlcv_site.i18n import grader_lang, localized
from grader.problems import get_family
from progress import mastery as rules
from progress.selectors import ClassAnswer, GradedAnswer, RosterEntry, TopicInfo
from progress.syllabus import PAST_EXAMS_TOPIC, section_labels, section_of
from quizzes.models import AssessmentMode, AttemptStatus
from quizzes.selectors import AssessmentRow, results_visible
from study.selectors import ClassReadiness

#: The misconceptions the home lists: those seen in the last RECENT_DAYS days, at most RECENT_MISCONCEPTIONS.
RECENT_DAYS = 30
RECENT_MISCONCEPTIONS = 5
WEAK_SHOWN = 5
CLASS_WEEKS = 8


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}\u00a0%"  # never broken from its number


def percent_down(value: float | None) -> str:
    """A predicted recall held against a target, rounded down: 89.6 % behind a 90 % target reads 89 %."""
    return "–" if value is None else f"{math.floor(value * 100 + 1e-9)}\u00a0%"


def topic_name(topic: TopicInfo) -> str:
    return topic.name_en if (get_language() or "").startswith("en") else topic.name_zh


def misconception_name(family: str, tag: str) -> str | None:
    """A family misconception's name in the request's language (never its tag); None if unknown."""
    try:
        found = get_family(family)
    except KeyError:
        return None
    lang = grader_lang()
    for misconception in found.misconceptions:
        if misconception.tag == tag:
            return misconception.name(lang)
    return None


def duration_words(countdown: rules.Countdown) -> str:
    words = {
        "days": lambda n: ngettext("%(n)d day", "%(n)d days", n),
        "hours": lambda n: ngettext("%(n)d hour", "%(n)d hours", n),
        "minutes": lambda n: ngettext("%(n)d minute", "%(n)d minutes", n),
    }
    return " ".join(words[unit](n) % {"n": n} for unit, n in countdown.parts)


# --------------------------------------------------------------------------- the course home


def _entry(row: AssessmentRow, now: datetime) -> dict[str, Any]:
    """One assessment's card (the state the student is in, their best visible score)."""
    attempt = row.attempt
    entry: dict[str, Any] = {"row": row, "assessment": row.assessment, "attempt": attempt, "state": "not_started"}
    if attempt is not None:
        if attempt.status == AttemptStatus.IN_PROGRESS:
            entry["state"] = "in_progress"
            if attempt.deadline is not None:
                entry["minutes_left"] = max(int(-(-(attempt.deadline - now).total_seconds() // 60)), 0)
        else:
            entry["state"] = "submitted"
            entry["visible"] = results_visible(attempt=attempt, now=now)
    return entry


def _exams(rows: Sequence[AssessmentRow], now: datetime) -> list[dict[str, Any]]:
    """Live exams the student has not submitted (closing soonest first), then the next one to open."""
    live, upcoming = [], []
    for row in rows:
        exam = row.assessment
        if exam.mode != AssessmentMode.EXAM:
            continue
        submitted = row.attempt is not None and row.attempt.status != AttemptStatus.IN_PROGRESS
        opened = exam.opens_at is None or exam.opens_at <= now
        if opened and exam.closes_at is not None and now < exam.closes_at and not submitted:
            left = rules.countdown(exam.closes_at, now)
            live.append({**_entry(row, now), "live": True,
                         "when": _("open now, closes in %(duration)s") % {"duration": duration_words(left)}
                         if left else ""})
        elif exam.opens_at is not None and exam.opens_at > now:
            upcoming.append(row)
    live.sort(key=lambda e: e["assessment"].closes_at)
    shown = live
    if upcoming:
        nearest = min(upcoming, key=lambda r: r.assessment.opens_at)
        left = rules.countdown(nearest.assessment.opens_at, now)
        shown = [*live, {**_entry(nearest, now), "live": False,
                         "when": _("in %(duration)s") % {"duration": duration_words(left)} if left else ""}]
    return shown


def _practice_url(course_slug: str, practice_slug: str | None) -> str:
    return reverse("assessment-landing", args=[course_slug, practice_slug]) if practice_slug else ""


def course_home(*, course_slug: str, rows: Sequence[AssessmentRow], topics: Sequence[TopicInfo],
                answers: Sequence[GradedAnswer], now: datetime) -> dict[str, Any]:
    """The study plan home: the exams first, weak topics and recent misconceptions (links to practise
    them), every topic's mastery in syllabus order, the practice sets by syllabus section, the past exams."""
    by_position = {t.position: t for t in topics}
    # A topic's practice set: a published practice whose items all come from that one topic.
    practice_of: dict[int, str] = {}
    sections: dict[str, list[dict[str, Any]]] = {key: [] for key, _label in section_labels()}
    mocks: list[dict[str, Any]] = []
    exams: list[dict[str, Any]] = []
    for row in rows:
        assessment = row.assessment
        if assessment.mode == AssessmentMode.EXAM:
            exams.append(_entry(row, now))
        elif assessment.mode == AssessmentMode.MOCK:
            mocks.append(_entry(row, now))
        elif assessment.mode == AssessmentMode.PRACTICE:
            topic = by_position.get(getattr(assessment, "syllabus_position", None))
            if topic is not None:
                practice_of.setdefault(topic.id, assessment.slug)
            sections[section_of(topic.slug if topic else None)].append(_entry(row, now))
    practice_sections = [{"key": key, "label": label, "entries": sections[key]}
                         for key, label in section_labels() if sections[key]]

    topic_of = {t.id: t for t in topics}
    masteries = rules.mastery_by_key(
        (rules.Answer(a.topic_id, a.score, a.at) for a in answers if a.topic_id is not None), now=now)
    topic_rows = []
    for topic in topics:
        if topic.slug == PAST_EXAMS_TOPIC:
            continue
        found = masteries.get(topic.id, rules.NO_MASTERY)
        topic_rows.append({
            "slug": topic.slug, "name": topic_name(topic), "mastery": found.value, "percent": percent(found.value),
            "answers": found.answers, "tentative": 0 < found.answers < rules.MIN_ANSWERS, "weak": found.weak,
            "on_track": found.on_track, "practice_url": _practice_url(course_slug, practice_of.get(topic.id)),
        })
    weak = sorted((r for r in topic_rows if r["weak"]), key=lambda r: r["mastery"])[:WEAK_SHOWN]

    recent: dict[tuple[str, str], dict[str, Any]] = {}
    for answer in sorted(answers, key=lambda a: a.at, reverse=True):
        if (now - answer.at).days >= RECENT_DAYS:
            break
        for tag in answer.misconceptions:
            key = (answer.family, tag)
            if key in recent:
                recent[key]["count"] += 1
                continue
            if len(recent) >= RECENT_MISCONCEPTIONS or not answer.family:
                continue
            name = misconception_name(answer.family, tag)
            if name is None:
                continue
            topic = topic_of.get(answer.topic_id) if answer.topic_id is not None else None
            recent[key] = {"name": name, "count": 1, "at": answer.at,
                           "topic": topic_name(topic) if topic else "",
                           "practice_url": _practice_url(course_slug, practice_of.get(topic.id) if topic else None)}
    return {
        "exams": _exams(rows, now),
        "weak_topics": weak,
        "misconceptions": list(recent.values()),
        "topics": topic_rows,
        "answered": bool(answers),
        "practice_sections": practice_sections,
        "mock_entries": mocks,
        "exam_entries": exams,
        "rules": {"on_track": percent(rules.ON_TRACK_MASTERY), "weak": percent(rules.WEAK_MASTERY),
                  "min_answers": rules.MIN_ANSWERS, "half_life": int(rules.HALF_LIFE_DAYS)},
    }


# --------------------------------------------------------------------------- the class view

CHART = {"width": 360, "height": 200, "left": 40, "right": 344, "top": 12, "bottom": 168}
SPARK = {"width": 96, "height": 24, "pad": 2}


@dataclass(frozen=True)
class Series:
    """One thing followed week by week over the class: a topic or a misconception."""

    kind: str  # "topic" | "misconception"
    key: str  # a topic's slug, or "family:tag"
    name: str
    weekly: tuple[float | None, ...]  # class mastery each week (mean over students with answers by then)
    answered: tuple[int, ...]  # students with answers by each week
    on_track: tuple[int, ...]  # students on track in it each week
    forgetting: rules.Forgetting


def _series(kind: str, keys: Sequence[tuple[str, str]], grid: rules.WeeklyGrid) -> tuple[Series, ...]:
    """Each thing's class figures per week from the grid: the mean mastery of the students with
    answers by then, how many they are, how many are on track in it."""
    answered = grid.counts > 0  # [k, u, w]
    n = answered.sum(axis=1)  # [k, w]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n > 0, np.nansum(grid.values, axis=1) / np.where(n > 0, n, 1), np.nan)
    on_track = grid.on_track.sum(axis=1)
    out = []
    for k, (key, name) in enumerate(keys):
        weekly = tuple(None if np.isnan(v) else float(v) for v in means[k])
        out.append(Series(kind, key, name, weekly, tuple(int(c) for c in n[k]), tuple(int(c) for c in on_track[k]),
                          rules.forgetting(weekly)))
    return tuple(out)


@dataclass(frozen=True)
class ClassMastery:
    weeks: tuple[datetime, ...]
    students: int
    on_track: tuple[int, ...]  # students on track in the course each week
    topics: tuple[Series, ...]
    misconceptions: tuple[Series, ...]


def class_mastery(*, topics: Sequence[TopicInfo], answers: Sequence[ClassAnswer], students: int,
                  now: datetime, weeks: int = CLASS_WEEKS) -> ClassMastery:
    """Week by week: each topic's and each misconception's class mastery and students on track in it,
    and the students on track in the course (``progress.mastery.students_on_track``)."""
    first = min((a[3] for a in answers), default=now.timestamp())
    ends = rules.week_ends(first=datetime.fromtimestamp(first, tz=UTC), now=now, weeks=weeks)
    end_seconds = [end.timestamp() for end in ends]
    user_index: dict[int, int] = {}
    for answer in answers:
        user_index.setdefault(answer[0], len(user_index))
    users = max(len(user_index), 1)

    answered_topics = {a[1] for a in answers if a[1] is not None}
    shown_topics = [t for t in topics if t.id in answered_topics]
    topic_index = {t.id: k for k, t in enumerate(shown_topics)}
    in_topic = [a for a in answers if a[1] in topic_index]
    topic_grid = rules.weekly_grid(
        np.array([topic_index[a[1]] for a in in_topic], dtype=np.int64),
        np.array([user_index[a[0]] for a in in_topic], dtype=np.int64),
        np.array([a[2] for a in in_topic]), np.array([a[3] for a in in_topic]),
        shape=(len(shown_topics), users), week_ends=end_seconds)
    topic_series = _series("topic", [(t.slug, topic_name(t)) for t in shown_topics], topic_grid)

    # A misconception seen in the class: every answer to its family's problems scores 1 without it, 0 with it.
    seen: dict[str, set[str]] = {}
    for a in answers:
        if a[4] and a[5]:
            seen.setdefault(a[4], set()).update(a[5])
    named = sorted(((family, tag, name) for family, tags in seen.items() for tag in tags
                    if (name := misconception_name(family, tag))), key=lambda m: m[2])
    mistake_index: dict[str, list[tuple[int, str]]] = {}
    for k, (family, tag, _name) in enumerate(named):
        mistake_index.setdefault(family, []).append((k, tag))
    keys, who, scores, times = [], [], [], []
    for a in answers:
        for k, tag in mistake_index.get(a[4], ()):
            keys.append(k)
            who.append(user_index[a[0]])
            scores.append(0.0 if tag in a[5] else 1.0)
            times.append(a[3])
    mistake_grid = rules.weekly_grid(np.array(keys, dtype=np.int64), np.array(who, dtype=np.int64),
                                     np.array(scores), np.array(times), shape=(len(named), users),
                                     week_ends=end_seconds)
    mistake_series = tuple(sorted(
        _series("misconception", [(f"{family}:{tag}", name) for family, tag, name in named], mistake_grid),
        key=lambda s: (s.weekly[-1] if s.weekly[-1] is not None else 1.0, s.name)))
    on_track = rules.students_on_track(topic_grid).sum(axis=0) if shown_topics else np.zeros(len(ends))
    return ClassMastery(tuple(ends), students, tuple(int(c) for c in on_track), topic_series, mistake_series)


def _spark(values: Sequence[float | None]) -> dict[str, Any]:
    box = SPARK
    inner_w, inner_h = box["width"] - 2 * box["pad"], box["height"] - 2 * box["pad"]
    step = inner_w / max(len(values) - 1, 1)
    points = [f"{box['pad'] + i * step:.1f},{box['pad'] + (1 - v) * inner_h:.1f}"
              for i, v in enumerate(values) if v is not None]
    return {**box, "points": " ".join(points), "single": len(points) == 1,
            "dot": points[0].split(",") if len(points) == 1 else None}


def _row(series: Series, students: int) -> dict[str, Any]:
    return {
        "key": series.key, "name": series.name, "kind": series.kind,
        "weekly": [percent(v) for v in series.weekly],
        "latest": percent(series.weekly[-1]), "answered": series.answered[-1],
        "on_track_share": percent(series.on_track[-1] / students if students else None),
        "drops": series.forgetting.drops, "total_drop": percent(series.forgetting.total_drop),
        "spark": _spark(series.weekly),
        "spark_title": _("%(name)s: class mastery each week, %(values)s") % {
            "name": series.name, "values": ", ".join(percent(v) for v in series.weekly)},
    }


def _week_label(end: datetime) -> str:
    return timezone.localtime(end, timezone.get_fixed_timezone(8 * 60)).strftime("%m-%d")


def _chart(data: ClassMastery) -> dict[str, Any]:
    box = CHART
    width, height = box["right"] - box["left"], box["bottom"] - box["top"]
    n = len(data.weeks)
    step = width / max(n - 1, 1)

    def xy(i: int, value: float) -> str:
        return f"{box['left'] + i * step:.1f},{box['top'] + (1 - value) * height:.1f}"

    share = [c / data.students if data.students else 0.0 for c in data.on_track]
    means = []
    for w in range(n):
        values = [s.weekly[w] for s in data.topics if s.weekly[w] is not None]
        means.append(sum(values) / len(values) if values else None)
    return {
        **box,
        "on_track_points": " ".join(xy(i, v) for i, v in enumerate(share)),
        "mastery_points": " ".join(xy(i, v) for i, v in enumerate(means) if v is not None),
        "dots": [{"x": round(box["left"] + i * step, 1), "y": round(box["top"] + (1 - v) * height, 1),
                  "title": _("Week to %(week)s: %(share)s of students on track by mastery") % {
                      "week": _week_label(data.weeks[i]), "share": percent(v)}} for i, v in enumerate(share)],
        "x_ticks": [{"x": round(box["left"] + i * step, 1), "label": _week_label(end)} for i, end in enumerate(data.weeks)],
        "y_ticks": [{"y": round(box["top"] + (1 - f) * height, 1), "label": f"{int(f * 100)}"} for f in (0, .5, 1)],
        "table": [{"week": _week_label(end), "on_track": percent(share[i]), "mastery": percent(means[i])}
                  for i, end in enumerate(data.weeks)],
    }


def class_mastery_context(data: ClassMastery) -> dict[str, Any]:
    topics = [_row(s, data.students) for s in data.topics]
    mistakes = [_row(s, data.students) for s in data.misconceptions]
    forgotten = sorted((r for r in topics + mistakes if r["drops"]),
                       key=lambda r: (-r["drops"], r["name"]))
    return {
        "students": data.students,
        "weeks": [_week_label(end) for end in data.weeks],
        "chart": _chart(data),
        "topic_rows": topics, "misconception_rows": mistakes, "forgotten": forgotten,
        "rules": {"on_track": percent(rules.ON_TRACK_MASTERY), "min_answers": rules.MIN_ANSWERS,
                  "topic_share": percent(rules.ON_TRACK_TOPIC_SHARE), "drop": percent(rules.FORGET_DROP),
                  "half_life": int(rules.HALF_LIFE_DAYS)},
    }


# --------------------------------------------------------------------------- on track for the exam


@dataclass(frozen=True)
class StudentReadiness:
    user_id: int
    username: str
    state: str  # spaced.Verdict.state: "on_track", "behind", "not_started"
    predicted: float | None  # predicted recall on the exam date with the plan (None: not started)
    if_stop: float | None = None  # the same if they stop studying now


@dataclass(frozen=True)
class ClassReadinessRows:
    """Every student of the class view with their verdict for the exam date: those behind first
    (lowest prediction first), then those on track, then those not started."""

    readiness: ClassReadiness
    students: tuple[StudentReadiness, ...]

    def count(self, state: str) -> int:
        return sum(1 for s in self.students if s.state == state)


_STATE_ORDER = {"behind": 0, "on_track": 1, "not_started": 2}


def class_readiness_rows(readiness: ClassReadiness, roster: Sequence[RosterEntry]) -> ClassReadinessRows:
    rows = []
    for entry in roster:
        found = readiness.verdicts.get(entry.user_id)
        verdict = found[1] if found else None
        rows.append(StudentReadiness(entry.user_id, entry.username, verdict.state if verdict else "not_started",
                                     verdict.predicted if verdict else None, readiness.if_stop.get(entry.user_id)))
    rows.sort(key=lambda r: (_STATE_ORDER[r.state], r.predicted if r.predicted is not None else 0.0, r.username))
    return ClassReadinessRows(readiness, tuple(rows))


def state_label(state: str) -> str:
    return {"on_track": _("On track"), "behind": _("Behind"), "not_started": _("Not started")}[state]


def class_readiness_context(data: ClassReadinessRows) -> dict[str, Any]:
    r = data.readiness
    title = localized(r.exam.title, r.exam.translations, "title") if r.exam else None
    students = len(data.students)
    on_track = data.count("on_track")
    return {"readiness": {
        "exam": title.text if title else None, "exam_lang": title.lang if title else "",
        "date": timezone.localtime(r.exam_at), "target": percent(r.target), "students": students,
        "share": percent(on_track / students if students else None), "on_track": on_track,
        "behind": data.count("behind"), "not_started": data.count("not_started"),
        "rows": [{"username": s.username, "state": s.state, "label": state_label(s.state),
                  "predicted": percent_down(s.predicted), "if_stop": percent_down(s.if_stop)}
                 for s in data.students],
    }}


def class_mastery_csv(data: ClassMastery, readiness: ClassReadinessRows) -> str:
    """One row per topic or misconception and week: its class mastery (0–1), students with answers,
    students on track in it by mastery; the course's students on track by mastery each week
    (``course_by_mastery``: the only history there is); then the exam-date verdicts of today: the count
    on track (``course_exam``) and each student's predicted recall with the plan, verdict and recall if they stop
    now (``student``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "key", "name", "week_end", "class_mastery", "students_answered", "students_on_track",
                     "students", "predicted_recall", "verdict", "recall_if_stop"])
    for i, end in enumerate(data.weeks):
        writer.writerow(["course_by_mastery", "", "", end.date().isoformat(), "", "", data.on_track[i],
                         data.students, "", "", ""])
    for series in (*data.topics, *data.misconceptions):
        for i, end in enumerate(data.weeks):
            value = series.weekly[i]
            writer.writerow([series.kind, series.key, series.name, end.date().isoformat(),
                             "" if value is None else f"{value:.4f}", series.answered[i], series.on_track[i],
                             data.students, "", "", ""])
    today = data.weeks[-1].date().isoformat()
    exam_day = timezone.localdate(readiness.readiness.exam_at).isoformat()
    writer.writerow(["course_exam", exam_day, "", today, "", "", readiness.count("on_track"), len(readiness.students),
                     "", "", ""])
    for student in readiness.students:
        writer.writerow(["student", student.username, "", today, "", "", "", "",
                         "" if student.predicted is None else f"{student.predicted:.4f}", student.state,
                         "" if student.if_stop is None else f"{student.if_stop:.4f}"])
    return out.getvalue()
