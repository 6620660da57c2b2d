"""The accounts app's Celery task: invitations mailed off the web request (an SMTP server takes its
time over a class of hundreds). Ids in; idempotent (``invitations_send`` skips the invited)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from accounts.services.invitations import SEND_INVITATIONS_TASK, invitations_send


@shared_task(name=SEND_INVITATIONS_TASK, ignore_result=True, soft_time_limit=120, time_limit=150,
             autoretry_for=(OperationalError, InterfaceError, OSError), retry_backoff=5, retry_backoff_max=300,
             retry_jitter=True, max_retries=5)
def send_invitations(user_ids: list[int], course_id: int | None, base_url: str) -> int:
    """Email the invitations of these accounts that still have none (an SMTP error retries later)."""
    return invitations_send(user_ids=user_ids, course_id=course_id, base_url=base_url)
