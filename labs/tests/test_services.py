"""Lab submission rules and grading, through the services (the worker is not needed here)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from accounts.tests.factories import make_member
from grader.problems import get_family
from grader.results import GradingResult
from labs import services
from labs.models import LabKind, LabPart, Submission, SubmissionStatus
from labs.services import (
    SubmissionInvalid,
    SubmissionRefused,
    grading,
    lab_part_params,
    lab_regrade,
    lab_regrade_progress,
    lab_variant_seed,
    queue,
    regrade,
    submission_create,
    submission_grade,
    submissions_requeue_stuck,
)
from labs.services import submissions as submission_services
from labs.tests.factories import first_misconception, lab_answers, make_lab

DECLINING = {"mode": "declining", "points": [1.0, 0.8, 0.6]}


@pytest.fixture
def enqueued(monkeypatch) -> list[list[int]]:
    """Record what would be sent to the broker instead of sending it."""
    sent: list[list[int]] = []
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids, kind="numeric": sent.append(list(ids)))
    return sent


def submit_and_grade(lab, user, **kwargs: Any) -> Submission:
    submission = submission_create(user=user, lab=lab, answers=kwargs.pop("answers", None) or lab_answers(lab, user),
                                   **kwargs).submission
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    return submission


# --------------------------------------------------------------------------- variants


@pytest.mark.django_db
def test_variant_seed_is_stable_per_student_and_differs_between_students(course, student) -> None:
    lab = make_lab(course)
    other = make_member(course)
    seed = lab_variant_seed(lab_id=lab.pk, user_id=student.pk)
    assert seed == lab_variant_seed(lab_id=lab.pk, user_id=student.pk)
    assert seed != lab_variant_seed(lab_id=lab.pk, user_id=other.pk)
    part = lab.parts.get(key="conv")
    assert lab_part_params(part=part, seed=seed) == lab_part_params(part=part, seed=seed)
    assert lab_part_params(part=part, seed=seed) != lab_part_params(part=part, seed=lab_variant_seed(lab_id=lab.pk, user_id=other.pk))


@pytest.mark.django_db
def test_parts_of_the_same_family_get_different_variants(course, student) -> None:
    lab = make_lab(course, parts=[("a", "conv-cost", {"kind": "grouped"}, 1), ("b", "conv-cost", {"kind": "grouped"}, 1)])
    seed = lab_variant_seed(lab_id=lab.pk, user_id=student.pk)
    a, b = lab.parts.all()
    assert lab_part_params(part=a, seed=seed) != lab_part_params(part=b, seed=seed)


# --------------------------------------------------------------------------- create


@pytest.mark.django_db
def test_format_error_is_invalid_writes_nothing_and_costs_no_attempt(course, student) -> None:
    lab = make_lab(course, attempts_policy={"mode": "declining", "points": [1.0]})
    answers = lab_answers(lab, student)
    for _ in range(3):
        with pytest.raises(SubmissionInvalid) as caught:
            submission_create(user=student, lab=lab, answers={**answers, "conv": {**answers["conv"], "output": "1 2\n3"}})
        assert set(caught.value.errors) == {"conv"} and "output" in caught.value.errors["conv"]
        assert caught.value.code == "invalid"
    assert not Submission.objects.exists()
    submission = submit_and_grade(lab, student)
    assert submission.number == 1 and submission.status == SubmissionStatus.GRADED
    assert submission.points == Decimal("5.0000") and submission.score == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answers", "bad_key"),
    [
        ("unknown-key", "nope"),
        ("missing-part", "cost"),
        ("not-a-mapping", "_answers"),
        ("part-not-a-mapping", "cost"),
    ],
)
def test_unreadable_answers_are_invalid(course, student, answers: str, bad_key: str) -> None:
    lab = make_lab(course)
    good = lab_answers(lab, student)
    raw: Any = {
        "unknown-key": {**good, "nope": {"x": "1"}},
        "missing-part": {"conv": good["conv"]},
        "not-a-mapping": ["1", "2"],
        "part-not-a-mapping": {**good, "cost": "12"},
    }[answers]
    with pytest.raises(SubmissionInvalid) as caught:
        submission_create(user=student, lab=lab, answers=raw, lang="en")
    assert bad_key in caught.value.errors
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_declining_points_then_refused(course, student) -> None:
    lab = make_lab(course, attempts_policy=DECLINING)
    points = [submit_and_grade(lab, student).points for _ in range(3)]
    assert points == [Decimal("5.0000"), Decimal("4.0000"), Decimal("3.0000")]
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(user=student, lab=lab, answers=lab_answers(lab, student))
    assert caught.value.code == "attempts_exhausted"
    # A malformed answer once the attempts are used up: the refusal is said first, not the format.
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(user=student, lab=lab, answers={"conv": ["not", "a", "mapping"]})
    assert caught.value.code == "attempts_exhausted"
    assert Submission.objects.count() == 3
    # Another student's attempts are their own.
    assert submit_and_grade(lab, make_member(course)).points == Decimal("5.0000")


@pytest.mark.django_db
def test_a_failed_grading_costs_no_attempt(course, student, monkeypatch) -> None:
    lab = make_lab(course, attempts_policy={"mode": "declining", "points": [1.0, 0.5]})
    family = get_family("conv-cost")
    original = type(family).grade

    def broken(self, params, response):  # a grader bug
        raise ZeroDivisionError("division by zero in the grader")

    monkeypatch.setattr(type(family), "grade", broken)
    failed = submit_and_grade(lab, student)
    assert failed.status == SubmissionStatus.FAILED and "ZeroDivisionError" in failed.error
    assert failed.points is None and failed.score is None and failed.result_writes == 1
    monkeypatch.setattr(type(family), "grade", original)
    first, second = submit_and_grade(lab, student), submit_and_grade(lab, student)
    assert (first.number, second.number) == (2, 3)
    assert first.points == Decimal("5.0000") and first.result["policy"]["attempt"] == 1
    assert second.points == Decimal("2.5000") and second.result["policy"]["attempt"] == 2
    with pytest.raises(SubmissionRefused):  # two counted submissions: the failed one is not one
        submission_create(user=student, lab=lab, answers=lab_answers(lab, student))


@pytest.mark.django_db
def test_late_penalty_per_started_day(course, student) -> None:
    now = timezone.now()
    lab = make_lab(course, due_at=now - timedelta(days=1, hours=2), late_policy={"penalty_per_day": 0.1, "max_late_days": 3})
    submission = submit_and_grade(lab, student, now=now)
    assert submission.late_days == 2
    assert submission.score == 1 and submission.points == Decimal("4.0000")
    assert submission.result["policy"]["late_factor"] == pytest.approx(0.8)


@pytest.mark.django_db
def test_late_penalty_and_declining_points_multiply(course, student) -> None:
    now = timezone.now()
    lab = make_lab(course, due_at=now - timedelta(hours=1), attempts_policy=DECLINING,
                   late_policy={"penalty_per_day": 0.25, "max_late_days": 2})
    submit_and_grade(lab, student, now=now)
    assert submit_and_grade(lab, student, now=now).points == Decimal("3.0000")  # 5 × 0.8 × 0.75


@pytest.mark.django_db
@pytest.mark.parametrize("late_policy", [{}, {"penalty_per_day": 0.1, "max_late_days": 2}])
def test_closed_after_the_due_date(course, student, late_policy: dict[str, Any]) -> None:
    now = timezone.now()
    lab = make_lab(course, due_at=now - timedelta(days=2, minutes=1), late_policy=late_policy)
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(user=student, lab=lab, answers=lab_answers(lab, student), now=now)
    assert caught.value.code == "closed"
    assert not Submission.objects.exists()
    # Before the due date it is open.
    assert submission_create(user=student, lab=lab, answers=lab_answers(lab, student),
                             now=lab.due_at - timedelta(minutes=1)).created


@pytest.mark.django_db
def test_a_code_lab_without_a_grader_spec_is_refused(course, student) -> None:
    lab = make_lab(course, kind=LabKind.CODE)  # no codelab named
    with pytest.raises(SubmissionRefused) as caught:
        submission_create(user=student, lab=lab, source_code="x = 1\n")
    assert caught.value.code == "unsupported"


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_first_submission(course, student) -> None:
    lab = make_lab(course, attempts_policy=DECLINING)
    first = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), idempotency_key="k-1")
    again = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), idempotency_key="k-1")
    assert first.created and not again.created
    assert again.submission.pk == first.submission.pk
    other = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), idempotency_key="k-2")
    assert other.created and other.submission.number == 2


@pytest.mark.django_db
def test_a_key_inserted_by_a_racing_writer_is_caught_by_the_constraint(course, student, monkeypatch) -> None:
    """The unique constraint backs the lock: an IntegrityError on the key returns the winner's row."""
    lab = make_lab(course)
    winner = Submission.objects.create(lab=lab, user=student, number=1, idempotency_key="k",
                                       answers=lab_answers(lab, student))  # the same body, sent twice
    real = submission_services._existing
    calls = {"n": 0}

    def blind_twice(lab, user, key):  # the racing writer's row is not visible yet
        calls["n"] += 1
        return None if calls["n"] <= 2 else real(lab, user, key)

    monkeypatch.setattr(submission_services, "_existing", blind_twice)
    result = submission_create(user=student, lab=lab, answers=lab_answers(lab, student), idempotency_key="k")
    assert not result.created and result.submission.pk == winner.pk
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_grading_is_enqueued_on_commit_with_the_id_only(course, student, monkeypatch, django_capture_on_commit_callbacks) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(queue.current_app, "send_task", lambda *a, **kw: calls.append((a, kw)))
    lab = make_lab(course)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
        assert calls == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    assert calls == [(("grader.grade_numeric_submission",), {"args": [submission.pk], "queue": "numeric"})]
    assert submission.enqueued_at is not None and submission.status == SubmissionStatus.QUEUED


