"""``dlcv_site.worker_recovery``: each worker's broker options (its recovery after kill -9 is proven
with real workers in ``labs/tests/test_worker_recovery.py``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from dlcv_site.celery import app as celery_app
from dlcv_site.worker_recovery import (
    RESTORE_INTERVAL,
    broker_options_for_worker,
    visibility_timeout_for,
    worker_queues,
)
from labs import tasks
from labs.services.queue import CODE_QUEUE, NUMERIC_QUEUE

LIMITS = settings.QUEUE_LONGEST_TASK_SECONDS


def _queue_of(app: Any, name: str) -> str:
    """The queue a task is sent to: the LMS's by the events' own routing, the others by the router."""
    if name.startswith("lti."):
        return settings.LTI_QUEUE
    return app.amqp.router.route({}, name)["queue"].name


def test_no_task_outlasts_the_visibility_timeout_of_its_queues_workers() -> None:
    """A message is never put back (and run a second time) while its task may still run: every task on
    a queue, the grading ones and the rest (an LMS roster sync runs for up to five minutes on the
    default queue), ends within the visibility timeout of a worker consuming that queue."""
    app = celery_app
    app.loader.import_default_modules()
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert {"lti.roster_sync_course", "study.fit_parameters", tasks.GRADE_NUMERIC_TASK} <= set(names)
    for name in names:
        task = app.tasks[name]
        queue = _queue_of(app, name)
        assert task.time_limit, f"{name} has no hard time limit"
        assert visibility_timeout_for([queue], LIMITS) > task.time_limit, (name, queue)
    for task, queue in ((tasks.grade_numeric_submission, NUMERIC_QUEUE), (tasks.grade_code_submission, CODE_QUEUE)):
        assert task.time_limit == settings.GRADER_QUEUE_TIME_LIMITS[queue] and task.soft_time_limit < task.time_limit
    # A worker on both queues, or on one the table does not know, takes the longest.
    longest = max(visibility_timeout_for([queue], LIMITS) for queue in (NUMERIC_QUEUE, CODE_QUEUE))
    assert visibility_timeout_for([NUMERIC_QUEUE, CODE_QUEUE], LIMITS) == longest
    assert visibility_timeout_for(["elsewhere"], LIMITS) == longest


def test_a_workers_reservations_are_kept_under_its_own_name() -> None:
    options = broker_options_for_worker(nodename="numeric@host-a", queues=["numeric"], time_limits=LIMITS,
                                        base={"socket_timeout": 5})
    other = broker_options_for_worker(nodename="numeric@host-b", queues=["numeric"], time_limits=LIMITS, base={})
    assert options["socket_timeout"] == 5
    for key in ("unacked_key", "unacked_index_key", "unacked_mutex_key"):
        assert "numeric@host-a" in options[key] and options[key] != other[key]
    assert options["unacked_restore_interval"] == RESTORE_INTERVAL and options["unacked_restore_throttle"] == 1


def test_the_queues_a_worker_was_given() -> None:
    assert worker_queues(None, "numeric") == ["numeric"]
    assert worker_queues("numeric, code", "numeric") == ["numeric", "code"]
    assert worker_queues(["code"], "numeric") == ["code"]
