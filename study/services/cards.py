"""Cards and their reviews: every graded answer of a student updates the cards it touches.

The rule of which cards, and with which rating, is the pure core's (``grader.spaced``); this module
reads the answer, applies it and stores the result. One ``ReviewLog`` per (card, answer): recording
the same answer twice (a task delivered again, the review page and its task) changes nothing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from grader import spaced
from grader.results import GradingResult
from labs.models import LabKind, Submission, SubmissionStatus
from quizzes.models import (
    STUDY_REVIEW_SLUG,
    Assessment,
    AssessmentMode,
    AttemptItem,
    AttemptStatus,
    Question,
    QuestionType,
)
from quizzes.selectors import results_visible
from study.models import Card, ExamRecorded, ReviewLog, ReviewSource, StudySettings
from study.services import queue

#: The slug of each course's review session's practice assessment (unpublished; study.services.review).
REVIEW_SLUG = STUDY_REVIEW_SLUG  # quizzes keeps it out of every list of assessments


def study_settings_for(*, course_id: int) -> StudySettings:
    settings, _created = StudySettings.objects.get_or_create(course_id=course_id)
    return settings


def scheduler_for(settings: StudySettings) -> Any:
    return spaced.scheduler(settings.parameters or None, settings.desired_retention)


def next_exam(*, course_id: int, now: datetime) -> Assessment | None:
    """The course's next published exam (it opens after ``now``): the date every plan is capped by."""
    return (Assessment.objects.filter(course_id=course_id, mode=AssessmentMode.EXAM, published=True, opens_at__gt=now)
            .order_by("opens_at").first())


def card_state(card: Card) -> spaced.CardState:
    return spaced.CardState(state=card.state, step=card.step, stability=card.stability, difficulty=card.difficulty,
                            due=card.due, last_review=card.last_review)


@dataclass(frozen=True)
class Answer:
    """One graded answer, as the cards need it."""

    user_id: int
    course_id: int
    bank_id: str  # the concept question's bank id ("" for a family's answer without one)
    topic_id: int | None
    question_id: int | None  # the bank question a new card's reviews serve
    family: str  # "" for a concept question
    score: float
    misconceptions: tuple[str, ...]
    kind: str  # a ReviewSource
    source: str
    hint_used: bool = False
    solution_seen: bool = False
    duration_ms: int | None = None


def _median_ms(*, course_id: int, skill: str) -> float | None:
    durations = list(ReviewLog.objects.filter(course_id=course_id, card__skill=skill, duration_ms__isnull=False)
                     .order_by("-reviewed_at").values_list("duration_ms", flat=True)[:200])
    return statistics.median(durations) if len(durations) >= 5 else None


@transaction.atomic
def answer_record(*, answer: Answer, now: datetime | None = None) -> list[ReviewLog]:
    """Update the cards ``answer`` touches (``grader.spaced.skills_touched``), each once: the logs
    written (none when this answer was recorded before)."""
    now = now or timezone.now()
    settings = study_settings_for(course_id=answer.course_id)
    sched = scheduler_for(settings)
    exam = next_exam(course_id=answer.course_id, now=now)
    exam_at = exam.opens_at if exam else None
    prefix = spaced.family_skill(answer.family) + ":" if answer.family else None
    known = ([spaced.parse_skill(skill).tag for skill in Card.objects.filter(
        user_id=answer.user_id, course_id=answer.course_id, skill__startswith=prefix).values_list("skill", flat=True)]
        if prefix else [])
    touched = spaced.skills_touched(bank_id=answer.bank_id, family=answer.family, score=answer.score,
                                    misconceptions=answer.misconceptions, known_tags=known)
    logs = []
    for t in touched:
        card, _created = Card.objects.select_for_update().get_or_create(
            user_id=answer.user_id, course_id=answer.course_id, skill=t.skill,
            defaults={"topic_id": answer.topic_id, "question_id": answer.question_id, "created_at": now})
        if ReviewLog.objects.filter(card=card, source=answer.source).exists():
            continue
        median = _median_ms(course_id=answer.course_id, skill=t.skill) if answer.duration_ms else None
        ratio = answer.duration_ms / median if answer.duration_ms and median else None
        tag = spaced.parse_skill(t.skill).tag
        rating = spaced.Rating.AGAIN if t.failed and tag else spaced.rating_for(
            score=answer.score, misconception_named=bool(answer.misconceptions), hint_used=answer.hint_used,
            solution_seen=answer.solution_seen, time_ratio=ratio)
        if not t.failed and tag:  # a known mistake avoided: judged on the answer alone
            rating = max(rating, spaced.Rating.GOOD) if answer.score >= 1 else spaced.Rating.HARD
        before = card_state(card)
        predicted = None if before.new else spaced.retrievability(before, now, sched=sched)
        after = spaced.review(before, rating, now, sched=sched, exam_at=exam_at)
        card.state, card.step, card.stability, card.difficulty = after.state, after.step, after.stability, after.difficulty
        card.due, card.last_review = after.due, after.last_review
        card.reps += 1
        card.lapses += int(rating == spaced.Rating.AGAIN and not before.new)
        if card.question_id is None and answer.question_id is not None:
            card.question_id = answer.question_id
        if card.topic_id is None and answer.topic_id is not None:
            card.topic_id = answer.topic_id
        card.save()
        logs.append(ReviewLog.objects.create(
            card=card, user_id=answer.user_id, course_id=answer.course_id, kind=answer.kind, source=answer.source,
            rating=int(rating), score=answer.score, misconception=tag if t.failed else "",
            predicted=predicted, duration_ms=answer.duration_ms, reviewed_at=now, due_after=after.due))
    return logs