@pytest.mark.django_db
def test_a_broker_failure_keeps_the_submission_for_the_sweeper(course, student, monkeypatch,
                                                               django_capture_on_commit_callbacks) -> None:
    from kombu.exceptions import OperationalError as BrokerDown

    def down(*args: Any, **kwargs: Any) -> None:
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(queue.current_app, "send_task", down)
    lab = make_lab(course)
    with django_capture_on_commit_callbacks(execute=True):
        result = submission_create(user=student, lab=lab, answers=lab_answers(lab, student))
    assert result.created and Submission.objects.get().status == SubmissionStatus.QUEUED


# --------------------------------------------------------------------------- grading


@pytest.mark.django_db
def test_result_has_per_part_scores_feedback_tags_and_cells(course, student) -> None:
    lab = make_lab(course)
    conv = lab.parts.get(key="conv")
    tag = first_misconception(conv, student)
    submission = submit_and_grade(lab, student, answers=lab_answers(lab, student, wrong={"conv": tag}))
    result = submission.result
    conv_result, cost_result = result["parts"]
    assert cost_result["score"] == 1 and cost_result["points"] == 2 and cost_result["correct"] is True
    assert conv_result["score"] < 1 and conv_result["max_points"] == 3
    assert tag in conv_result["misconceptions"] and tag in result["misconceptions"]
    assert conv_result["message"]["en"] and conv_result["message"]["zh-Hant"]  # stored in every language
    output = next(item for item in conv_result["parts"] if item["name"] == "output")
    assert "cells" in output and "expected" not in output  # per-cell results, no answer revealed
    assert float(submission.score) == pytest.approx((conv_result["points"] + 2) / 5, abs=1e-4)
    assert (submission.grading_runs, submission.result_writes) == (1, 1)
    assert submission.started_at <= submission.finished_at


