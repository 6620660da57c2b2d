"""Study work sent to the broker by task name, on commit (services never import tasks)."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

FIT_TASK = "study.fit_parameters"
RECORD_ASSESSMENT_TASK = "study.record_assessment"


def _send(course_id: int) -> None:
    try:
        current_app.send_task(FIT_TASK, args=[course_id])
    except (KombuError, OSError):
        logger.exception("could not send the FSRS fit for course %s", course_id)


def fit_on_commit(course_id: int) -> None:
    transaction.on_commit(lambda: _send(course_id))


def record_assessment_send(assessment_id: int) -> None:
    """Send an exam's released answers to the plans now (the beat task, outside any transaction)."""
    try:
        current_app.send_task(RECORD_ASSESSMENT_TASK, args=[assessment_id])
    except (KombuError, OSError):
        logger.exception("could not send the released answers of assessment %s", assessment_id)
