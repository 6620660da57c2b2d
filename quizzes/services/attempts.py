"""Attempts: start, autosave, practice checks, submit, auto-submit at the deadline, self-assessment.

The server is the only clock: an attempt's ``deadline`` is fixed when it starts (time limit plus the
student's extension, capped by the window), saves after it are refused, and a periodic task submits
whatever was saved once it has passed — whether or not the browser is still open.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import member_filter
from accounts.models import Enrollment, Role, User
from dlcv_site.errors import ServiceError
from dlcv_site.events import ASSESSMENT_SCORES_CHANGED, announce
from dlcv_site.rows import insert_rows
from grader.questions import grade_question, graded_unanswered, graded_unreadable
from grader.results import GradingResult
from grader.seeds import variant_seed
from quizzes import prepared_views, sql
from quizzes.bank.languages import grading_spec
from quizzes.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    Attempt,
    AttemptItem,
    AttemptStatus,
    PracticeRecord,
    Question,
    QuestionType,
    QuestionVersion,
    ScoreChange,
)
from quizzes.presenters import VersionContent, version_content
from quizzes.services.graded_out import ATTEMPT_TASK, ITEM_TASK, graded_on_commit

MAX_RESPONSE_BYTES = 64 * 1024
AUTO_GRADED = {t for t in QuestionType.values if t != QuestionType.ESSAY}


class AttemptError(ServiceError):
    """A rule refused the action on an attempt."""


class AssessmentClosed(AttemptError):
    code = "closed"


class AttemptLimitReached(AttemptError):
    code = "already_submitted"


class DeadlinePassed(AttemptError):
    code = "deadline_passed"


class AttemptNotOpen(AttemptError):
    code = "not_open"


class ResponseTooLarge(AttemptError):
    code = "too_large"


class _Drawn(NamedTuple):
    """One drawn question: what its attempt item is made of."""

    bank_id: str
    version_id: int
    max_points: Decimal  # what its item is worth: the slot's points, else the version's


def _draw_questions(assessment: Assessment, rng: random.Random) -> list[_Drawn]:
    # Plain rows, not models, by SQL written once (``quizzes.sql.assessment_slots``): every student
    # of an exam reads these same rows when they start.
    chosen: list[_Drawn] = []
    used: set[int] = set()
    for question_id, bank_id, version_id, version_points, points, pool_topic_id, pool_tag, pool_count in (
            sql.assessment_slots(assessment_id=assessment.id)):
        if question_id is not None:
            chosen.append(_Drawn(bank_id, version_id, points if points is not None else version_points))
            used.add(question_id)
            continue
        pool = Question.objects.filter(topic_id=pool_topic_id, retired=False).exclude(id__in=used)
        candidates = sorted(pool.values_list("id", "bank_id", "current_version_id", "current_version__points",
                                             "current_version__tags"), key=lambda row: row[1])
        if pool_tag:  # tags are a JSON list; pools are small, so filter here on every database
            candidates = [row for row in candidates if pool_tag in (row[4] or [])]
        for candidate_id, bank_id, version_id, version_points, _tags in rng.sample(
                candidates, min(pool_count, len(candidates))):
            chosen.append(_Drawn(bank_id, version_id, points if points is not None else version_points))
            used.add(candidate_id)
    return chosen


def _plan(assessment: Assessment, user_id: int, number: int) -> tuple[list[_Drawn], list[dict[str, Any]]]:
    """What attempt ``number`` of this user is made of: its questions in order and its items' rows
    (position, version, max_points, seed). A function of its arguments and the assessment's slots, so
    an exam's attempts can be foreseen before they start (``exam_variants_prepare``)."""
    rng = random.Random(variant_seed("draw", assessment.id, user_id, number))
    drawn = _draw_questions(assessment, rng)
    if assessment.shuffle_questions:
        rng.shuffle(drawn)
    items = [{"position": position, "question_version_id": d.version_id, "max_points": d.max_points,
              "seed": variant_seed(assessment.id, user_id, number, d.bank_id)}
             for position, d in enumerate(drawn, start=1)]
    return drawn, items


