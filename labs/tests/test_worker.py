"""Numeric labs graded by real Celery workers: end to end, and when things go wrong.

Reliability tests run their own workers on a private queue (``labs.services.queue.NUMERIC_QUEUE`` is
pointed at it), so the session worker never takes their messages and they can be killed freely.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings

from accounts.tests.factories import make_member
from labs.models import Submission, SubmissionStatus
from labs.services import queue as grading_queue
from labs.services import submission_create, submissions_requeue_stuck
from labs.tests.factories import first_misconception, lab_answers, make_lab
from labs.tests.workers import kill_worker, private_queue, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

GRADED_WITHIN = 30.0


@pytest.fixture
def queue(monkeypatch, redis_required) -> Iterator[str]:
    """A private grading queue for this test's own workers."""
    name = private_queue("labs")
    monkeypatch.setattr(grading_queue, "NUMERIC_QUEUE", name)
    yield name
    redis.Redis.from_url(settings.REDIS_URL).delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


def graded(*ids: int) -> bool:
    return Submission.objects.filter(pk__in=ids, status=SubmissionStatus.GRADED).count() == len(ids)


def test_end_to_end_graded_by_the_worker(celery_worker_process, course, student) -> None:
    lab = make_lab(course)
    conv = lab.parts.get(key="conv")
    tag = first_misconception(conv, student)
    answers = lab_answers(lab, student, wrong={"conv": tag})
    submission = submission_create(user=student, lab=lab, answers=answers).submission
    wait_for(lambda: graded(submission.pk), timeout=GRADED_WITHIN, what="the worker to grade the submission")
    submission.refresh_from_db()
    conv_result, cost_result = submission.result["parts"]
    assert cost_result["name"] == "cost" and cost_result["score"] == 1 and cost_result["points"] == 2
    assert conv_result["name"] == "conv" and conv_result["score"] < 1
    assert tag in conv_result["misconceptions"] and tag in submission.result["misconceptions"]
    assert 0 < submission.score < 1
    assert float(submission.points) == pytest.approx(float(submission.score) * 5, abs=1e-3)
    assert (submission.grading_runs, submission.result_writes) == (1, 1)
    assert submission.created_at <= submission.started_at <= submission.finished_at


def test_a_duplicated_task_message_grades_once(redis_required, celery_worker_process, course, student) -> None:
    from labs.tasks import grade_numeric_submission

    lab = make_lab(course)
    submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
    grade_numeric_submission.apply_async(args=[submission.pk], queue="numeric")  # the duplicate
    wait_for(lambda: graded(submission.pk), timeout=GRADED_WITHIN, what="the grading")
    broker = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: broker.llen("numeric") == 0, timeout=10, what="both messages to be taken")
    time.sleep(1.0)  # let the second one run to completion
    submission.refresh_from_db()
    assert (submission.status, submission.grading_runs, submission.result_writes) == (SubmissionStatus.GRADED, 1, 1)


@pytest.mark.slow
def test_a_worker_killed_while_grading_loses_nothing_and_grades_once(queue, course, student) -> None:
    slow = start_worker(queue, name="slow", env={"GRADER_TEST_SLOW_SECONDS": "5"})
    fresh = None
    try:
        lab = make_lab(course)
        submission = submission_create(user=student, lab=lab, answers=lab_answers(lab, student)).submission
        wait_for(
            lambda: Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.RUNNING).exists(),
            timeout=20, what="the slow worker to claim the submission",
        )
        kill_worker(slow)  # SIGKILL, whole process group, mid-grading
        time.sleep(0.5)
        row = Submission.objects.get(pk=submission.pk)
        assert (row.status, row.grading_runs, row.result_writes) == (SubmissionStatus.RUNNING, 1, 0)
        fresh = start_worker(queue, name="fresh")
        assert submissions_requeue_stuck(older_than=timedelta(seconds=1)) == 1
        wait_for(lambda: graded(submission.pk), timeout=GRADED_WITHIN, what="the new worker to grade it")
        time.sleep(1.0)  # a late redelivery of the killed worker's message must change nothing
        row.refresh_from_db()
        assert row.status == SubmissionStatus.GRADED and row.score == 1
        assert row.grading_runs >= 2 and row.result_writes == 1
    finally:
        kill_worker(slow)
        if fresh is not None:
            stop_worker(fresh)


@pytest.mark.slow
def test_submissions_the_broker_lost_are_sent_again_by_the_sweeper(queue, course) -> None:
    """The broker loses the queued messages, as a Redis restarted without persistence does: the
    queue's list *and* kombu's binding keys are deleted. Only this test's private queue is wiped
    (not FLUSHDB: other test runs may share the Redis database and would lose their messages)."""
    lab = make_lab(course)
    students = [make_member(course) for _ in range(5)]
    ids = [submission_create(user=s, lab=lab, answers=lab_answers(lab, s)).submission.pk for s in students]
    broker = redis.Redis.from_url(settings.REDIS_URL)
    assert broker.llen(queue) == 5  # nobody consumes the private queue yet
    lost = broker.delete(queue, *(key.decode() for key in broker.scan_iter(f"_kombu.binding*.{queue}")))
    assert lost >= 2 and broker.llen(queue) == 0
    worker = start_worker(queue, name="after-loss", concurrency=2)
    try:
        time.sleep(1.0)
        assert Submission.objects.filter(pk__in=ids, status=SubmissionStatus.QUEUED).count() == 5  # nothing came
        assert submissions_requeue_stuck(older_than=timedelta(0)) == 5
        wait_for(lambda: graded(*ids), timeout=GRADED_WITHIN, what="all five submissions to be graded")
        rows = Submission.objects.filter(pk__in=ids)
        assert all(row.result_writes == 1 and row.score == 1 for row in rows)
    finally:
        stop_worker(worker)
