"""Periodic quiz jobs. Tasks take ids (or nothing), re-read the database and call a service."""

from celery import shared_task

from quizzes.services.attempts import attempts_submit_overdue


@shared_task(name="quizzes.submit_overdue_attempts", soft_time_limit=50, time_limit=60)
def submit_overdue_attempts() -> int:
    """Submit every open attempt past its deadline, even if the student's browser is gone."""
    return attempts_submit_overdue()