def _item_kind(assessment: Assessment) -> str:
    if assessment.slug == REVIEW_SLUG:
        return ReviewSource.REVIEW
    return {AssessmentMode.PRACTICE: ReviewSource.PRACTICE, AssessmentMode.MOCK: ReviewSource.MOCK}.get(
        assessment.mode, ReviewSource.EXAM)


def _item_answer(item: AttemptItem, now: datetime, duration_ms: int | None = None) -> Answer | None:
    """What ``item`` says of its student, or None when it says nothing yet: not graded, graded by
    hand and waiting, an exam whose results are not released, an essay not self-assessed."""
    attempt = item.attempt
    assessment = attempt.assessment
    if assessment.mode != AssessmentMode.PRACTICE and attempt.status == AttemptStatus.IN_PROGRESS:
        return None
    question = item.question_version.question
    self_assessed = question.type == QuestionType.ESSAY and assessment.mode != AssessmentMode.EXAM
    if not results_visible(attempt=attempt, now=now) or (
            not self_assessed and (item.graded_at is None or item.needs_manual_grading)):
        return None
    if self_assessed:
        assessed = item.self_assessment or {}
        if not assessed.get("of"):
            return None
        score = len(assessed.get("points_met") or []) / assessed["of"]
    elif item.score is None:
        return None
    else:
        score = float(item.score)
    result = GradingResult.from_json(item.feedback)
    seen = bool(item.solution_requested_at and item.graded_at and item.solution_requested_at < item.graded_at)
    family = (item.question_version.spec or {}).get("family", "") if question.type == QuestionType.PARAM else ""
    return Answer(user_id=attempt.user_id, course_id=assessment.course_id, bank_id=question.bank_id,
                  topic_id=question.topic_id, question_id=question.pk, family=family,
                  score=score, misconceptions=tuple(result.misconceptions) if result else (),
                  kind=_item_kind(assessment), source=f"item:{item.pk}", hint_used=item.hint_used,
                  solution_seen=seen, duration_ms=duration_ms)


def _items(**filters: Any) -> Any:
    return AttemptItem.objects.filter(**filters).select_related(
        "attempt__assessment", "question_version__question")


def attempt_item_record(*, item_id: int, now: datetime | None = None, duration_ms: int | None = None) -> int:
    """Record one attempt item's answer on its cards (a practice check, a review); reviews written."""
    now = now or timezone.now()
    item = _items(pk=item_id).first()
    answer = _item_answer(item, now, duration_ms) if item else None
    return len(answer_record(answer=answer, now=now)) if answer else 0


def attempt_record(*, attempt_id: int, now: datetime | None = None) -> int:
    """Record every answer of a submitted attempt whose results its student can see."""
    now = now or timezone.now()
    written = 0
    for item in _items(attempt_id=attempt_id).order_by("position"):
        answer = _item_answer(item, now)
        if answer:
            written += len(answer_record(answer=answer, now=now))
    return written


