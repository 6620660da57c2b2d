"""Reads for the lab pages: a student's labs, the gradebook and per-part statistics of a lab.

Every read that lists things runs a fixed number of queries, whatever the number of students,
labs or submissions (the gradebook: five, asserted by the page tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Course, Enrollment, Role, User
from dlcv_site.i18n import COURSE_LANG, Localized, localized
from grader.problems import get_family
from grader.results import GradingResult
from labs.models import Lab, LabPart, Submission, SubmissionStatus
from labs.policy import LabPolicy
from quizzes.models import Assessment, Attempt
from quizzes.selectors import attempts_visible, in_syllabus_order

# --------------------------------------------------------------------------- a student's labs


@dataclass(frozen=True)
class LabRow:
    lab: Lab
    max_points: Decimal
    attempts_used: int  # submissions that count (all but failed gradings)
    #: The student's points in the lab: best per part over graded submissions, each part with the
    #: factors of the submission that earned it (``LabPolicy.lab_points``); None: nothing graded.
    best_points: Decimal | None

    @property
    def policy(self) -> LabPolicy:
        return LabPolicy.of(self.lab)

    @property
    def attempt_limit(self) -> int | None:
        """None: unlimited."""
        return self.policy.attempt_limit

    @property
    def attempts_left(self) -> int | None:
        return self.policy.attempts_left(self.attempts_used)

    @property
    def attempt_percents(self) -> str:
        """The declining attempts' shares, e.g. "100 %, 80 %, 60 %" ("" for unlimited attempts)."""
        return ", ".join(f"{factor * 100:g} %" for factor in self.policy.declining or ())


def _max_points() -> Subquery:
    parts = LabPart.objects.filter(lab=OuterRef("pk")).order_by().values("lab").annotate(total=Sum("points"))
    return Subquery(parts.values("total"), output_field=DecimalField(max_digits=8, decimal_places=2))


def _lab_points(part_points: Sequence[dict[str, float]]) -> Decimal | None:
    points = LabPolicy.lab_points(part_points)
    return None if points is None else Decimal(str(points)).quantize(Decimal("0.0001"))


def lab_points_by_student(submissions: QuerySet[Submission]) -> dict[tuple[int, int], Decimal | None]:
    """(student id, lab id) → the student's points in the lab (best per part, ``LabPolicy``), from
    the graded ones among ``submissions`` (one query): the one rule every page and the gradebook read."""
    by_key: dict[tuple[int, int], list[dict[str, float]]] = {}
    for user_id, lab_id, part_points in (
        submissions.filter(status=SubmissionStatus.GRADED).order_by().values_list("user_id", "lab_id", "part_points")
    ):
        by_key.setdefault((user_id, lab_id), []).append(part_points or {})
    return {key: _lab_points(rows) for key, rows in by_key.items()}


def labs_for_student(*, user: User, course: Course, include_unpublished: bool = False) -> list[LabRow]:
    """The course's labs with the student's attempts used and points in each (two queries)."""
    mine = Submission.objects.filter(lab=OuterRef("pk"), user=user).order_by().values("lab")
    used = mine.exclude(status=SubmissionStatus.FAILED).annotate(n=Count("pk")).values("n")
    points = lab_points_by_student(Submission.objects.filter(user=user, lab__course=course))
    labs = (
        Lab.objects.filter(course=course)
        .annotate(
            points_total=Coalesce(
                _max_points(), F("code_points"), Value(Decimal(0)), output_field=DecimalField(max_digits=8, decimal_places=2)
            ),
            used=Coalesce(Subquery(used, output_field=IntegerField()), Value(0)),
        )
        .order_by(F("due_at").asc(nulls_last=True), "slug")
    )
    if not include_unpublished:
        labs = labs.filter(published=True)
    return [
        LabRow(lab, lab.points_total, lab.used, points.get((user.pk, lab.pk)))  # type: ignore[attr-defined]
        for lab in labs
    ]


