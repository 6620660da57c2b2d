"""Study tasks: an id in, re-read, a service called. Idempotent: a ReviewLog is unique per card and
answer, so a message delivered twice records nothing the second time."""

from celery import shared_task

from study.services import cards, fit


@shared_task(name="study.record_attempt_item", soft_time_limit=20, time_limit=30)
def record_attempt_item(item_id: int) -> int:
    """A practice check (or a review answer) on the student's cards."""
    return cards.attempt_item_record(item_id=item_id)


@shared_task(name="study.record_attempt", soft_time_limit=20, time_limit=30)
def record_attempt(attempt_id: int) -> int:
    """A submitted mock exam or exam (an exam only once its results are released)."""
    return cards.attempt_record(attempt_id=attempt_id)


@shared_task(name="study.record_assessment", soft_time_limit=50, time_limit=60)
def record_assessment(assessment_id: int) -> int:
    """An exam's results were released: every submitted attempt on its students' cards."""
    return cards.assessment_record(assessment_id=assessment_id)


@shared_task(name="study.record_submission", soft_time_limit=20, time_limit=30)
def record_submission(submission_id: int) -> int:
    """A graded numeric lab submission: each part on its family's (and named misconception's) cards."""
    return cards.submission_record(submission_id=submission_id)


@shared_task(name="study.record_released_exams", soft_time_limit=20, time_limit=30)
def record_released_exams() -> int:
    """Beat: exams whose release time came (a future date set in advance) reach the plans."""
    return len(cards.released_exams_send())


@shared_task(name="study.fit_parameters", soft_time_limit=240, time_limit=270)
def fit_parameters(course_id: int) -> bool:
    """Fit the course's FSRS parameters from its review logs (when there are enough)."""
    return fit.parameters_fit(course_id=course_id).fitted