def assessment_record(*, assessment_id: int, now: datetime | None = None) -> int:
    """Every submitted attempt of an assessment (an exam's results were just released); once its
    results are visible, the exam is marked recorded at that release time."""
    now = now or timezone.now()
    ids = (AttemptItem.objects.filter(attempt__assessment_id=assessment_id)
           .exclude(attempt__status=AttemptStatus.IN_PROGRESS).values_list("attempt_id", flat=True).distinct())
    written = sum(attempt_record(attempt_id=attempt_id, now=now) for attempt_id in sorted(set(ids)))
    released_at = (Assessment.objects.filter(pk=assessment_id, results_released_at__lte=now)
                   .values_list("results_released_at", flat=True).first())
    if released_at is not None:
        ExamRecorded.objects.update_or_create(assessment_id=assessment_id,
                                              defaults={"released_at": released_at, "recorded_at": now})
    return written


def released_exams_pending(*, now: datetime | None = None) -> list[int]:
    """Exams whose release time has passed and whose answers were not recorded at that release time
    (a future release date set on the exam's form: nothing announced it when the time came)."""
    now = now or timezone.now()
    recorded = ExamRecorded.objects.filter(assessment_id=OuterRef("pk"), released_at=OuterRef("results_released_at"))
    return list(Assessment.objects.filter(mode=AssessmentMode.EXAM, results_released_at__lte=now)
                .exclude(slug=REVIEW_SLUG).filter(~Exists(recorded)).order_by("pk").values_list("pk", flat=True))


def released_exams_send(*, now: datetime | None = None) -> list[int]:
    """The beat's sweep: send ``study.record_assessment`` for each pending exam (by task name; a
    message delivered twice records nothing more); the ids sent."""
    pending = released_exams_pending(now=now)
    for assessment_id in pending:
        queue.record_assessment_send(assessment_id)
    return pending


def _family_question(family: str) -> tuple[int | None, int | None]:
    """(question id, topic id) of a bank question of ``family``: what a lab's family card reviews with."""
    row = (Question.objects.filter(retired=False, type=QuestionType.PARAM, current_version__spec__family=family)
           .order_by("topic__position", "bank_id").values_list("id", "topic_id").first())
    return (row[0], row[1]) if row else (None, None)


def submission_answers(submission: Submission) -> list[Answer]:
    """A graded numeric lab submission's parts, each as one answer of its problem family (the part's
    score, the misconceptions its grader named). Empty for a coding lab or a submission not graded."""
    if submission.status != SubmissionStatus.GRADED or submission.lab.kind != LabKind.NUMERIC:
        return []
    result = GradingResult.from_json(submission.result)
    if result is None:
        return []
    answers = []
    for part in result.parts:
        if not part.family or not part.name:
            continue
        question_id, topic_id = _family_question(part.family)
        answers.append(Answer(
            user_id=submission.user_id, course_id=submission.lab.course_id, bank_id="", topic_id=topic_id,
            question_id=question_id, family=part.family, score=float(part.score),
            misconceptions=tuple(part.misconceptions), kind=ReviewSource.LAB,
            source=f"lab:{submission.pk}:{part.name}"))
    return answers


def submission_record(*, submission_id: int, now: datetime | None = None) -> int:
    """Record a graded lab submission on its student's cards, part by part; reviews written (none
    the second time: one ReviewLog per card and ``lab:<submission>:<part>``)."""
    now = now or timezone.now()
    submission = Submission.objects.select_related("lab").filter(pk=submission_id).first()
    if submission is None:
        return 0
    return sum(len(answer_record(answer=answer, now=now)) for answer in submission_answers(submission))


@transaction.atomic
def self_rating_record(*, user_id: int, course_id: int, question: Question, can_answer: bool,
                       now: datetime | None = None) -> list[ReviewLog]:
    """A student's own "I can answer this" / "not yet" on a past-exam question: Good or Again on its
    skill (one rating per question and day)."""
    now = now or timezone.now()
    return answer_record(answer=Answer(
        user_id=user_id, course_id=course_id, bank_id=question.bank_id, topic_id=question.topic_id,
        question_id=question.pk, family="", score=1.0 if can_answer else 0.0,
        misconceptions=(), kind=ReviewSource.SELF,
        source=f"self:{question.pk}:{timezone.localdate(now).isoformat()}"), now=now)
