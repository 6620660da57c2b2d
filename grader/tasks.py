"""The one door from Celery into the grader core. Tasks take ids, re-fetch, and call a service."""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery import shared_task
from celery.signals import worker_process_init
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# Services are imported inside the tasks: they import the app models, and this module is also
# imported by tooling that does not set Django up first.


@shared_task(name="grader.ping", ignore_result=False, acks_late=False, soft_time_limit=5, time_limit=10)
def ping() -> dict[str, object]:
    """A trivial round trip for /healthz: proves a worker consumes the queue and results come back."""
    return {"pong": True, "worker": socket.gethostname(), "pid": os.getpid()}


@shared_task(
    # Queue: CELERY_TASK_DEFAULT_QUEUE ("numeric"); labs.services also names it when sending.
    name="grader.grade_numeric_submission",
    ignore_result=True,  # the row is the result; nobody reads Celery's
    # Idempotent (the service claims the row with a conditional UPDATE), so late acks are safe: a
    # message whose worker died is delivered again instead of being lost.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=20,
    time_limit=30,
    # Only transient database errors are retried; a grader bug is stored as a failed submission.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def grade_numeric_submission(submission_id: int) -> None:
    """Grade one numeric lab submission (a no-op unless it is still waiting to be graded)."""
    from labs.services import submission_grade

    submission_grade(submission_id=submission_id)


@shared_task(name="grader.requeue_stuck_submissions", ignore_result=True, soft_time_limit=25, time_limit=30)
def requeue_stuck_submissions() -> int:
    """Periodic: send again the submissions a broker lost or a dead worker held."""
    from labs.services import REQUEUE_STUCK_AFTER, submissions_requeue_stuck

    return submissions_requeue_stuck(older_than=REQUEUE_STUCK_AFTER)


@shared_task(
    # Queue "code" (CELERY_TASK_ROUTES): its own workers with prefetch 1, so a minute-long training
    # run never holds up numeric grading and a worker never hoards jobs it cannot start.
    name="grader.grade_code_submission",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Above the longest lab's wall limit (90 s) plus sandbox start; the sandbox enforces the real limits.
    soft_time_limit=240,
    time_limit=270,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def grade_code_submission(submission_id: int) -> None:
    """Run one coding-lab submission in the sandbox and store its per-test result (idempotent)."""
    from labs.services import CODE_STALE_RUNNING_AFTER, submission_grade

    submission_grade(submission_id=submission_id, stale_after=CODE_STALE_RUNNING_AFTER)


@worker_process_init.connect
def _warm_the_sandbox(**_: object) -> None:
    """A worker process that consumes the ``code`` queue loads the coding labs and starts its
    sandbox zygotes (numpy, torch) in the background, so the first student of the day does not
    wait ~3 s for ``import torch``. Numeric-only workers skip it."""
    from celery import current_app

    queues = getattr(current_app.amqp.queues, "consume_from", None) or {}
    if "code" not in queues:
        return

    def warm() -> None:
        try:
            from grader.codelabs import all_codelabs
            from labs.services import code_runner

            labs = all_codelabs()
            code_runner().warm(torch=any(lab.uses_torch for lab in labs))
        except Exception:  # no sandbox here: the first job reports it properly
            logger.warning("could not warm the sandbox", exc_info=True)

    threading.Thread(target=warm, name="warm-sandbox", daemon=True).start()
