"""The labs app's Celery tasks: ids in, a service called. Names keep the ``grader.`` prefix they
were registered under, so messages already waiting in a queue still run after a deploy.

Every grading task is idempotent (the service claims the row with a conditional UPDATE), so late
acknowledgement is safe: a message whose worker died is delivered again instead of being lost;
only transient database errors are retried, with backoff; a grader bug is stored as a failed
submission, never retried.
"""

from __future__ import annotations

import logging
import threading

from celery import Task, current_app, shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from grader.codelabs import all_codelabs
from labs.models import LabKind
from labs.services import (
    CODE_STALE_RUNNING_AFTER,
    REQUEUE_STUCK_AFTER,
    code_runner,
    submission_grade,
    submissions_requeue_after_restart,
    submissions_requeue_stuck,
)
from labs.services.queue import CODE_QUEUE, GRADE_CODE_TASK, GRADE_NUMERIC_TASK, NUMERIC_QUEUE, grading_route

logger = logging.getLogger(__name__)

_RETRY_TRANSIENT = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}
# The row is the result; nobody reads Celery's. Late acks: redelivered if the worker dies.
_GRADING = {"ignore_result": True, "acks_late": True, "reject_on_worker_lost": True, **_RETRY_TRANSIENT}


# Hard time limits per queue (settings.GRADER_QUEUE_TIME_LIMITS); the Redis visibility timeout of the
# workers consuming a queue outlasts them (settings.QUEUE_LONGEST_TASK_SECONDS, dlcv_site.worker_recovery).
_NUMERIC_LIMIT = settings.GRADER_QUEUE_TIME_LIMITS[NUMERIC_QUEUE]
_CODE_LIMIT = settings.GRADER_QUEUE_TIME_LIMITS[CODE_QUEUE]


@shared_task(bind=True, name=GRADE_NUMERIC_TASK, soft_time_limit=_NUMERIC_LIMIT - 10, time_limit=_NUMERIC_LIMIT,
             **_GRADING)
def grade_numeric_submission(self: Task, submission_id: int) -> None:
    """Grade one numeric lab submission (a no-op unless it is still waiting to be graded, or this
    message's earlier run died with its worker)."""
    submission_grade(submission_id=submission_id, task_id=self.request.id or "")


# Queue "code": its own workers with prefetch 1, so a minute-long training run never holds up
# numeric grading and a worker never hoards jobs it cannot start. The time limits are above the
# longest lab's wall limit (90 s) plus sandbox start; the sandbox enforces the real limits.
@shared_task(bind=True, name=GRADE_CODE_TASK, soft_time_limit=_CODE_LIMIT - 30, time_limit=_CODE_LIMIT, **_GRADING)
def grade_code_submission(self: Task, submission_id: int) -> None:
    """Run one coding-lab submission in the sandbox and store its per-test result (idempotent)."""
    submission_grade(submission_id=submission_id, stale_after=CODE_STALE_RUNNING_AFTER, task_id=self.request.id or "")


@shared_task(name="grader.requeue_stuck_submissions", ignore_result=True, soft_time_limit=25, time_limit=30)
def requeue_stuck_submissions() -> int:
    """Periodic: send again the submissions a broker lost or a dead worker held."""
    return submissions_requeue_stuck(older_than=REQUEUE_STUCK_AFTER)


@worker_process_init.connect
def _warm_the_sandbox(**_: object) -> None:
    """A worker process that consumes the ``code`` queue loads the coding labs and starts its
    sandbox zygotes (numpy, torch) in the background, so the first student of the day does not
    wait ~3 s for ``import torch``. Numeric-only workers skip it. The runner starts the zygotes from
    its own long-lived thread, so they outlive this short one (bwrap's --die-with-parent is tied to
    the thread that started it)."""
    queues = getattr(current_app.amqp.queues, "consume_from", None) or {}
    if CODE_QUEUE not in queues:
        return

    def warm() -> None:
        try:
            code_runner().warm(torch=any(lab.uses_torch for lab in all_codelabs()))
        except Exception:  # no sandbox here: the first job reports it properly
            logger.warning("could not warm the sandbox", exc_info=True)

    threading.Thread(target=warm, name="warm-sandbox", daemon=True).start()


@worker_ready.connect
def _take_back_what_a_killed_worker_held(**_: object) -> None:
    """Embedded mode (`make run` without Redis): the broker of files forgets the messages a killed
    worker had taken, so the restarted worker sends its kinds' unfinished submissions again itself —
    no beat needed. (On Redis the worker puts back its own reservations: dlcv_site.worker_recovery.)"""
    if settings.BROKER_MODE != "filesystem":
        return
    queues = getattr(current_app.amqp.queues, "consume_from", None) or {}
    kinds = [kind for kind in (LabKind.NUMERIC, LabKind.CODE) if grading_route(kind)[1] in queues]
    if not kinds:
        return
    try:
        count = submissions_requeue_after_restart(kinds=kinds)
        if count:
            logger.warning("sent again %d unfinished %s submissions a killed worker held", count, "/".join(kinds))
    finally:
        connections.close_all()  # the main process forks new pool children later: they must not share it
