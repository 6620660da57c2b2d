"""Events an app announces for apps above it to act on, sent by task name once the transaction
commits: the announcer never imports the listener (the LTI grade passback listens to these)."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

#: A lab submission was graded (its id).
LAB_SUBMISSION_GRADED = "lti.lab_submission_graded"
#: A lab submission was graded (its id): its parts reach the student's study plan.
STUDY_LAB_SUBMISSION_GRADED = "study.record_submission"
#: An assessment's results were released (its id).
ASSESSMENT_RESULTS_RELEASED = "lti.assessment_results_released"
#: The same announcement for scores a person changed after release (hand grading, a rubric edit, a regrade):
#: the listener stages what changed again.
ASSESSMENT_SCORES_CHANGED = ASSESSMENT_RESULTS_RELEASED


def announce(task: str, object_id: int) -> None:
    """Send ``task`` with the id on commit (at once outside a transaction), once per transaction however
    often it is announced in it (a class regrade changes many items of one assessment). A broker failure
    is logged: the per-course "sync now" sends the scores again (and a study plan a little behind is no
    error). The LTI's tasks go to its own queue, the others to the default one."""
    key = (task, object_id)
    queue = settings.LTI_QUEUE if task.startswith("lti.") else None
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(getattr(callback, "announces", None) == key
                                          for _savepoints, callback, _robust in connection.run_on_commit):
        return

    def send_on_commit() -> None:
        send(task, object_id, queue)

    send_on_commit.announces = key  # type: ignore[attr-defined]
    transaction.on_commit(send_on_commit)


def send(task: str, object_id: int, queue: str | None) -> None:
    """Put one announcement on the broker (looked up at commit time, so a test can keep them local)."""
    try:
        current_app.send_task(task, args=[object_id], **({"queue": queue} if queue else {}))
    except (KombuError, OSError):
        logger.exception("could not announce %s for %s", task, object_id)