@dataclass(frozen=True)
class ExamWindow:
    """Where ``now`` falls in an exam's window for one student (their extension included): what the
    start refuses by and what the landing page says, so the page never offers what the server refuses."""

    not_open_yet: bool
    closed: bool
    opens_at: datetime | None
    closes_at: datetime | None  # the student's own closing time (the exam's plus their extension)

    @property
    def open(self) -> bool:
        return not (self.not_open_yet or self.closed)


def exam_window(*, assessment: Assessment, extra_minutes: int, now: datetime) -> ExamWindow:
    """The window rule for exams (practice and mock exams are not held to their window)."""
    closes_at = assessment.closes_at + timedelta(minutes=extra_minutes) if assessment.closes_at else None
    exam = assessment.mode == AssessmentMode.EXAM
    return ExamWindow(not_open_yet=exam and bool(assessment.opens_at and now < assessment.opens_at),
                      closed=exam and bool(closes_at and now >= closes_at),
                      opens_at=assessment.opens_at, closes_at=closes_at)


def _window_check(assessment: Assessment, extra: int, now: datetime) -> None:
    window = exam_window(assessment=assessment, extra_minutes=extra, now=now)
    if window.not_open_yet:
        raise AssessmentClosed(_("This assessment is not open yet."))
    if window.closed:
        raise AssessmentClosed(_("This assessment has closed."))


def _deadline(assessment: Assessment, extra: int, now: datetime) -> datetime | None:
    candidates = []
    if assessment.time_limit_minutes:
        candidates.append(now + timedelta(minutes=assessment.time_limit_minutes + extra))
    if assessment.closes_at and assessment.mode == AssessmentMode.EXAM:
        candidates.append(assessment.closes_at + timedelta(minutes=extra))
    return min(candidates) if candidates else None


def attempt_start(*, user: User, assessment: Assessment, now: datetime | None = None) -> Attempt:
    """Open (or return the open) attempt. Exams: one attempt, inside the window only."""
    now = now or timezone.now()
    try:
        return _attempt_start(user=user, assessment=assessment, now=now)
    except IntegrityError:
        # A concurrent start (double click, two tabs) won the race: the partial unique constraint
        # guarantees there is exactly one open attempt, so return it.
        return Attempt.objects.get(assessment=assessment, user=user, status=AttemptStatus.IN_PROGRESS)


_NEW_ATTEMPT_COLUMNS = ("assessment_id", "user_id", "number", "status", "started_at", "deadline", "max_points")


def _attempt_start(*, user: User, assessment: Assessment, now: datetime) -> Attempt:
    # On PostgreSQL the attempt and its items are written by one statement, atomic by itself, so
    # no transaction is opened around the reads (BEGIN and COMMIT would be two more round trips):
    # the partial unique constraint still refuses a second open attempt, which attempt_start
    # handles. Inside a caller's transaction a savepoint keeps a refused start from spoiling it.
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _read_and_create(user=user, assessment=assessment, now=now)
    with transaction.atomic():
        return _read_and_create(user=user, assessment=assessment, now=now)


def _read_and_create(*, user: User, assessment: Assessment, now: datetime) -> Attempt:
    # Every student of an exam starts within the same minute: SQL written once, two statements
    # to read (the latest attempt with the extension, the slots) and one or two to write (``quizzes.sql``).
    latest, extra = sql.attempt_latest_with_extension(assessment_id=assessment.id, user_id=user.id)
    extra = extra or 0
    if latest is not None and latest.status == AttemptStatus.IN_PROGRESS:
        return latest
    previous = latest.number if latest is not None else 0
    if assessment.mode == AssessmentMode.EXAM:
        if previous:
            raise AttemptLimitReached(_("An exam allows one attempt; yours is submitted."))
        _window_check(assessment, extra, now)
    number = previous + 1
    drawn, items = _plan(assessment, user.id, number)
    attempt = Attempt(assessment=assessment, user=user, number=number, started_at=now,
                      deadline=_deadline(assessment, extra, now), max_points=sum((d.max_points for d in drawn), Decimal(0)))
    attempt.id = _insert_attempt(attempt, items)
    attempt._state.adding = False
    return attempt


