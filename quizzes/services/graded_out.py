"""Graded answers leave the quiz app by task name, on commit: the spaced-review plan
(``study.tasks``) updates the student's cards from them. quizzes never imports study.

By task and not in the grading transaction: a practice check or a submit answers the student at
once, and the cards (a few rows per answer, the exam date read) are updated a moment later by a
worker; the study app's own review page records its answers in its own transaction (it shows the
next due date at once), and the task finds them recorded (one ReviewLog per card and answer).
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

ITEM_TASK = "study.record_attempt_item"
ATTEMPT_TASK = "study.record_attempt"
ASSESSMENT_TASK = "study.record_assessment"


def _send(task: str, object_id: int) -> None:
    try:
        current_app.send_task(task, args=[object_id])
    except (KombuError, OSError):  # the answer is stored; a plan a little behind is not an error
        logger.exception("could not send %s for %s", task, object_id)


def graded_on_commit(task: str, object_id: int) -> None:
    """Send ``task`` with ``object_id`` once the caller's transaction commits."""
    transaction.on_commit(lambda: _send(task, object_id))