@pytest.mark.django_db
def test_grading_twice_grades_once(course, student) -> None:
    from labs.tasks import grade_numeric_submission

    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    grade_numeric_submission.apply(args=[submission.pk]).get()
    first = Submission.objects.get(pk=submission.pk)
    grade_numeric_submission.apply(args=[submission.pk]).get()
    second = Submission.objects.get(pk=submission.pk)
    assert (second.grading_runs, second.result_writes, second.status) == (1, 1, SubmissionStatus.GRADED)
    assert second.finished_at == first.finished_at


@pytest.mark.django_db
def test_a_stale_running_row_is_reclaimed_but_a_fresh_one_is_not(course, student) -> None:
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING, started_at=timezone.now(),
                                                       grading_runs=1)
    submission_grade(submission_id=submission.pk)
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.RUNNING
    Submission.objects.filter(pk=submission.pk).update(started_at=timezone.now() - services.STALE_RUNNING_AFTER * 2)
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.grading_runs, submission.result_writes) == (SubmissionStatus.GRADED, 2, 1)


@pytest.mark.django_db
def test_a_worker_that_lost_its_claim_does_not_overwrite_the_newer_result(course, student, monkeypatch) -> None:
    """Worker A is presumed dead; the sweeper hands the row to worker B, which grades it. When A
    finally finishes, its write does not apply."""
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    real_grade = grading._grade
    calls = {"n": 0}

    def slow_worker_a(*args: Any) -> GradingResult:
        calls["n"] += 1
        if calls["n"] == 1:  # while A is still grading: the sweeper and worker B
            assert submissions_requeue_stuck(older_than=timedelta(0)) == 1
            submission_grade(submission_id=submission.pk)
            return replace(real_grade(*args), score=0.0247)  # A's (different) result must be discarded
        return real_grade(*args)

    monkeypatch.setattr(grading, "_grade", slow_worker_a)
    monkeypatch.setattr(queue, "enqueue_gradings", lambda ids: None)
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.grading_runs, submission.result_writes) == (SubmissionStatus.GRADED, 2, 1)
    assert submission.points == Decimal("5.0000")


