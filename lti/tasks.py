"""LTI Celery tasks: ids in, a service called; idempotent (the outbox's versions, unique line items)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from lti.services import ags

#: Retries of a score after the batch's try: with the waits of ags.retry_countdown (0.5 s doubling, at most
#: 600 s, 50–100 % at random) about 20–40 minutes in all.
MAX_SEND_RETRIES = 12


@shared_task(name="lti.lab_submission_graded", soft_time_limit=50, time_limit=60)
def lab_submission_graded(submission_id: int) -> int:
    return ags.lab_submission_graded(submission_id=submission_id).staged


@shared_task(name="lti.assessment_results_released", soft_time_limit=110, time_limit=120)
def assessment_results_released(assessment_id: int) -> int:
    return ags.assessment_scores_stage(assessment_id=assessment_id).staged


@shared_task(bind=True, name="lti.line_item_create", soft_time_limit=50, time_limit=60, max_retries=8)
def line_item_create(self: Any, line_item_id: int) -> str:
    try:
        return ags.line_item_create(line_item_id=line_item_id)
    except (ags.LtiServiceException, OSError) as exc:
        raise self.retry(countdown=ags.retry_countdown(retries=self.request.retries, retry_after=None)) from exc


@shared_task(bind=True, name="lti.score_send", soft_time_limit=50, time_limit=60, max_retries=MAX_SEND_RETRIES)
def score_send(self: Any, outbox_id: int, version: int) -> str:
    last_try = self.request.retries >= MAX_SEND_RETRIES
    try:
        return ags.score_send(outbox_id=outbox_id, version=version, last_try=last_try, owner=self.request.id or "")
    except ags.SendLater as later:
        # The batch's post was the first try: this task's first retry waits the second wait.
        raise self.retry(countdown=ags.retry_countdown(retries=self.request.retries + 1,
                                                       retry_after=later.retry_after)) from later


@shared_task(bind=True, name="lti.score_send_batch", soft_time_limit=50, time_limit=60)
def score_send_batch(self: Any, items: list[list[int]]) -> dict[str, int]:
    """Staged scores, (outbox id, version) pairs, posted a few at a time with one access token and recorded
    in one transaction; rows to retry go on alone."""
    return ags.scores_send(items=[(int(pk), int(version)) for pk, version in items], owner=self.request.id or "")


@shared_task(name="lti.roster_sync_course", soft_time_limit=280, time_limit=300)
def roster_sync_course(course_id: int) -> dict[str, int]:
    from accounts.models import Course
    from lti.services.nrps import RosterSyncFailed, course_roster_sync

    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        return {}
    try:
        return course_roster_sync(course=course).summary()
    except RosterSyncFailed:
        return {}


@shared_task(name="lti.roster_sync_nightly", soft_time_limit=50, time_limit=60)
def roster_sync_nightly() -> int:
    """One roster sync task per course with an LMS context that serves a roster."""
    from django.conf import settings

    from lti.services.nrps import courses_with_rosters

    course_ids = courses_with_rosters()
    for course_id in course_ids:
        roster_sync_course.apply_async(args=[course_id], queue=settings.LTI_QUEUE)
    return len(course_ids)
