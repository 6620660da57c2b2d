"""kill -9 of a grading worker — the whole worker, its main process alone, or one pool child — on
Redis and PostgreSQL: restarted as the README says (same command, same node name), with no beat and
no sweeper, it grades every submission it held exactly once (dlcv_site.worker_recovery and the
claim's takeover by the same message in labs.services.grading).

Each test runs its own real ``celery worker`` processes on a private queue, so it can kill them.
The goal is 3 minutes after the restart; the tests wait at most ``GRADED_WITHIN``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from accounts.models import Course
from accounts.tests.factories import make_member
from conftest import PROJECT_DIR, _database_url_for_worker
from grader.codelabs import get_codelab
from labs.models import Lab, Submission, SubmissionStatus
from labs.services import lab_upsert, submission_create
from labs.services import queue as grading_queue
from labs.tests.factories import lab_answers, make_lab
from labs.tests.workers import kill_worker, pool_children, private_queue, start_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GRADED_WITHIN = 120.0
SLOW = {"GRADER_TEST_SLOW_SECONDS": "4"}
CODELAB = "iou-nms"  # numpy only and fast


def _wipe(broker: redis.Redis, *patterns: str) -> None:
    keys = [key for pattern in patterns for key in broker.scan_iter(pattern)]
    if keys:
        broker.delete(*keys)


@pytest.fixture
def broker(redis_required: None) -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture
def node(broker: redis.Redis) -> Iterator[str]:
    """A node name for this test's worker and its restarts; its reservation hashes are wiped after."""
    name = f"recovery-{uuid.uuid4().hex[:8]}"
    yield f"{name}@%h"
    _wipe(broker, f"unacked*:{name}@*")


@pytest.fixture
def numeric_queue(monkeypatch: pytest.MonkeyPatch, broker: redis.Redis) -> Iterator[str]:
    name = private_queue("recovery-numeric")
    monkeypatch.setattr(grading_queue, "NUMERIC_QUEUE", name)
    yield name
    _wipe(broker, name, f"_kombu.binding*.{name}")


@pytest.fixture
def code_queue(monkeypatch: pytest.MonkeyPatch, broker: redis.Redis) -> Iterator[str]:
    name = private_queue("recovery-code")
    monkeypatch.setattr(grading_queue, "CODE_QUEUE", name)
    yield name
    _wipe(broker, name, f"_kombu.binding*.{name}")


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every worker a test starts; all of them are killed at the end, whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for worker in started:
        kill_worker(worker)


def _rows(ids: list[int]) -> list[tuple[str, int, int]]:
    return list(Submission.objects.filter(pk__in=ids).order_by("pk").values_list("status", "grading_runs",
                                                                              "result_writes"))


def _running(ids: list[int], count: int) -> bool:
    return Submission.objects.filter(pk__in=ids, status=SubmissionStatus.RUNNING).count() >= count


def _graded_once(ids: list[int]) -> None:
    """Wait for every submission to be graded, then check none was written twice."""
    wait_for(lambda: Submission.objects.filter(pk__in=ids, status=SubmissionStatus.GRADED).count() == len(ids),
             timeout=GRADED_WITHIN, what=f"all of {len(ids)} submissions to be graded; rows: {_rows(ids)}")
    time.sleep(2.0)  # a late delivery again of any message must change nothing
    rows = _rows(ids)
    assert all(status == SubmissionStatus.GRADED and writes == 1 for status, _, writes in rows), rows
    assert Submission.objects.filter(pk__in=ids, score=1).count() == len(ids)


def _numeric_submissions(course: Course, count: int) -> list[int]:
    lab = make_lab(course)
    students = [make_member(course) for _ in range(count)]
    return [submission_create(user=s, lab=lab, answers=lab_answers(lab, s)).submission.pk for s in students]