@pytest.mark.django_db
def test_a_database_error_hands_the_row_back_for_the_retry(course, student, monkeypatch) -> None:
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission

    def lost_connection(*args: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(grading, "_grade", lost_connection)
    with pytest.raises(OperationalError):
        submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.claim_token, submission.result_writes) == (SubmissionStatus.QUEUED, None, 0)
    monkeypatch.undo()
    submission_grade(submission_id=submission.pk)  # the retry
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.GRADED


@pytest.mark.django_db
def test_the_soft_time_limit_marks_the_submission_failed(course, student, monkeypatch) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission

    def too_slow(*args: Any) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(grading, "_grade", too_slow)
    submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED and "SoftTimeLimitExceeded" in submission.error


@pytest.mark.django_db
def test_on_postgresql_the_claim_and_the_result_are_one_statement_each(postgres_required, course, student,
                                                                       django_assert_num_queries) -> None:
    lab = make_lab(course, attempts_policy=DECLINING)
    submit_and_grade(lab, student)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    with django_assert_num_queries(2) as captured:
        submission_grade(submission_id=submission.pk)
    claim, write = (query["sql"] for query in captured.captured_queries)
    assert claim.startswith("UPDATE") and "RETURNING" in claim and "synchronous_commit" in claim
    assert write.startswith("UPDATE") and "synchronous_commit" in write
    submission.refresh_from_db()
    assert (submission.status, submission.result["policy"]["attempt"], submission.points) == (
        SubmissionStatus.GRADED, 2, Decimal("4.0000"))


@pytest.mark.django_db
def test_grading_uses_the_parts_as_they_are_now(course, student) -> None:
    """The worker memoizes a lab's parts on their content: an edited part is never graded stale."""
    lab = make_lab(course)
    first = submit_and_grade(lab, student)
    assert [p["max_points"] for p in first.result["parts"]] == [3, 2] and first.points == Decimal("5.0000")
    LabPart.objects.filter(lab=lab, key="cost").update(points=Decimal("4.5"), title="Cost, again")
    second = submit_and_grade(lab, student)
    cost = second.result["parts"][1]
    assert (cost["max_points"], cost["label"], second.points) == (4.5, "Cost, again", Decimal("7.5000"))


# --------------------------------------------------------------------------- sweeper and regrades


@pytest.mark.django_db
def test_sweeper_requeues_old_queued_and_stale_running_rows_only(course, student, enqueued,
                                                                 django_capture_on_commit_callbacks) -> None:
    lab = make_lab(course)
    rows = [submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission for _ in range(4)]
    enqueued.clear()
    old = timezone.now() - timedelta(minutes=10)
    Submission.objects.filter(pk=rows[0].pk).update(enqueued_at=old)  # the broker lost it
    Submission.objects.filter(pk=rows[1].pk).update(status=SubmissionStatus.RUNNING, started_at=old, grading_runs=1)
    Submission.objects.filter(pk=rows[2].pk).update(status=SubmissionStatus.RUNNING, started_at=timezone.now(),
                                                    grading_runs=1)
    # rows[3]: queued just now, its message is (presumably) still in the queue
    with django_capture_on_commit_callbacks(execute=True):
        assert submissions_requeue_stuck(older_than=timedelta(minutes=5)) == 2
        assert enqueued == []  # sent on commit only
    assert enqueued == [[rows[0].pk, rows[1].pk]]
    statuses = dict(Submission.objects.values_list("pk", "status"))
    assert statuses == {rows[0].pk: "queued", rows[1].pk: "queued", rows[2].pk: "running", rows[3].pk: "queued"}
    assert Submission.objects.get(pk=rows[1].pk).claim_token is None