def _insert_attempt(attempt: Attempt, items: list[dict[str, Any]]) -> int:
    """INSERT the attempt and its items; the new attempt's id. On PostgreSQL one statement."""
    attempt_row = {name: getattr(attempt, name) for name in _NEW_ATTEMPT_COLUMNS}
    if not sql.available() or not items:
        (attempt_id,) = insert_rows(Attempt, [attempt_row], returning_pk=True)
        insert_rows(AttemptItem, [{**item, "attempt_id": attempt_id} for item in items])
        return attempt_id
    return sql.attempt_insert_with_items(attempt_row=attempt_row, items=items)


@dataclass(frozen=True)
class SaveResult:
    saved_at: datetime
    save_count: int


def _check_response_size(response: Any) -> None:
    import json

    if len(json.dumps(response, ensure_ascii=False).encode()) > MAX_RESPONSE_BYTES:
        raise ResponseTooLarge(_("The answer is too large (at most %(kb)s KB).") % {"kb": MAX_RESPONSE_BYTES // 1024})


class NotYourItem(LookupError):
    """No such item in an attempt of this user (the view answers 404: ids reveal nothing)."""


def attempt_item_save(*, user: User, attempt_id: int, item_id: int, response: Any,
                      now: datetime | None = None, hint_used: bool = False) -> SaveResult:
    """Autosave one answer to the user's own attempt, refused after the deadline or submission.

    The most frequent request of an exam, so it is one statement (``quizzes.sql.attempt_item_save_response``):
    an UPDATE … RETURNING whose WHERE holds ``access.attempt_item_get_for_owner``'s rule (an item of
    the user's own attempt — even staff cannot answer for a student), the open status and the
    deadline. Only a refused save reads more, to say why. Raises ``NotYourItem``, ``AttemptNotOpen``,
    ``DeadlinePassed`` or ``ResponseTooLarge``. ``hint_used``: the student opened the item's hint
    (kept on the item while it is not graded: the review of the answer counts as Hard at best).
    """
    now = now or timezone.now()
    _check_response_size(response)
    save_count = sql.attempt_item_save_response(user_id=user.pk, attempt_id=attempt_id, item_id=item_id,
                                                response=response, now=now, hint_used=hint_used,
                                                superuser=user.is_superuser)
    if save_count is not None:
        return SaveResult(saved_at=now, save_count=save_count)
    status = (Attempt.objects.filter(pk=attempt_id, user=user, items__pk=item_id)
              .filter(member_filter(user=user, course_id_field="assessment__course_id"))
              .values_list("status", flat=True).first())
    if status is None:
        raise NotYourItem(item_id)
    if status != AttemptStatus.IN_PROGRESS:
        raise AttemptNotOpen(_("This attempt is submitted; answers can no longer change."))
    raise DeadlinePassed(_("Time is up: this answer was not saved."))


def _store_grade(item: AttemptItem, grade: GradingResult, now: datetime) -> None:
    item.score = Decimal(str(round(grade.score, 4)))
    item.feedback = grade.to_json()
    item.graded_at = now
    item.needs_manual_grading = grade.needs_manual_grading


def _grading_spec(version: QuestionVersion) -> dict[str, Any]:
    """The version's spec with the feedback it passes to the grader in every language it has."""
    return grading_spec(version.spec, version.lang, version.translations)


#: Wrong checks of a fixed practice question before its solution is shown unasked (the default of
#: ``Assessment.practice_reveal_after``).
PRACTICE_REVEAL_AFTER = 3
#: Question types whose check shows the solution at once: an essay's key points are what the student
#: assesses themselves by; a parameterized question offers another variant instead of a retry.
SOLUTION_AT_ONCE = frozenset({QuestionType.ESSAY, QuestionType.PARAM})


def practice_solution_visible(*, question_type: str, checks: int, correct: bool, requested: bool,
                              reveal_after: int) -> bool:
    """Whether a practice item's solution (correct answer, explanation) may be shown: at once for
    essays and parameterized questions; for a fixed question once answered right, when the student
    asks for it, or after ``reveal_after`` checks. The one rule for the check's answer and the page."""
    if question_type in SOLUTION_AT_ONCE:
        return checks > 0 or requested
    return correct or requested or checks >= max(1, reveal_after)


def practice_item_solution_visible(item: AttemptItem) -> bool:
    """:func:`practice_solution_visible` for a stored item (its attempt's assessment and its question read)."""
    feedback = item.feedback or {}
    return practice_solution_visible(
        question_type=item.question_version.question.type, checks=item.checks,
        correct=bool(feedback) and float(feedback.get("score") or 0) >= 1,
        requested=item.solution_requested_at is not None,
        reveal_after=item.attempt.assessment.practice_reveal_after)


@transaction.atomic
def practice_solution_request(*, item: AttemptItem, now: datetime | None = None) -> AttemptItem:
    """The student asks to see a practice item's solution (it stays shown)."""
    item = AttemptItem.objects.select_for_update().select_related(
        "attempt__assessment", "question_version__question").get(pk=item.pk)
    if item.attempt.assessment.mode != AssessmentMode.PRACTICE:
        raise AttemptError(_("Solutions on request are for practice only."))
    if item.attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptNotOpen(_("This practice session has ended."))
    if item.solution_requested_at is None:
        item.solution_requested_at = now or timezone.now()
        item.save(update_fields=["solution_requested_at"])
    return item


@transaction.atomic
def practice_check(*, item: AttemptItem, response: Any, now: datetime | None = None,
                   hint_used: bool = False) -> GradingResult:
    """Grade a practice answer now. A format error is returned and costs nothing; nothing is stored.
    ``hint_used`` (the student opened the hint) is kept when this is the item's first grade: the
    recall the cards read is the first check's."""
    now = now or timezone.now()
    item = AttemptItem.objects.select_for_update().select_related("attempt__assessment", "question_version").get(pk=item.pk)
    if item.attempt.assessment.mode != AssessmentMode.PRACTICE:
        raise AttemptError(_("Instant checking is for practice only."))
    if item.attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptNotOpen(_("This practice session has ended."))
    _check_response_size(response)
    version = item.question_version
    grade = grade_question(version.question.type, _grading_spec(version), response, seed=item.seed)
    if not grade.gradable:
        return grade
    item.response = response
    item.response_saved_at = now
    item.hint_used = item.hint_used or (hint_used and item.graded_at is None)
    item.checks += 1
    _store_grade(item, grade, now)
    item.save()
    if not grade.needs_manual_grading:
        _practice_record_update(user_id=item.attempt.user_id, question_id=version.question_id, score=item.score)
    if item.checks == 1:  # the first check is the recall; retries after feedback are not
        graded_on_commit(ITEM_TASK, item.pk)
    return grade


def _practice_record_update(*, user_id: int, question_id: int, score: Decimal) -> None:
    record, created = PracticeRecord.objects.select_for_update().get_or_create(
        user_id=user_id, question_id=question_id, defaults={"best_score": score, "latest_score": score, "tries": 1}
    )
    if not created:
        record.best_score = max(record.best_score, score)
        record.latest_score = score
        record.tries += 1
        record.save(update_fields=["best_score", "latest_score", "tries", "updated_at"])


@transaction.atomic
def practice_another_variant(*, item: AttemptItem) -> AttemptItem:
    """A fresh variant of the same question, appended to the practice session."""
    attempt = Attempt.objects.select_for_update().get(pk=item.attempt_id)
    if attempt.assessment.mode != AssessmentMode.PRACTICE or attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptError(_("Only an open practice session gets new variants."))
    question = item.question_version.question
    position = (attempt.items.aggregate(top=Max("position"))["top"] or 0) + 1
    return AttemptItem.objects.create(
        attempt=attempt, position=position, question_version=question.current_version or item.question_version,
        seed=random.SystemRandom().randrange(1, 2**31 - 1), max_points=item.max_points,
    )


def essay_self_assessed(*, mode: str, question_type: str) -> bool:
    """Whether an item is self-assessed rather than scored: essays outside exams (practice and mock
    exams: the student ticks the key points they covered; nobody grades them)."""
    return question_type == QuestionType.ESSAY and mode != AssessmentMode.EXAM


@dataclass(frozen=True)
class AttemptTotals:
    points: Decimal  # earned on the items that count
    max_points: Decimal  # the most the items that count can earn
    self_assessed: int  # essays shown apart (not in either figure)


def attempt_totals(*, mode: str, items: Iterable[AttemptItem]) -> AttemptTotals:
    """An attempt's score: every item's score × max_points, self-assessed essays left out of both
    the points and the maximum. The one rule for the stored ``Attempt.points``/``max_points`` that
    the results page, the course dashboard and the gradebook all show. ``items`` carry their
    question (``question_version__question``)."""
    points = max_points = Decimal(0)
    self_assessed = 0
    for item in items:
        if essay_self_assessed(mode=mode, question_type=item.question_version.question.type):
            self_assessed += 1
            continue
        points += (item.score or 0) * item.max_points
        max_points += item.max_points
    return AttemptTotals(points, max_points, self_assessed)


@transaction.atomic
def attempt_submit(*, attempt: Attempt, now: datetime | None = None, auto: bool = False) -> Attempt:
    """Grade every saved answer and close the attempt. Idempotent: a submitted attempt is returned as is."""
    now = now or timezone.now()
    attempt = Attempt.objects.select_for_update().select_related("assessment").get(pk=attempt.pk)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt
    items = list(attempt.items.select_related("question_version__question"))
    for item in items:
        version = item.question_version
        qtype = version.question.type
        if item.response is None:
            grade = graded_unanswered()
        else:
            grade = grade_question(qtype, _grading_spec(version), item.response, seed=item.seed)
            if not grade.gradable:  # an unreadable saved answer at submission earns nothing, but says why
                grade = graded_unreadable(grade)
        # Essays: graded by hand in exams; self-assessed in practice and mock exams.
        grade = replace(grade, needs_manual_grading=qtype == QuestionType.ESSAY and item.response is not None
                        and attempt.assessment.mode == AssessmentMode.EXAM)
        _store_grade(item, grade, now)
    AttemptItem.objects.bulk_update(items, ["score", "feedback", "graded_at", "needs_manual_grading"])
    totals = attempt_totals(mode=attempt.assessment.mode, items=items)
    attempt.status = AttemptStatus.AUTO_SUBMITTED if auto else AttemptStatus.SUBMITTED
    attempt.submitted_at = now
    attempt.points, attempt.max_points = totals.points, totals.max_points
    attempt.save(update_fields=["status", "submitted_at", "points", "max_points"])
    if attempt.assessment.mode != AssessmentMode.PRACTICE:  # practice answers went out at their checks
        graded_on_commit(ATTEMPT_TASK, attempt.pk)
    return attempt


def attempts_submit_overdue(*, now: datetime | None = None) -> int:
    """Submit every open attempt whose deadline has passed (run periodically by Celery beat)."""
    now = now or timezone.now()
    overdue = list(Attempt.objects.filter(status=AttemptStatus.IN_PROGRESS, deadline__lt=now).values_list("pk", flat=True))
    for attempt_id in overdue:
        attempt_submit(attempt=Attempt(pk=attempt_id), now=now, auto=True)
    return len(overdue)


@transaction.atomic
def essay_self_assess(*, item: AttemptItem, points_met: list[int]) -> AttemptItem:
    """Record which key points the student says their essay covered (practice and mock exams)."""
    item = AttemptItem.objects.select_for_update().select_related("attempt__assessment", "question_version").get(pk=item.pk)
    if item.attempt.assessment.mode == AssessmentMode.EXAM:
        raise AttemptError(_("Exam essays are graded by the instructors."))
    key_points = item.question_version.spec.get("key_points") or []
    if any(not 0 <= i < len(key_points) for i in points_met) or len(set(points_met)) != len(points_met):
        raise AttemptError(_("Unknown key point."))
    item.self_assessment = {"points_met": sorted(points_met), "of": len(key_points), "self_assessed": True}
    item.save(update_fields=["self_assessment"])
    graded_on_commit(ITEM_TASK, item.pk)  # the student's own rating of the essay feeds the plan
    return item


@transaction.atomic
def attempt_item_score_set(*, item_id: int, score: float | Decimal, kind: str, changed_by: User | None,
                           reason: str = "", feedback: dict[str, Any] | None = None,
                           now: datetime | None = None) -> ScoreChange | None:
    """Set an attempt item's score (a fraction 0–1 of its ``max_points``) by a person's action — hand
    grading, a rubric edit, a regrade request, a class-wide regrade — with an audit entry
    (``ScoreChange``: who, when, old → new, why); the attempt's points follow (``attempt_totals``).
    ``feedback`` (a ``GradingResult.to_json()``) replaces the stored one when given. Returns the audit
    entry, or None when neither the score nor the feedback changed (a double submit writes nothing)."""
    score = Decimal(str(round(float(score), 4)))
    if not Decimal(0) <= score <= Decimal(1):
        raise AttemptError(_("The score is a fraction between 0 and 1."))
    now = now or timezone.now()
    item = AttemptItem.objects.select_for_update().get(pk=item_id)
    old = item.score
    if old == score and not item.needs_manual_grading and (feedback is None or feedback == item.feedback):
        return None
    item.score = score
    item.needs_manual_grading = False
    item.graded_at = now
    fields = ["score", "needs_manual_grading", "graded_at"]
    if feedback is not None:
        item.feedback = feedback
        fields.append("feedback")
    item.save(update_fields=fields)
    change = ScoreChange.objects.create(item=item, kind=kind, old_score=old, new_score=score, reason=reason,
                                        changed_by=changed_by, created_at=now)
    attempt = Attempt.objects.select_for_update().select_related("assessment").get(pk=item.attempt_id)
    attempt.points = attempt_totals(mode=attempt.assessment.mode,
                                    items=attempt.items.select_related("question_version__question")).points
    attempt.save(update_fields=["points"])
    released_at = attempt.assessment.results_released_at
    if released_at is not None and released_at <= now:
        # A released score changed: the LMS's grade passback (lti) stages the new one, by task name, on commit.
        announce(ASSESSMENT_SCORES_CHANGED, attempt.assessment_id)
    return change


@dataclass(frozen=True)
class PreparedVariants:
    students: int
    worked_out: int  # views worked out and stored by this call
    present: int  # views found prepared already (a pass cut short before)
    up_to_date: bool = False  # prepared before for these students, slots and versions: nothing read
    busy: bool = False  # another pass is preparing this exam now: nothing done


PREPARING_SECONDS = 300  # how long a pass's claim on an exam lasts (a killed worker's claim ends)
PREPARE_BATCH = 250  # students per cache round trip
PREPARED_GRACE = timedelta(hours=1)  # prepared views outlive the window by this (late starters)
PREPARE_AHEAD = timedelta(hours=2)  # exams opening this soon are prepared


def _prepared_seconds(assessment: Assessment, now: datetime) -> int:
    until = (assessment.closes_at or now + timedelta(hours=23)) + PREPARED_GRACE
    return max(int((until - now).total_seconds()), int(PREPARED_GRACE.total_seconds()))


def _prepared_marker(assessment: Assessment, student_ids: list[int]) -> str:
    """A cache key naming everything the exam's attempts are drawn from: the students, the slots,
    the questions they can draw (current version, content) and the rendering code. Stored after a
    full pass, so the periodic task reads a few rows, not every student's plan, once prepared."""
    slots = list(AssessmentItem.objects.filter(assessment=assessment).order_by("position")
                 .values_list("question_id", "pool_topic_id", "pool_tag", "pool_count", "points"))
    drawable = (Question.objects.filter(id__in=[slot[0] for slot in slots if slot[0]])
                | Question.objects.filter(topic_id__in=[slot[1] for slot in slots if slot[1]]))
    questions = list(drawable.order_by("id").values_list("id", "bank_id", "retired", "current_version_id",
                                                         "current_version__content_hash", "current_version__tags"))
    state = repr((prepared_views.view_key_prefix(), assessment.shuffle_questions, slots, questions, student_ids))
    return f"quizzes:prepared:{assessment.id}:{hashlib.sha256(state.encode()).hexdigest()[:24]}"


def exam_variants_prepare(*, assessment: Assessment, now: datetime | None = None) -> PreparedVariants:
    """Work out every enrolled student's parameterized items of this exam before it opens and keep
    them in the cache (``quizzes.prepared_views``), in each language, so that the minute in which
    the whole class starts generates no variant. The attempts are foreseen exactly (``_plan``: the
    same draw and seeds as ``attempt_start``). Idempotent: a finished pass leaves a marker, and a
    pass cut short is resumed (views already there are not worked out again). Exams only: practice
    has new variants on every attempt."""
    now = now or timezone.now()
    if assessment.mode != AssessmentMode.EXAM:
        return PreparedVariants(students=0, worked_out=0, present=0)
    student_ids = list(Enrollment.objects.filter(course_id=assessment.course_id, role=Role.STUDENT)
                       .order_by("user_id").values_list("user_id", flat=True))
    marker = _prepared_marker(assessment, student_ids)
    if django_cache.get(marker):
        return PreparedVariants(students=len(student_ids), worked_out=0, present=0, up_to_date=True)
    # One pass per exam at a time: a class large enough to outlast the beat's minute would otherwise
    # be prepared by two workers at once.
    claim = f"quizzes:preparing:{assessment.id}"
    if not django_cache.add(claim, True, PREPARING_SECONDS):
        return PreparedVariants(students=len(student_ids), worked_out=0, present=0, busy=True)
    try:
        return _prepare(assessment, student_ids, marker, now)
    finally:
        django_cache.delete(claim)


def _prepare(assessment: Assessment, student_ids: list[int], marker: str, now: datetime) -> PreparedVariants:
    langs = [code for code, _name in settings.LANGUAGES]
    timeout = _prepared_seconds(assessment, now)
    contents: dict[int, VersionContent | None] = {}  # version id → content, None if not parameterized
    worked_out = present = 0
    for start in range(0, len(student_ids), PREPARE_BATCH):
        planned = [item for user_id in student_ids[start:start + PREPARE_BATCH]
                   for item in _plan(assessment, user_id, 1)[1]]
        unseen = {item["question_version_id"] for item in planned} - contents.keys()
        for version in QuestionVersion.objects.filter(id__in=unseen).select_related("question"):
            contents[version.id] = version_content(version) if version.question.type == QuestionType.PARAM else None
        pairs = [(content, item["seed"]) for item in planned
                 if (content := contents.get(item["question_version_id"])) is not None]
        missing = prepared_views.views_missing(pairs, langs)
        present += len(pairs) * len(langs) - len(missing)
        worked_out += prepared_views.views_store(missing, timeout=timeout)
    django_cache.set(marker, True, timeout)
    return PreparedVariants(students=len(student_ids), worked_out=worked_out, present=present)


def exams_prepare_upcoming(*, now: datetime | None = None) -> dict[int, PreparedVariants]:
    """``exam_variants_prepare`` for every published exam that opens within ``PREPARE_AHEAD``, by
    assessment id. Not once it is open: the work belongs before the rush, not in it. Nothing
    without a shared cache: views prepared in the worker's own memory would reach no web process."""
    now = now or timezone.now()
    if not prepared_views.cache_is_shared():
        return {}
    exams = Assessment.objects.filter(mode=AssessmentMode.EXAM, published=True,
                                      opens_at__gt=now, opens_at__lte=now + PREPARE_AHEAD)
    return {exam.id: exam_variants_prepare(assessment=exam, now=now) for exam in exams}
