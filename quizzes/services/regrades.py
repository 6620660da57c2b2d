"""Regrades of quiz and exam items: a student's regrade request and staff's answer, and the
class-wide regrade of a question fixed after students answered it.

Every score either changes goes through ``attempts.attempt_item_score_set`` (the audit log,
``ScoreChange``). A class regrade is a ``RegradeJob`` applied by the task ``quizzes.class_regrade``
(sent by name, on commit): each of its items is applied in its own transaction together with its
processed marker (``RegradeJobItem.applied_at``), so a run repeated after a worker's kill never
applies an item twice, and beat's ``quizzes.resume_regrade_jobs`` sends a job whose run died again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from accounts.models import Course, User
from dlcv_site.errors import ServiceError
from grader.questions import grade_question, graded_unanswered, graded_unreadable
from grader.results import GradingResult
from quizzes.bank.languages import grading_spec
from quizzes.models import (
    Assessment,
    AssessmentMode,
    AttemptItem,
    AttemptStatus,
    Question,
    QuestionType,
    QuestionVersion,
    RegradeJob,
    RegradeJobItem,
    RegradeJobStatus,
    RegradeRequest,
    RegradeRequestEvent,
    RegradeRequestEventKind,
    RegradeRequestStatus,
    ScoreChangeKind,
)
from quizzes.services.attempts import attempt_item_score_set

logger = logging.getLogger(__name__)

#: The longest reason a student may give, and the longest answer staff may write (characters).
REASON_MAX_CHARS = 1000
ANSWER_MAX_CHARS = 2000
#: The course's regrade window is at most this many days after release.
WINDOW_MAX_DAYS = 365

CLASS_REGRADE_TASK = "quizzes.class_regrade"
#: The queue the class regrade runs on (the grading workers consume it; tests point it elsewhere).
REGRADE_QUEUE = "numeric"
#: A run works this long, then sends the job again for the rest (the queue's hard limit is 30 s).
RUN_BUDGET_SECONDS = 15.0
#: A queued or running job without progress for this long was lost (broker, killed worker): sent again.
RESUME_AFTER = timedelta(seconds=90)


class RegradeError(ServiceError):
    """A rule refused a regrade request, its answer or a class regrade."""


class RegradeWindowClosed(RegradeError):
    code = "window_closed"


class RegradeAlreadyOpen(RegradeError):
    code = "already_open"


# --------------------------------------------------------------------------- regrade requests


@dataclass(frozen=True)
class RegradeWindow:
    """Whether a student may ask for a regrade of an attempt's items now, and until when."""

    released: bool
    closes_at: datetime | None  # None: not released

    def open_at(self, now: datetime) -> bool:
        return self.released and self.closes_at is not None and now < self.closes_at


def regrade_window(*, assessment: Assessment, course: Course, status: str, now: datetime) -> RegradeWindow:
    """The rule: a submitted attempt of an assessment whose results are released, until the course's
    ``regrade_window_days`` after the release (what the results page says, and what the service refuses by)."""
    released_at = assessment.results_released_at
    if status == AttemptStatus.IN_PROGRESS or released_at is None or released_at > now:
        return RegradeWindow(released=False, closes_at=None)
    return RegradeWindow(released=True, closes_at=released_at + timedelta(days=course.regrade_window_days))


