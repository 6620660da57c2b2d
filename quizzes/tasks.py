"""Periodic quiz jobs. Tasks take ids (or nothing), re-read the database and call a service."""

from celery import shared_task

from quizzes.services.attempts import attempts_submit_overdue, exams_prepare_upcoming


@shared_task(name="quizzes.submit_overdue_attempts", soft_time_limit=50, time_limit=60)
def submit_overdue_attempts() -> int:
    """Submit every open attempt past its deadline, even if the student's browser is gone."""
    return attempts_submit_overdue()


@shared_task(name="quizzes.prepare_upcoming_exams", soft_time_limit=240, time_limit=270)
def prepare_upcoming_exams() -> dict[int, int]:
    """Work out the parameterized variants of exams opening within two hours, before their students
    start: the number of views worked out per exam (0 once an exam is prepared)."""
    return {exam_id: prepared.worked_out for exam_id, prepared in exams_prepare_upcoming().items()}
