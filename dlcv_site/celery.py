"""The Celery app. Workers: ``celery -A dlcv_site worker -Q numeric,code``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")

app = Celery("dlcv_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# grader/tasks.py is the one door from Celery into the grader core.
app.autodiscover_tasks(["grader", "quizzes"])
app.conf.beat_schedule = {
    # The server enforces exam deadlines: this runs whether or not any browser is open.
    "submit-overdue-attempts": {"task": "quizzes.submit_overdue_attempts", "schedule": 15.0},
    # Lab gradings a broker lost or a killed worker held are sent again from the table.
    "requeue-stuck-submissions": {"task": "grader.requeue_stuck_submissions", "schedule": 30.0},
}