@transaction.atomic
def regrade_request_create(*, item_id: int, student: User, reason: str, now: datetime | None = None) -> RegradeRequest:
    """A student's request that an item of their own released attempt be looked at again."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    item = (AttemptItem.objects.select_for_update(of=("self",))
            .select_related("attempt__assessment__course").filter(pk=item_id, attempt__user=student).first())
    if item is None:
        raise RegradeError(_("No such question in your attempt."), code="not_found")
    attempt = item.attempt
    window = regrade_window(assessment=attempt.assessment, course=attempt.assessment.course, status=attempt.status,
                            now=now)
    if not window.released:
        raise RegradeWindowClosed(_("Regrades can be asked for once the results are released."))
    if not window.open_at(now):
        raise RegradeWindowClosed(_("The time to ask for a regrade has passed."))
    if not reason:
        raise RegradeError(_("Say why the question should be graded again."), code="no_reason")
    if len(reason) > REASON_MAX_CHARS:
        raise RegradeError(_("The reason is too long (at most %(n)s characters).") % {"n": REASON_MAX_CHARS},
                           code="too_long")
    if RegradeRequest.objects.filter(item=item, status=RegradeRequestStatus.OPEN).exists():
        raise RegradeAlreadyOpen(_("This question already has an open regrade request."))
    try:
        with transaction.atomic():
            request = RegradeRequest.objects.create(item=item, student=student, reason=reason, created_at=now)
    except IntegrityError:  # a concurrent request won (one open request per item)
        raise RegradeAlreadyOpen(_("This question already has an open regrade request.")) from None
    RegradeRequestEvent.objects.create(request=request, kind=RegradeRequestEventKind.OPENED, actor=student,
                                       message=reason, created_at=now)
    return request


@transaction.atomic
def regrade_request_answer(*, request_id: int, staff: User, message: str, points: Decimal | None,
                           now: datetime | None = None) -> RegradeRequest:
    """Staff's answer to an open request: a message, and the item's new points or None (unchanged).
    The score goes through ``attempt_item_score_set`` (kind ``regrade_request``)."""
    now = now or timezone.now()
    message = (message or "").strip()
    request = RegradeRequest.objects.select_for_update(of=("self",)).select_related("item").get(pk=request_id)
    if request.status != RegradeRequestStatus.OPEN:
        raise RegradeError(_("This request is already answered."), code="answered")
    if not message:
        raise RegradeError(_("Write the student an answer."), code="no_message")
    if len(message) > ANSWER_MAX_CHARS:
        raise RegradeError(_("The answer is too long (at most %(n)s characters).") % {"n": ANSWER_MAX_CHARS},
                           code="too_long")
    item = request.item
    old = item.score
    change = None
    if points is not None:
        if not Decimal(0) <= points <= item.max_points:
            raise RegradeError(_("The points are between 0 and %(max)s.") % {"max": item.max_points}, code="points")
        score = points / item.max_points if item.max_points else Decimal(0)
        # The stored grade follows the score (its colour and mark on every page), keeping what it
        # said, with the staff's answer as its note.
        graded = GradingResult.from_json(item.feedback) or GradingResult(max_points=1.0)
        feedback = graded.rescored(float(round(score, 4)), message).to_json()
        change = attempt_item_score_set(item_id=item.pk, score=score, kind=ScoreChangeKind.REGRADE_REQUEST,
                                        changed_by=staff, reason=message, feedback=feedback, now=now)
    request.status = RegradeRequestStatus.ANSWERED
    request.answered_at, request.answered_by, request.answer, request.score_change = now, staff, message, change
    request.save(update_fields=["status", "answered_at", "answered_by", "answer", "score_change"])
    RegradeRequestEvent.objects.create(request=request, kind=RegradeRequestEventKind.ANSWERED, actor=staff,
                                       message=message, old_score=old,
                                       new_score=change.new_score if change else old, created_at=now)
    return request


@transaction.atomic
def course_regrade_window_set(*, course: Course, days: int) -> Course:
    """How many days after a release students may ask for regrades in this course."""
    if not 0 <= days <= WINDOW_MAX_DAYS:
        raise RegradeError(_("The window is between 0 and %(n)s days.") % {"n": WINDOW_MAX_DAYS}, code="window")
    course.regrade_window_days = days
    course.save(update_fields=["regrade_window_days"])
    return course


# --------------------------------------------------------------------------- class-wide regrade


def class_regrade_score(*, old: Decimal | None, graded: Decimal, released: bool, allow_lower: bool) -> Decimal:
    """The score an item keeps: the new grade, but never below a released score unless the
    instructor allowed it (then ``max(old, new)``)."""
    if old is None or allow_lower or not released:
        return graded
    return max(old, graded)


def _released(assessment: Assessment, now: datetime) -> bool:
    """Whether the students have seen the scores: practice and mock exams at once, exams once released."""
    if assessment.mode != AssessmentMode.EXAM:
        return True
    return assessment.results_released_at is not None and assessment.results_released_at <= now


def _grade_against(item: AttemptItem, version: QuestionVersion, qtype: str) -> GradingResult:
    """The item's saved answer graded by the core against ``version`` (as ``attempt_submit`` does)."""
    if item.response is None:
        return graded_unanswered()
    grade = grade_question(qtype, grading_spec(version.spec, version.lang, version.translations), item.response,
                           seed=item.seed)
    return grade if grade.gradable else graded_unreadable(grade)


