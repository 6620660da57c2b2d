"""Quiz jobs. Tasks take ids (or nothing), re-read the database and call a service."""

from celery import shared_task

from quizzes.services.attempts import attempts_submit_overdue, exams_prepare_upcoming
from quizzes.services.regrades import class_regrade_run, regrade_job_continue, regrade_jobs_resume


@shared_task(name="quizzes.submit_overdue_attempts", soft_time_limit=50, time_limit=60)
def submit_overdue_attempts() -> int:
    """Submit every open attempt past its deadline, even if the student's browser is gone."""
    return attempts_submit_overdue()


@shared_task(name="quizzes.prepare_upcoming_exams", soft_time_limit=240, time_limit=270)
def prepare_upcoming_exams() -> dict[int, int]:
    """Work out the parameterized variants of exams opening within two hours, before their students
    start: the number of views worked out per exam (0 once an exam is prepared)."""
    return {exam_id: prepared.worked_out for exam_id, prepared in exams_prepare_upcoming().items()}


@shared_task(name="quizzes.class_regrade", soft_time_limit=25, time_limit=30)
def class_regrade(job_id: int) -> bool:
    """Apply a class-wide regrade job (``quizzes.services.regrades``): items already applied are
    skipped, so a message delivered again after a worker's kill applies nothing twice. A run stops
    after its budget and sends the job again; True when it did."""
    more = class_regrade_run(job_id=job_id)
    if more:
        regrade_job_continue(job_id=job_id)
    return more


@shared_task(name="quizzes.resume_regrade_jobs", soft_time_limit=20, time_limit=30)
def resume_regrade_jobs() -> int:
    """Send again class regrade jobs whose run was lost (broker, killed worker)."""
    return regrade_jobs_resume()
