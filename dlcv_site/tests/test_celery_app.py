"""The Celery app's periodic schedule (``make beat``): every entry names a task the workers have."""

from __future__ import annotations

from dlcv_site.celery import app


def test_every_periodic_task_exists_and_has_a_time_limit() -> None:
    app.loader.import_default_modules()  # the tasks modules autodiscovery finds, as a worker does
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"quizzes.submit_overdue_attempts", "quizzes.prepare_upcoming_exams"} <= names
    for name in names:
        task = app.tasks[name]  # KeyError: the beat would send a task no worker knows
        assert task.time_limit and task.soft_time_limit and task.soft_time_limit < task.time_limit, name