def _score(grade: GradingResult) -> Decimal:
    return Decimal(str(round(grade.score, 4)))


def _regradable_items(*, assessment: Assessment, question: Question, from_version_ids: Iterable[int]) -> QuerySet[AttemptItem]:
    """The submitted attempts' items of this question at one of the versions (never essays)."""
    return (AttemptItem.objects.filter(attempt__assessment=assessment, question_version__question=question,
                                       question_version_id__in=list(from_version_ids))
            .exclude(attempt__status=AttemptStatus.IN_PROGRESS)
            .exclude(question_version__question__type=QuestionType.ESSAY)
            .select_related("attempt__user").order_by("attempt__user__username", "attempt_id", "position"))


@dataclass(frozen=True)
class PreviewRow:
    item_id: int
    student: str
    max_points: Decimal
    old_points: Decimal | None
    graded_points: Decimal  # what the new version gives
    new_points: Decimal  # what would be kept

    @property
    def change(self) -> str:
        old = self.old_points or Decimal(0)
        return "up" if self.new_points > old else "down" if self.new_points < old else "same"


@dataclass(frozen=True)
class RegradePreview:
    rows: list[PreviewRow]
    up: int
    down: int
    unchanged: int
    kept: int  # lower grades not applied (released scores are not lowered)


def _check_versions(question: Question, from_version_ids: list[int]) -> QuestionVersion:
    if question.type == QuestionType.ESSAY:
        raise RegradeError(_("Essays are graded by hand; they are never re-graded automatically."), code="essay")
    current = Question.objects.select_related("current_version").get(pk=question.pk).current_version
    if current is None:
        raise RegradeError(_("The question has no current version."), code="no_version")
    if not from_version_ids:
        raise RegradeError(_("Choose the earlier versions to grade again."), code="no_versions")
    known = set(QuestionVersion.objects.filter(question=question, id__in=from_version_ids).values_list("id", flat=True))
    if known != set(from_version_ids) or current.id in known:
        raise RegradeError(_("Choose earlier versions of this question."), code="bad_versions")
    return current


def class_regrade_preview(*, assessment: Assessment, question: Question, from_version_ids: list[int],
                          allow_lower: bool, now: datetime | None = None) -> RegradePreview:
    """What a class regrade would do, per student (old → new points), without writing anything."""
    now = now or timezone.now()
    current = _check_versions(question, from_version_ids)
    released = _released(assessment, now)
    rows = []
    for item in _regradable_items(assessment=assessment, question=question, from_version_ids=from_version_ids):
        graded = _score(_grade_against(item, current, question.type))
        kept = class_regrade_score(old=item.score, graded=graded, released=released, allow_lower=allow_lower)
        rows.append(PreviewRow(item.pk, item.attempt.user.get_username(), item.max_points,
                               None if item.score is None else item.score * item.max_points,
                               graded * item.max_points, kept * item.max_points))
    return RegradePreview(rows=rows, up=sum(r.change == "up" for r in rows), down=sum(r.change == "down" for r in rows),
                          unchanged=sum(r.change == "same" for r in rows),
                          kept=sum(r.new_points != r.graded_points for r in rows))