def lab_row_for_student(*, user: User, lab: Lab) -> LabRow:
    """One lab's row (for its page): attempts used, left and the best points."""
    rows = labs_for_student(user=user, course=lab.course, include_unpublished=True)
    return next(row for row in rows if row.lab.pk == lab.pk)


def lab_submissions_for_student(*, user: User, lab: Lab) -> QuerySet[Submission]:
    return Submission.objects.filter(lab=lab, user=user).order_by("-number")


# --------------------------------------------------------------------------- gradebook


@dataclass(frozen=True)
class GradebookColumn:
    kind: str  # "lab" or "quiz"
    slug: str
    title: str  # in the request's language when the lab or assessment has it, else as written
    max_points: Decimal | None
    published: bool
    title_lang: str = COURSE_LANG  # the language ``title`` is in
    id: int = 0  # the lab's or the assessment's primary key


@dataclass(frozen=True)
class GradebookRow:
    student: User
    points: list[Decimal | None]  # one per column, None: nothing graded (or visible) yet
    section: str = ""  # the student's section in the course


@dataclass(frozen=True)
class Gradebook:
    columns: list[GradebookColumn]
    rows: list[GradebookRow]
    labs: list[Lab] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)  # the quiz columns' own rows, in order


def _title(obj: Lab | Assessment) -> Localized:
    """A lab's or an assessment's title in the request's language if it has it, else as written."""
    return localized(obj.title, obj.translations, "title")


def course_gradebook(*, course: Course, now: datetime | None = None,
                     sections: frozenset[str] | None = None, user: User | None = None) -> Gradebook:
    """Students × (labs, then assessments): a lab's points (best per part, after its policies) and an
    assessment's best *visible* points (what the student sees: exams only once released). Five queries.
    Only students of ``sections`` when given (``accounts.access.sections_visible_to``); only ``user``'s
    row when given (My grades: the columns' maximums are still the course's)."""
    now = now or timezone.now()
    enrollments = Enrollment.objects.filter(course=course, role=Role.STUDENT)
    if sections is not None:
        enrollments = enrollments.filter(section__in=sections)
    submissions = Submission.objects.filter(lab__course=course)
    if user is not None:
        enrollments = enrollments.filter(user=user)
        submissions = submissions.filter(user=user)
    members = list(enrollments.select_related("user").order_by("user__username"))
    labs = list(
        Lab.objects.filter(course=course)
        .annotate(points_total=Coalesce(_max_points(), F("code_points"), output_field=DecimalField(max_digits=8, decimal_places=2)))
        .order_by(F("due_at").asc(nulls_last=True), "slug")
    )
    lab_best = lab_points_by_student(submissions)
    assessments = list(in_syllabus_order(Assessment.objects.filter(course=course), by_mode=True))
    quiz_best: dict[tuple[int, int], Decimal] = {}
    quiz_max: dict[int, Decimal] = {}
    visible = Attempt.objects.filter(assessment__course=course, points__isnull=False).filter(attempts_visible(now))
    for row in (
        (visible if user is None else visible.filter(user=user))
        .order_by()
        .values("user_id", "assessment_id")
        .annotate(best=Max("points"), of=Max("max_points"))
    ):
        quiz_best[(row["user_id"], row["assessment_id"])] = row["best"]
        quiz_max[row["assessment_id"]] = max(quiz_max.get(row["assessment_id"], row["of"]), row["of"])
    if user is not None:  # the maximums are the course's, whoever's row is read (one more query)
        quiz_max = {row["assessment_id"]: row["of"] for row in visible.order_by().values("assessment_id")
                    .annotate(of=Max("max_points"))}
    columns = [
        GradebookColumn("lab", lab.slug, (t := _title(lab)).text, lab.points_total, lab.published,  # type: ignore[attr-defined]
                        title_lang=t.lang, id=lab.pk)
        for lab in labs
    ] + [
        GradebookColumn("quiz", a.slug, (t := _title(a)).text, quiz_max.get(a.pk), a.published, title_lang=t.lang,
                        id=a.pk)
        for a in assessments
    ]
    rows = [
        GradebookRow(
            (student := member.user),
            [lab_best.get((student.pk, lab.pk)) for lab in labs]
            + [quiz_best.get((student.pk, a.pk)) for a in assessments],
            section=member.section,
        )
        for member in members
    ]
    return Gradebook(columns, rows, labs, assessments)


