"""The Celery app. Workers: ``celery -A dlcv_site worker -Q numeric,code``."""

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import celeryd_after_setup, celeryd_init, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")

app = Celery("dlcv_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py (the grader core knows nothing of Celery): ids in, a service called.
app.autodiscover_tasks(["dlcv_site", "accounts", "labs", "quizzes", "lti", "study"])
app.conf.beat_schedule = {
    # The server enforces exam deadlines: this runs whether or not any browser is open.
    "submit-overdue-attempts": {"task": "quizzes.submit_overdue_attempts", "schedule": 15.0},
    # Lab gradings a broker lost or a killed worker held are sent again from the table.
    "requeue-stuck-submissions": {"task": "grader.requeue_stuck_submissions", "schedule": 30.0},
    # Exams opening within two hours get their students' parameterized variants worked out ahead.
    "prepare-upcoming-exams": {"task": "quizzes.prepare_upcoming_exams", "schedule": 60.0},
    # Class-wide regrades whose run was lost are sent again (applied items are skipped).
    "resume-regrade-jobs": {"task": "quizzes.resume_regrade_jobs", "schedule": 60.0},
    # Exams whose results were released at a time set in advance: their answers reach the study plans.
    "record-released-exams": {"task": "study.record_released_exams", "schedule": 60.0},
    # Each course's roster from its LMS (LTI Names and Roles), nightly at 03:15 (the time zone's).
    "lti-roster-sync-nightly": {"task": "lti.roster_sync_nightly", "schedule": crontab(hour=3, minute=15)},
}


def _eager(task: Any) -> bool:
    # Eager tasks run inside the caller's request or test transaction: leave its connection alone.
    return bool(getattr(getattr(task, "request", None), "is_eager", False))


@task_prerun.connect
def _close_old_connections_before(task: Any = None, **kwargs: Any) -> None:
    """With CELERY_DB_REUSE_MAX set, connections outlive a task; as around a web request, drop
    those that are unusable or older than CONN_MAX_AGE (the next query reconnects)."""
    if not _eager(task):
        from django.db import close_old_connections

        close_old_connections()


@task_postrun.connect
def _close_old_connections_after(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if _eager(task):
        return
    from django.db import close_old_connections, connections

    if state == "SUCCESS":
        close_old_connections()
    else:  # a failed or retried task may have been interrupted mid-query: start afresh
        connections.close_all()


def _on_redis(conf: Any) -> bool:
    return str(conf.broker_url or "").startswith(("redis://", "rediss://"))


@celeryd_init.connect
def _size_this_workers_broker_options(sender: str = "", conf: Any = None, options: Any = None, **_: Any) -> None:
    """Before the worker connects: reservations kept under its own name, a visibility timeout sized
    to the longest hard time limit of its queues' tasks (dlcv_site.worker_recovery)."""
    if conf is None or not _on_redis(conf):
        return
    from django.conf import settings

    from dlcv_site import worker_recovery

    queues = worker_recovery.worker_queues((options or {}).get("queues"), conf.task_default_queue)
    conf.broker_transport_options = worker_recovery.broker_options_for_worker(
        nodename=sender, queues=queues, time_limits=settings.QUEUE_LONGEST_TASK_SECONDS,
        base=conf.broker_transport_options or {},
    )


@celeryd_after_setup.connect
def _restore_what_an_earlier_run_reserved(sender: str = "", instance: Any = None, conf: Any = None, **_: Any) -> None:
    """Before the worker consumes: its earlier run's unacknowledged messages go back to their queues."""
    if conf is None or not _on_redis(conf):
        return
    from dlcv_site import worker_recovery

    worker_recovery.restore_earlier_reservations(instance.app if instance is not None else app)