def _send(job_id: int) -> None:
    try:
        current_app.send_task(CLASS_REGRADE_TASK, args=[job_id], queue=REGRADE_QUEUE)
    except (KombuError, OSError):  # broker down: beat's resume_regrade_jobs sends it again
        logger.exception("could not enqueue class regrade job %s", job_id)


@transaction.atomic
def class_regrade_start(*, assessment: Assessment, question: Question, from_version_ids: list[int],
                        allow_lower: bool, by: User, now: datetime | None = None) -> RegradeJob:
    """Create the job and its items and send the task on commit. One live job per question."""
    now = now or timezone.now()
    current = _check_versions(question, from_version_ids)
    item_ids = list(_regradable_items(assessment=assessment, question=question, from_version_ids=from_version_ids)
                    .values_list("pk", "score"))
    try:
        with transaction.atomic():
            job = RegradeJob.objects.create(assessment=assessment, question=question,
                                            from_versions=sorted(from_version_ids), to_version=current,
                                            allow_lower=allow_lower, total=len(item_ids), created_by=by,
                                            created_at=now, heartbeat_at=now)
    except IntegrityError:
        raise RegradeError(_("A regrade of this question is already running."), code="running") from None
    RegradeJobItem.objects.bulk_create([RegradeJobItem(job=job, item_id=pk, old_score=score) for pk, score in item_ids])
    transaction.on_commit(partial(_send, job.pk))
    return job


def fixed_questions(*, assessment: Assessment) -> list[tuple[Question, list[int]]]:
    """The assessment's questions (essays aside) with submitted answers at earlier versions than their
    current one, each with those versions' ids, in bank id order (one query)."""
    pairs = (AttemptItem.objects.filter(attempt__assessment=assessment, question_version__question__current_version__isnull=False)
             .exclude(attempt__status=AttemptStatus.IN_PROGRESS)
             .exclude(question_version__question__type=QuestionType.ESSAY)
             .exclude(question_version_id=F("question_version__question__current_version_id"))
             .order_by().values_list("question_version__question_id", "question_version_id").distinct())
    versions: dict[int, set[int]] = {}
    for question_id, version_id in pairs:
        versions.setdefault(question_id, set()).add(version_id)
    questions = Question.objects.filter(id__in=versions).order_by("bank_id")
    return [(question, sorted(versions[question.id])) for question in questions]


def class_regrade_preview_all(*, assessment: Assessment, allow_lower: bool,
                              now: datetime | None = None) -> list[tuple[Question, RegradePreview]]:
    """What regrading every fixed question (``fixed_questions``, all their earlier versions) would do."""
    now = now or timezone.now()
    return [(question, class_regrade_preview(assessment=assessment, question=question, from_version_ids=version_ids,
                                             allow_lower=allow_lower, now=now))
            for question, version_ids in fixed_questions(assessment=assessment)]


@transaction.atomic
def class_regrade_start_all(*, assessment: Assessment, allow_lower: bool, by: User,
                            now: datetime | None = None) -> list[RegradeJob]:
    """One job per fixed question of the assessment (all its earlier versions), each sent on commit;
    all or none (a question whose regrade is already running refuses the lot)."""
    now = now or timezone.now()
    fixed = fixed_questions(assessment=assessment)
    if not fixed:
        raise RegradeError(_("No question of this assessment was answered at an earlier version: nothing to re-grade."),
                           code="nothing")
    return [class_regrade_start(assessment=assessment, question=question, from_version_ids=version_ids,
                                allow_lower=allow_lower, by=by, now=now) for question, version_ids in fixed]


def _test_slow_seconds() -> float:
    """Test-only pause per item (the worker-kill test): ``GRADER_TEST_SLOW_SECONDS``."""
    return float(getattr(settings, "GRADER_TEST_SLOW_SECONDS", 0) or 0)