def _kill_main_alone(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the main process only: its pool children finish their task as orphans."""
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@pytest.mark.parametrize("kill", ["the whole worker", "its main process alone"])
def test_a_numeric_worker_killed_and_restarted_grades_everything_it_held_once(
    kill: str, numeric_queue: str, node: str, workers: list[subprocess.Popen[bytes]], course: Course,
    broker: redis.Redis,
) -> None:
    # As `make worker` runs it: 2 processes, each reserving 4 messages ahead.
    first = start_worker(numeric_queue, name="numeric", node=node, concurrency=2, prefetch=4, env=SLOW)
    workers.append(first)
    ids = _numeric_submissions(course, 6)
    wait_for(lambda: _running(ids, 2), timeout=30, what="the worker to start grading two of them")
    wait_for(lambda: broker.llen(numeric_queue) == 0, timeout=10, what="the worker to reserve the rest")
    if kill == "the whole worker":
        kill_worker(first)
    else:
        _kill_main_alone(first)
    assert Submission.objects.filter(pk__in=ids, status=SubmissionStatus.GRADED).count() < len(ids)
    workers.append(start_worker(numeric_queue, name="numeric", node=node, concurrency=2, prefetch=4))
    _graded_once(ids)


def test_a_killed_pool_child_is_replaced_and_its_submission_graded_once(
    numeric_queue: str, node: str, workers: list[subprocess.Popen[bytes]], course: Course,
) -> None:
    worker = start_worker(numeric_queue, name="numeric", node=node, concurrency=1, env=SLOW)
    workers.append(worker)
    ids = _numeric_submissions(course, 1)
    wait_for(lambda: _running(ids, 1), timeout=30, what="the worker to start grading it")
    (child,) = pool_children(worker)
    os.kill(child, signal.SIGKILL)  # mid-grading; the main process lives on and starts a new child
    _graded_once(ids)
    assert worker.poll() is None
    ((_, runs, _),) = _rows(ids)
    assert runs == 2  # the message came back and took over the dead child's claim


@pytest.fixture
def code_lab(course: Course) -> Lab:
    lab, _ = lab_upsert(course=course, spec={"slug": "code-recovery", "title": "IoU", "kind": "code",
                                             "codelab": CODELAB})
    return lab


def test_a_code_worker_killed_and_restarted_grades_everything_once(
    code_queue: str, node: str, workers: list[subprocess.Popen[bytes]], course: Course, code_lab: Lab,
    broker: redis.Redis,
) -> None:
    # As `make code-worker` runs it: one process, one message at a time.
    first = start_worker(code_queue, name="code", node=node, concurrency=1, prefetch=1, env=SLOW)
    workers.append(first)
    source = get_codelab(CODELAB).solution()
    students = [make_member(course) for _ in range(2)]
    ids = [submission_create(user=s, lab=code_lab, source_code=source, lang="en").submission.pk for s in students]
    wait_for(lambda: _running(ids, 1), timeout=30, what="the code worker to start grading one")
    kill_worker(first)
    workers.append(start_worker(code_queue, name="code", node=node, concurrency=1, prefetch=1))
    _graded_once(ids)


def _embedded_env(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of `make run` without Redis: the broker is made of files under ``var_dir``."""
    return dict(os.environ, DATABASE_URL=_database_url_for_worker(), REDIS_URL="", CACHE_URL="",
                DLCV_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **(extra or {}))


def _send_through_embedded_broker(var_dir: Path, ids: list[int]) -> None:
    """What the web process of `make run` does on commit: the grading messages, into the files."""
    code = f"from labs.services.queue import enqueue_gradings; enqueue_gradings({ids!r})"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=_embedded_env(var_dir),
                   check=True, capture_output=True, timeout=60)


def _start_embedded_worker(var_dir: Path, node: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`make run`'s numeric worker without Redis."""
    worker_env = _embedded_env(var_dir, env)
    command = [sys.executable, "-m", "celery", "-A", "dlcv_site", "worker", "-Q", "numeric", "-c", "2",
               "--prefetch-multiplier", "4", "-n", node, "-l", "info", "--without-gossip", "--without-mingle"]
    with (var_dir / "worker.log").open("ab") as log:
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def test_the_embedded_brokers_worker_killed_and_restarted_grades_everything_once(
    numeric_queue: str, node: str, workers: list[subprocess.Popen[bytes]], course: Course, tmp_path: Path,
) -> None:
    """`make run` without Redis: the broker of files forgets what a killed worker had taken, so the
    restarted worker sends its unfinished submissions again itself (no beat, no sweeper)."""
    ids = _numeric_submissions(course, 4)  # their Redis messages go to a private queue nobody reads
    _send_through_embedded_broker(tmp_path, ids)
    first = _start_embedded_worker(tmp_path, node, SLOW)
    workers.append(first)
    wait_for(lambda: _running(ids, 1), timeout=60, what=f"the worker to start grading; log in {tmp_path}")
    kill_worker(first)
    assert Submission.objects.filter(pk__in=ids, status=SubmissionStatus.GRADED).count() < len(ids)
    workers.append(_start_embedded_worker(tmp_path, node))
    _graded_once(ids)
