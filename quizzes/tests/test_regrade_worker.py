"""The class regrade applied by real Celery workers: end to end, and a worker killed mid-job.

The kill test runs its own workers on a private queue (``quizzes.services.regrades.REGRADE_QUEUE``
is pointed at it), so the session worker never takes its messages and they can be killed freely.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings

from accounts.tests.factories import make_course
from labs.tests.workers import kill_worker, private_queue, start_worker, stop_worker, wait_for
from quizzes.models import RegradeJob, RegradeJobItem, RegradeJobStatus, ScoreChange, ScoreChangeKind
from quizzes.services import regrades
from quizzes.services.regrades import class_regrade_start, regrade_jobs_resume
from quizzes.tests.factories import load_shipped_bank
from quizzes.tests.regrade_world import build, correct_the_key

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

DONE_WITHIN = 60.0


@pytest.fixture
def world():
    load_shipped_bank()
    return build(make_course("dlcv"), students=6)


@pytest.fixture
def queue(monkeypatch, redis_required) -> Iterator[str]:
    name = private_queue("regrade")
    monkeypatch.setattr(regrades, "REGRADE_QUEUE", name)
    yield name
    redis.Redis.from_url(settings.REDIS_URL).delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


def done(job_id: int) -> bool:
    return RegradeJob.objects.filter(pk=job_id, status=RegradeJobStatus.DONE).exists()


def test_the_worker_applies_a_class_regrade(redis_required, celery_worker_process, world) -> None:
    correct_the_key(world)
    job = class_regrade_start(assessment=world.exam, question=world.question, from_version_ids=[world.old_version.pk],
                              allow_lower=False, by=world.instructor)
    wait_for(lambda: done(job.pk), timeout=DONE_WITHIN, what="the worker to apply the class regrade")
    job.refresh_from_db()
    assert (job.total, job.processed, job.raised, job.lowered, job.unchanged) == (6, 6, 2, 0, 4)
    assert [world.item(i).score for i in range(6)] == [1, 1, 0, 1, 1, 0]  # never lowered without leave


@pytest.mark.slow
def test_a_worker_killed_mid_job_applies_nothing_twice(queue, world) -> None:
    correct_the_key(world)
    slow = start_worker(queue, name="regrade-slow", node="regrade-slow@pytest", env={"GRADER_TEST_SLOW_SECONDS": "1.5"})
    fresh = None
    try:
        job = class_regrade_start(assessment=world.exam, question=world.question,
                                  from_version_ids=[world.old_version.pk], allow_lower=True, by=world.instructor)
        wait_for(lambda: RegradeJob.objects.filter(pk=job.pk, processed__gte=2).exists(), timeout=DONE_WITHIN,
                 what="the slow worker to apply two items")
        kill_worker(slow)  # SIGKILL, whole process group, mid-job
        job.refresh_from_db()
        assert job.status == RegradeJobStatus.RUNNING and 2 <= job.processed < 6
        # The same worker started again puts back what it had reserved (dlcv_site.worker_recovery), and
        # beat's sweeper sends the job once more: two deliveries of the rest, each item applied once.
        assert regrade_jobs_resume(older_than=timedelta(0)) == 1
        fresh = start_worker(queue, name="regrade-fresh", node="regrade-slow@pytest")
        wait_for(lambda: done(job.pk), timeout=DONE_WITHIN, what="the restarted worker to finish the job")
        time.sleep(1.0)  # a late second delivery must change nothing
        job.refresh_from_db()
        assert (job.processed, job.raised, job.lowered, job.unchanged) == (6, 2, 2, 2) and job.runs >= 2
        assert not RegradeJobItem.objects.filter(job=job, applied_at__isnull=True).exists()
        changes = list(ScoreChange.objects.filter(kind=ScoreChangeKind.CLASS_REGRADE).values_list("item_id", flat=True))
        assert sorted(changes) == sorted({*changes}) and len(changes) == 4
        assert [world.item(i).score for i in range(6)] == [0, 1, 0, 0, 1, 0]
    finally:
        kill_worker(slow)
        if fresh is not None:
            stop_worker(fresh)