def _apply_one(job: RegradeJob, entry_id: int, question: Question, now: datetime) -> None:
    with transaction.atomic():
        entry = (RegradeJobItem.objects.select_for_update(skip_locked=True)
                 .filter(pk=entry_id, applied_at__isnull=True).first())
        if entry is None:  # applied by an earlier run, or being applied by another
            return
        item = AttemptItem.objects.select_for_update().get(pk=entry.item_id)
        try:
            grade = _grade_against(item, job.to_version, question.type)
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # a grader bug on one answer: that item keeps its score, the job goes on
            logger.exception("class regrade %s: item %s could not be graded; its score is kept", job.pk, item.pk)
            grade = None
        graded = _score(grade) if grade is not None else item.score or Decimal(0)
        kept = class_regrade_score(old=item.score, graded=graded, released=_released(job.assessment, now),
                                   allow_lower=job.allow_lower)
        change = None
        if grade is not None and kept != item.score and kept == graded:
            old_number = item.question_version.number
            change = attempt_item_score_set(item_id=item.pk, score=kept, kind=ScoreChangeKind.CLASS_REGRADE,
                                            changed_by=job.created_by, feedback=grade.to_json(), now=now,
                                            reason=f"v{old_number} → v{job.to_version.number}")
            AttemptItem.objects.filter(pk=item.pk).update(question_version=job.to_version)
        old = item.score or Decimal(0)
        entry.old_score, entry.graded_score, entry.new_score = item.score, graded, kept
        entry.applied_at, entry.score_change = now, change
        entry.save(update_fields=["old_score", "graded_score", "new_score", "applied_at", "score_change"])
        counter = "raised" if kept > old else "lowered" if kept < old else "unchanged"
        RegradeJob.objects.filter(pk=job.pk).update(processed=F("processed") + 1, heartbeat_at=now,
                                                    **{counter: F(counter) + 1})


def class_regrade_run(*, job_id: int, budget_seconds: float = RUN_BUDGET_SECONDS) -> bool:
    """Apply what is left of a job for up to ``budget_seconds``; True when some is still left (the
    task then sends the job again). Idempotent: items already applied are skipped."""
    job = (RegradeJob.objects.select_related("assessment", "question", "to_version", "created_by")
           .filter(pk=job_id).first())
    if job is None or job.status == RegradeJobStatus.DONE:
        return False
    RegradeJob.objects.filter(pk=job.pk).update(status=RegradeJobStatus.RUNNING, runs=F("runs") + 1,
                                                heartbeat_at=timezone.now())
    started = time.monotonic()
    slow = _test_slow_seconds()
    for entry_id in job.entries.filter(applied_at__isnull=True).order_by("pk").values_list("pk", flat=True):
        if time.monotonic() - started > budget_seconds:
            return True
        if slow:
            time.sleep(slow)
        _apply_one(job, entry_id, job.question, timezone.now())
    with transaction.atomic():
        locked = RegradeJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != RegradeJobStatus.DONE and not locked.entries.filter(applied_at__isnull=True).exists():
            locked.status, locked.finished_at = RegradeJobStatus.DONE, timezone.now()
            locked.save(update_fields=["status", "finished_at"])
            return False
    return locked.status != RegradeJobStatus.DONE


def regrade_job_continue(*, job_id: int) -> None:
    """Send the job again for its next run (the task, once a run's budget is spent)."""
    _send(job_id)


def regrade_jobs_resume(*, older_than: timedelta = RESUME_AFTER, now: datetime | None = None) -> int:
    """Send again every queued or running job without progress for ``older_than`` (a lost message,
    a killed worker): its applied items are skipped, the rest applied. Run by beat."""
    now = now or timezone.now()
    ids = list(RegradeJob.objects.filter(status__in=[RegradeJobStatus.QUEUED, RegradeJobStatus.RUNNING],
                                         heartbeat_at__lt=now - older_than).values_list("pk", flat=True))
    for job_id in ids:
        RegradeJob.objects.filter(pk=job_id).update(heartbeat_at=now)
        _send(job_id)
    return len(ids)
