"""Reads for the regrade pages: a student's notes on their results, the staff's request queue, the
audit log of an assessment's scores, the questions a class regrade can fix and its jobs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, QuerySet

from accounts.models import Course
from quizzes.models import (
    Assessment,
    Attempt,
    AttemptItem,
    AttemptStatus,
    QuestionType,
    QuestionVersion,
    RegradeJob,
    RegradeRequest,
    RegradeRequestEvent,
    RegradeRequestStatus,
    ScoreChange,
    ScoreChangeKind,
)


@dataclass
class ItemRegrades:
    """What a student is shown of an item's regrades: its requests and the score changes of regrades."""

    requests: list[RegradeRequest] = field(default_factory=list)
    changes: list[ScoreChange] = field(default_factory=list)

    @property
    def open_request(self) -> RegradeRequest | None:
        return next((r for r in self.requests if r.status == RegradeRequestStatus.OPEN), None)


def attempt_regrades(*, attempt: Attempt) -> dict[int, ItemRegrades]:
    """Per item id of the attempt: its regrade requests (oldest first) and the score changes made by
    regrades (a request's answer, a class regrade). Two queries."""
    notes: dict[int, ItemRegrades] = defaultdict(ItemRegrades)
    for request in RegradeRequest.objects.filter(item__attempt=attempt).order_by("created_at", "id"):
        notes[request.item_id].requests.append(request)
    for change in ScoreChange.objects.filter(
            item__attempt=attempt, kind__in=[ScoreChangeKind.REGRADE_REQUEST, ScoreChangeKind.CLASS_REGRADE]):
        notes[change.item_id].changes.append(change)
    return dict(notes)


def _in_sections(requests: QuerySet[RegradeRequest], course: Course, sections: frozenset[str] | None
                 ) -> QuerySet[RegradeRequest]:
    if sections is None:
        return requests
    return requests.filter(student__enrollments__course=course, student__enrollments__section__in=sections)


def regrade_queue(*, course: Course, sections: frozenset[str] | None, status: str | None) -> QuerySet[RegradeRequest]:
    """The course's regrade requests, open ones oldest first, answered ones newest first; only
    students of ``sections`` when given (a TA limited to sections)."""
    requests = _in_sections(RegradeRequest.objects.filter(item__attempt__assessment__course=course), course, sections)
    if status:
        requests = requests.filter(status=status)
    order = ["created_at", "id"] if status == RegradeRequestStatus.OPEN else ["-created_at", "-id"]
    return requests.select_related("student", "item__attempt__assessment",
                                   "item__question_version__question", "answered_by").order_by(*order)


def regrade_counts(*, course: Course, sections: frozenset[str] | None) -> dict[str, int]:
    rows = (_in_sections(RegradeRequest.objects.filter(item__attempt__assessment__course=course), course, sections)
            .order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    counts = dict(rows)
    return {status: int(counts.get(status, 0)) for status in RegradeRequestStatus.values}


def request_events(*, request: RegradeRequest) -> list[RegradeRequestEvent]:
    return list(request.events.select_related("actor").order_by("created_at", "id"))


def score_log(*, assessment: Assessment, sections: frozenset[str] | None = None) -> QuerySet[ScoreChange]:
    """Every score change of the assessment's items, oldest first (one query)."""
    changes = ScoreChange.objects.filter(item__attempt__assessment=assessment)
    if sections is not None:
        changes = changes.filter(item__attempt__user__enrollments__course_id=assessment.course_id,
                                 item__attempt__user__enrollments__section__in=sections)
    return (changes.select_related("item__attempt__user", "item__question_version__question", "changed_by")
            .annotate(max_points=F("item__max_points")).order_by("created_at", "id"))


@dataclass(frozen=True)
class RegradableQuestion:
    """A question of the assessment's submitted attempts answered at versions that are not its current one."""

    question_id: int
    bank_id: str
    current: QuestionVersion
    old_versions: list[tuple[QuestionVersion, int]]  # (version, items at it)


def regradable_questions(*, assessment: Assessment) -> list[RegradableQuestion]:
    """The assessment's questions (essays aside) whose submitted items used an earlier version (two queries)."""
    rows = (AttemptItem.objects.filter(attempt__assessment=assessment)
            .exclude(attempt__status=AttemptStatus.IN_PROGRESS)
            .exclude(question_version__question__type=QuestionType.ESSAY)
            .exclude(question_version_id=F("question_version__question__current_version_id"))
            .order_by().values("question_version_id").annotate(n=Count("id")).values_list("question_version_id", "n"))
    counts = dict(rows)
    versions = (QuestionVersion.objects.filter(id__in=counts)
                .select_related("question__current_version").order_by("question__bank_id", "number"))
    found: dict[int, RegradableQuestion] = {}
    for version in versions:
        question = version.question
        if question.current_version is None:
            continue
        entry = found.setdefault(question.id, RegradableQuestion(question.id, question.bank_id,
                                                                 question.current_version, []))
        entry.old_versions.append((version, counts[version.id]))
    return list(found.values())


def regrade_jobs(*, assessment: Assessment) -> list[RegradeJob]:
    return list(RegradeJob.objects.filter(assessment=assessment).select_related("question", "to_version", "created_by")
                .order_by("-created_at", "-id")[:20])
