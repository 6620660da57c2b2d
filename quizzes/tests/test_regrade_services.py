"""Regrade requests and class-wide regrades, by their services (quizzes.services.regrades)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from accounts.models import Role, TeachingSection
from accounts.tests.factories import make_course, make_member
from quizzes.access import assessment_get_for_instructor, regrade_request_get_for_staff
from quizzes.models import (
    AttemptItem,
    RegradeJob,
    RegradeJobItem,
    RegradeJobStatus,
    RegradeRequestEvent,
    RegradeRequestStatus,
    ScoreChange,
    ScoreChangeKind,
)
from quizzes.regrade_selectors import attempt_regrades, regradable_questions, regrade_queue, score_log
from quizzes.services import regrades
from quizzes.services.regrades import (
    RegradeAlreadyOpen,
    RegradeError,
    RegradeWindowClosed,
    class_regrade_preview,
    class_regrade_run,
    class_regrade_score,
    class_regrade_start,
    course_regrade_window_set,
    regrade_jobs_resume,
    regrade_request_answer,
    regrade_request_create,
)
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.regrade_world import ESSAY, build, correct_the_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    load_shipped_bank()
    return make_course("dlcv")


@pytest.fixture
def world(course):
    return build(course)


@pytest.fixture
def no_broker(monkeypatch):
    """Jobs are run here by calling the service; what would be sent is recorded."""
    sent: list[int] = []
    monkeypatch.setattr(regrades, "_send", sent.append)
    return sent


# --------------------------------------------------------------------------- requests


def test_a_student_asks_and_staff_answer_with_a_new_score(world) -> None:
    student, item = world.students[2], world.item(2)
    assert item.score == 0
    request = regrade_request_create(item_id=item.pk, student=student, reason="Choice C is also defensible.")
    assert request.status == RegradeRequestStatus.OPEN
    answered = regrade_request_answer(request_id=request.pk, staff=world.instructor, message="Agreed, half credit.",
                                      points=Decimal("0.5"))
    item.refresh_from_db()
    assert answered.status == RegradeRequestStatus.ANSWERED and item.score == Decimal("0.5")
    change = ScoreChange.objects.get(item=item, kind=ScoreChangeKind.REGRADE_REQUEST)
    assert (change.old_score, change.new_score, change.changed_by, change.reason) == (
        Decimal("0"), Decimal("0.5"), world.instructor, "Agreed, half credit.")
    assert answered.score_change == change
    item.attempt.refresh_from_db()
    assert item.attempt.points == Decimal("0.5")  # the essay is still to be graded by hand
    events = list(RegradeRequestEvent.objects.filter(request=request).values_list("kind", "actor", "old_score",
                                                                                 "new_score"))
    assert events == [("opened", student.pk, None, None), ("answered", world.instructor.pk, Decimal("0"),
                                                           Decimal("0.5"))]


def test_an_answer_may_keep_the_score(world) -> None:
    item = world.item(0)
    request = regrade_request_create(item_id=item.pk, student=world.students[0], reason="Please check.")
    regrade_request_answer(request_id=request.pk, staff=world.instructor, message="It is right as graded.", points=None)
    item.refresh_from_db()
    assert item.score == 1 and not ScoreChange.objects.filter(item=item).exists()
    with pytest.raises(RegradeError):  # answered once
        regrade_request_answer(request_id=request.pk, staff=world.instructor, message="again", points=Decimal(0))


def test_one_open_request_per_item_then_another_after_the_answer(world) -> None:
    item, student = world.item(1), world.students[1]
    first = regrade_request_create(item_id=item.pk, student=student, reason="one")
    with pytest.raises(RegradeAlreadyOpen):
        regrade_request_create(item_id=item.pk, student=student, reason="two")
    regrade_request_answer(request_id=first.pk, staff=world.instructor, message="No.", points=None)
    assert regrade_request_create(item_id=item.pk, student=student, reason="three").pk != first.pk


def test_requests_need_a_released_result_a_reason_of_bounded_length_and_the_window(course, world) -> None:
    item, student = world.item(0), world.students[0]
    with pytest.raises(RegradeError):
        regrade_request_create(item_id=item.pk, student=student, reason="   ")
    with pytest.raises(RegradeError):
        regrade_request_create(item_id=item.pk, student=student, reason="x" * (regrades.REASON_MAX_CHARS + 1))
    released = world.exam.results_released_at
    with pytest.raises(RegradeWindowClosed):  # the default window: 7 days
        regrade_request_create(item_id=item.pk, student=student, reason="late", now=released + timedelta(days=7))
    regrade_request_create(item_id=item.pk, student=student, reason="in time",
                           now=released + timedelta(days=6, hours=23))
    course_regrade_window_set(course=course, days=2)
    other = world.item(1)
    with pytest.raises(RegradeWindowClosed):
        regrade_request_create(item_id=other.pk, student=world.students[1], reason="late",
                               now=released + timedelta(days=2, seconds=1))
    with pytest.raises(RegradeError):
        course_regrade_window_set(course=course, days=-1)
    with pytest.raises(RegradeWindowClosed):  # before the release
        regrade_request_create(item_id=other.pk, student=world.students[1], reason="early",
                               now=released - timedelta(seconds=1))


def test_a_student_cannot_ask_about_another_students_item(world) -> None:
    with pytest.raises(RegradeError) as refused:
        regrade_request_create(item_id=world.item(0).pk, student=world.students[1], reason="mine?")
    assert refused.value.code == "not_found"


def test_staff_answers_are_checked(world) -> None:
    request = regrade_request_create(item_id=world.item(2).pk, student=world.students[2], reason="why")
    with pytest.raises(RegradeError):
        regrade_request_answer(request_id=request.pk, staff=world.instructor, message="", points=None)
    with pytest.raises(RegradeError):
        regrade_request_answer(request_id=request.pk, staff=world.instructor, message="too many",
                               points=Decimal("1.5"))


def test_ta_limited_to_sections_sees_only_their_students_requests(course, world) -> None:
    ta = make_member(course, Role.TA)
    TeachingSection.objects.create(course=course, user=ta, section="B")
    in_a = regrade_request_create(item_id=world.item(0).pk, student=world.students[0], reason="a")
    in_b = regrade_request_create(item_id=world.item(1).pk, student=world.students[1], reason="b")
    assert list(regrade_queue(course=course, sections=frozenset({"B"}), status="open")) == [in_b]
    assert list(regrade_queue(course=course, sections=None, status="open")) == [in_a, in_b]
    assert regrade_request_get_for_staff(user=ta, course_slug=course.slug, request_id=in_b.pk)[1] == in_b
    with pytest.raises(Http404):
        regrade_request_get_for_staff(user=ta, course_slug=course.slug, request_id=in_a.pk)
    with pytest.raises(PermissionDenied):  # a student never opens the staff's view of a request
        regrade_request_get_for_staff(user=world.students[0], course_slug=course.slug, request_id=in_a.pk)
    with pytest.raises(PermissionDenied):  # class regrades: instructors only
        assessment_get_for_instructor(user=ta, course_slug=course.slug, assessment_id=world.exam.pk)
    outsider = make_member(make_course("other"), Role.INSTRUCTOR)
    with pytest.raises(Http404):
        regrade_request_get_for_staff(user=outsider, course_slug=course.slug, request_id=in_a.pk)


def test_a_students_results_notes_hold_only_their_own_requests(world) -> None:
    mine = regrade_request_create(item_id=world.item(0).pk, student=world.students[0], reason="mine")
    regrade_request_create(item_id=world.item(1).pk, student=world.students[1], reason="theirs")
    notes = attempt_regrades(attempt=world.attempts[0])
    assert [r.pk for n in notes.values() for r in n.requests] == [mine.pk]


# --------------------------------------------------------------------------- class-wide regrade


def test_the_rule_never_lowers_a_released_score_unless_allowed() -> None:
    one, zero = Decimal(1), Decimal(0)
    assert class_regrade_score(old=one, graded=zero, released=True, allow_lower=False) == one
    assert class_regrade_score(old=one, graded=zero, released=True, allow_lower=True) == zero
    assert class_regrade_score(old=one, graded=zero, released=False, allow_lower=False) == zero
    assert class_regrade_score(old=zero, graded=one, released=True, allow_lower=False) == one


def test_preview_shows_each_students_old_and_new_points(world) -> None:
    new = correct_the_key(world)
    assert new.pk != world.old_version.pk
    [found] = regradable_questions(assessment=world.exam)
    assert found.bank_id == world.question.bank_id and [(v.pk, n) for v, n in found.old_versions] == [
        (world.old_version.pk, 3)]
    preview = class_regrade_preview(assessment=world.exam, question=world.question,
                                    from_version_ids=[world.old_version.pk], allow_lower=False)
    by_student = {row.student: (row.old_points, row.graded_points, row.new_points) for row in preview.rows}
    names = [s.username for s in world.students]
    assert by_student == {names[0]: (1, 0, 1), names[1]: (0, 1, 1), names[2]: (0, 0, 0)}
    assert (preview.up, preview.down, preview.unchanged, preview.kept) == (1, 0, 2, 1)
    lowering = class_regrade_preview(assessment=world.exam, question=world.question,
                                     from_version_ids=[world.old_version.pk], allow_lower=True)
    assert (lowering.up, lowering.down, lowering.unchanged, lowering.kept) == (1, 1, 1, 0)
    assert not RegradeJob.objects.exists() and not ScoreChange.objects.exists()  # a preview writes nothing


def test_apply_raises_keeps_released_scores_and_is_idempotent(world, no_broker,
                                                              django_capture_on_commit_callbacks) -> None:
    new = correct_the_key(world)
    with django_capture_on_commit_callbacks(execute=True):
        job = class_regrade_start(assessment=world.exam, question=world.question,
                                  from_version_ids=[world.old_version.pk], allow_lower=False, by=world.instructor)
    assert no_broker == [job.pk] and job.total == 3
    assert class_regrade_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.processed, job.raised, job.lowered, job.unchanged) == (RegradeJobStatus.DONE, 3, 1, 0, 2)
    scores = [world.item(i).score for i in range(3)]
    assert scores == [1, 1, 0]
    raised = world.item(1)
    assert raised.question_version_id == new.pk and raised.feedback["score"] == 1
    assert world.item(0).question_version_id == world.old_version.pk  # kept as it was
    change = ScoreChange.objects.get(kind=ScoreChangeKind.CLASS_REGRADE)
    assert (change.item_id, change.old_score, change.new_score, change.changed_by) == (
        raised.pk, Decimal(0), Decimal(1), world.instructor)
    world.attempts[1].refresh_from_db()
    assert world.attempts[1].points == 1
    # A run again (a message delivered twice, a worker killed after its commit) applies nothing twice.
    RegradeJob.objects.filter(pk=job.pk).update(status=RegradeJobStatus.RUNNING)
    assert class_regrade_run(job_id=job.pk) is False
    assert ScoreChange.objects.filter(kind=ScoreChangeKind.CLASS_REGRADE).count() == 1
    job.refresh_from_db()
    assert (job.processed, job.raised) == (3, 1)


def test_allowed_lowering_lowers_and_logs(world, no_broker) -> None:
    correct_the_key(world)
    job = class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                              allow_lower=True, by=world.instructor)
    class_regrade_run(job_id=job.pk)
    assert [world.item(i).score for i in range(3)] == [0, 1, 0]
    lowered = ScoreChange.objects.get(item=world.item(0), kind=ScoreChangeKind.CLASS_REGRADE)
    assert (lowered.old_score, lowered.new_score) == (Decimal(1), Decimal(0))
    assert [c.item_id for c in score_log(assessment=world.exam)] == [world.item(0).pk, world.item(1).pk]


def test_a_run_cut_short_resumes_where_it_stopped(world, no_broker) -> None:
    correct_the_key(world)
    job = class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                              allow_lower=False, by=world.instructor)
    assert class_regrade_run(job_id=job.pk, budget_seconds=-1) is True  # stopped before any item
    job.refresh_from_db()
    assert (job.status, job.processed) == (RegradeJobStatus.RUNNING, 0)
    RegradeJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert regrade_jobs_resume() == 1 and no_broker[-1] == job.pk
    assert class_regrade_run(job_id=job.pk) is False
    assert RegradeJobItem.objects.filter(job=job, applied_at__isnull=True).count() == 0


def test_essays_are_never_regraded_and_jobs_do_not_overlap(world, no_broker) -> None:
    essay_question = world.item(0, ESSAY).question_version.question
    with pytest.raises(RegradeError):
        class_regrade_preview(assessment=world.exam, question=essay_question,
                              from_version_ids=[world.item(0, ESSAY).question_version_id], allow_lower=False)
    correct_the_key(world)
    class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                        allow_lower=False, by=world.instructor)
    with pytest.raises(RegradeError):
        class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                            allow_lower=False, by=world.instructor)
    with pytest.raises(RegradeError):  # the current version is not an "old" one
        class_regrade_preview(assessment=world.exam, question=world.question,
                              from_version_ids=[type(world.question).objects.get(pk=world.question.pk).current_version_id],
                              allow_lower=False)
    assert not AttemptItem.objects.filter(question_version__question=essay_question, score_changes__isnull=False).exists()


def test_an_answer_the_grader_fails_on_keeps_its_score_and_the_job_finishes(world, no_broker, monkeypatch) -> None:
    correct_the_key(world)
    job = class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                              allow_lower=True, by=world.instructor)
    broken = world.item(0).pk
    real = regrades._grade_against

    def grade(item, version, qtype):  # type: ignore[no-untyped-def]
        if item.pk == broken:
            raise ValueError("a grader bug")
        return real(item, version, qtype)

    monkeypatch.setattr(regrades, "_grade_against", grade)
    assert class_regrade_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.processed, job.raised, job.lowered, job.unchanged) == (RegradeJobStatus.DONE, 3, 1, 0, 2)
    assert world.item(0).score == 1 and not ScoreChange.objects.filter(item_id=broken).exists()