# --------------------------------------------------------------------------- per-part statistics

#: Score bins of a part (its 0–1 score): exactly 0, four quarters in between, exactly 1.
SCORE_BINS: tuple[tuple[str, float, float], ...] = (
    ("0%", 0.0, 0.0),
    ("1–24%", 0.0, 0.25),
    ("25–49%", 0.25, 0.5),
    ("50–74%", 0.5, 0.75),
    ("75–99%", 0.75, 1.0),
    ("100%", 1.0, 1.0),
)


def _bin(score: float) -> int:
    if score <= 0:
        return 0
    if score >= 1:
        return len(SCORE_BINS) - 1
    return 1 + min(3, int(score * 4))


@dataclass(frozen=True)
class MisconceptionShare:
    tag: str
    message: str  # Markdown + LaTeX, in the requested language ("" if the family no longer has it)
    count: int
    share: float  # of the part's wrong answers, 0–1


@dataclass(frozen=True)
class PartStats:
    key: str
    title: str
    family: str
    max_points: Decimal
    answers: int  # graded submissions that answered the part
    bins: list[tuple[str, int]]
    wrong: int
    misconceptions: list[MisconceptionShare]
    unexplained: int  # wrong answers that no misconception explains
    title_lang: str = COURSE_LANG  # the language ``title`` is in (the requested one if the lab has it)

    @property
    def correct(self) -> int:
        return self.answers - self.wrong


@dataclass(frozen=True)
class LabStats:
    submissions: int
    students: int
    parts: list[PartStats]


def _part_stats(part: LabPart, results: Sequence[GradingResult], lang: str) -> PartStats:
    bins = [0] * len(SCORE_BINS)
    tags: Counter[str] = Counter()
    answers = wrong = unexplained = 0
    for result in results:
        graded = next((p for p in result.parts if p.name == part.key), None)
        if graded is None:
            continue
        answers += 1
        bins[_bin(graded.score)] += 1
        if not graded.correct:
            wrong += 1
            found = list(dict.fromkeys(graded.misconceptions))
            tags.update(found)
            unexplained += not found
    try:
        messages = {m.tag: m.message(lang) for m in get_family(part.family).misconceptions}
    except KeyError:  # the family was removed: keep the tags, without their messages
        messages = {}
    shares = [
        MisconceptionShare(tag, messages.get(tag, ""), count, count / wrong)
        for tag, count in sorted(tags.items(), key=lambda item: (-item[1], item[0]))
    ]
    return PartStats(
        key=part.key, title=(title := localized(part.title, part.translations, "title", lang)).text,
        title_lang=title.lang, family=part.family, max_points=part.points, answers=answers,
        bins=[(label, n) for (label, _lo, _hi), n in zip(SCORE_BINS, bins, strict=True)],
        wrong=wrong, misconceptions=shares, unexplained=unexplained,
    )


def lab_part_stats(*, lab: Lab, lang: str = "zh-Hant") -> LabStats:
    """Per part, over every graded submission of the lab (each attempt is one answer): the score
    distribution and how often each misconception explains a wrong answer. A wrong answer may carry
    several misconceptions, so the shares of a part can add up to more than 100 %. Two queries."""
    parts = list(lab.parts.order_by("position"))
    rows = list(
        Submission.objects.filter(lab=lab, status=SubmissionStatus.GRADED).values_list("user_id", "result")
    )
    results = [result for _user, stored in rows if (result := GradingResult.from_json(stored)) is not None]
    return LabStats(
        submissions=len(rows),
        students=len({user for user, _result in rows}),
        parts=[_part_stats(part, results, lang) for part in parts],
    )
