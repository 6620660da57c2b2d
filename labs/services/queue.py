"""Sending grading jobs to the broker, by task name: services never import the task module.

The tasks themselves are in ``labs.tasks`` (their registered names begin with ``grader.`` for the
messages already in queues). A message carries only a submission's id; the row is the truth, so a
message the broker loses is sent again by the sweeper (``labs.services.regrade``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import current_app, group
from kombu.exceptions import KombuError

from labs.models import LabKind

logger = logging.getLogger(__name__)

#: The broker queue numeric gradings go to (tests and the bench point it at a private queue).
NUMERIC_QUEUE = "numeric"
#: Coding labs run on their own queue (own workers, prefetch 1): numeric grading never waits on them.
CODE_QUEUE = "code"

GRADE_NUMERIC_TASK = "grader.grade_numeric_submission"
GRADE_CODE_TASK = "grader.grade_code_submission"


def grading_route(kind: str) -> tuple[str, str]:
    """The task name and queue that grade a submission of a ``kind`` lab."""
    if kind == LabKind.CODE:
        return GRADE_CODE_TASK, CODE_QUEUE
    return GRADE_NUMERIC_TASK, NUMERIC_QUEUE


def enqueue_gradings(submission_ids: Sequence[int], kind: str = LabKind.NUMERIC) -> None:
    """Send one grading task per id. A broker failure leaves the rows queued for the sweeper."""
    task, queue = grading_route(kind)
    try:
        for submission_id in submission_ids:
            current_app.send_task(task, args=[submission_id], queue=queue)
    except (KombuError, OSError):
        # Broker down. The rows are committed and queued: the sweeper sends them again.
        logger.exception("could not enqueue gradings for submissions %s", list(submission_ids))


def enqueue_regrade_group(submission_ids: Sequence[int], kind: str, group_id: str) -> None:
    """One Celery ``group`` of gradings under ``group_id`` (its task_id becomes the group's id)."""
    task, queue = grading_route(kind)
    signature = group(current_app.signature(task, args=(pk,), queue=queue, immutable=True)
                      for pk in submission_ids).set(task_id=group_id)
    try:
        signature.apply_async()
    except (KombuError, OSError):
        logger.exception("could not enqueue the regrade group; the sweeper will send the rows")