@pytest.mark.django_db
def test_sweeper_gives_up_on_a_submission_that_keeps_losing_its_worker(course, student, enqueued) -> None:
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    old = timezone.now() - timedelta(minutes=10)
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING, started_at=old,
                                                       grading_runs=regrade.MAX_LOST_RUNS)
    assert submissions_requeue_stuck(older_than=timedelta(minutes=5)) == 0
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED and "abandoned" in submission.error


@pytest.mark.django_db
def test_regrade_requeues_graded_and_failed_submissions_as_one_group(course, student, monkeypatch,
                                                                    django_capture_on_commit_callbacks) -> None:
    lab = make_lab(course)
    graded = [submit_and_grade(lab, make_member(course)) for _ in range(2)]
    failed = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    Submission.objects.filter(pk=failed.pk).update(status=SubmissionStatus.FAILED, error="bug")
    late_student = make_member(course)
    queued = submission_create(user=late_student, lab=lab, answers=lab_answers(lab, late_student)).submission
    other_lab = make_lab(course)
    untouched = submit_and_grade(other_lab, student)
    sent: list[Any] = []
    monkeypatch.setattr(queue, "enqueue_regrade_group", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        group_id = lab_regrade(lab=lab)
    uuid.UUID(group_id)
    ((ids, kind, sent_group_id),) = sent
    assert sent_group_id == group_id and kind == "numeric"
    assert sorted(ids) == sorted([g.pk for g in graded] + [failed.pk])
    assert lab_regrade_progress(lab=lab) == {"total": 4, "done": 0, "pending": 4, "queued": 4, "running": 0,
                                             "graded": 0, "failed": 0}
    assert Submission.objects.get(pk=untouched.pk).status == SubmissionStatus.GRADED
    for pk in [*(g.pk for g in graded), failed.pk, queued.pk]:
        submission_grade(submission_id=pk)
    assert lab_regrade_progress(lab=lab)["done"] == 4
    assert Submission.objects.get(pk=graded[0].pk).result_writes == 2


# --------------------------------------------------------------------------- concurrency (PostgreSQL)


def run_concurrently(target: Callable[[], Any], n: int = 4) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_one_submission(postgres_required, course, student, enqueued) -> None:
    lab = make_lab(course, attempts_policy=DECLINING)
    answers = lab_answers(lab, student)
    results, errors = run_concurrently(
        lambda: submission_create(user=student, lab=lab, answers=answers, idempotency_key="retry-me")
    )
    assert errors == []
    assert len({r.submission.pk for r in results}) == 1 and sorted(r.created for r in results) == [False] * 3 + [True]
    assert Submission.objects.count() == 1 and enqueued == [[results[0].submission.pk]]


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_respect_the_attempts_limit(postgres_required, course, student, enqueued) -> None:
    lab = make_lab(course, attempts_policy={"mode": "declining", "points": [1.0, 0.5]})
    answers = lab_answers(lab, student)
    results, errors = run_concurrently(lambda: submission_create(user=student, lab=lab, answers=answers))
    assert len(results) == 2 and len(errors) == 2
    assert all(isinstance(e, SubmissionRefused) and e.code == "attempts_exhausted" for e in errors)
    assert sorted(Submission.objects.values_list("number", flat=True)) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_concurrent_gradings_of_one_submission_grade_once(postgres_required, course, student, enqueued) -> None:
    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    _results, errors = run_concurrently(lambda: submission_grade(submission_id=submission.pk))
    assert errors == []
    submission.refresh_from_db()
    assert (submission.status, submission.grading_runs, submission.result_writes) == (SubmissionStatus.GRADED, 1, 1)
