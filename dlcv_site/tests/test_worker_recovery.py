"""``dlcv_site.worker_recovery``: each worker's broker options (its recovery after kill -9 is proven
with real workers in ``labs/tests/test_worker_recovery.py``)."""

from __future__ import annotations

from django.conf import settings

from dlcv_site.worker_recovery import (
    RESTORE_INTERVAL,
    broker_options_for_worker,
    visibility_timeout_for,
    worker_queues,
)
from labs import tasks
from labs.services.queue import CODE_QUEUE, NUMERIC_QUEUE

LIMITS = settings.GRADER_QUEUE_TIME_LIMITS


def test_each_queues_visibility_timeout_outlasts_its_tasks_hard_time_limit() -> None:
    """A message is never put back while its task may still run; a numeric one is put back (and its
    submission graded) well within the 3 minutes a killed worker may cost."""
    for task, queue in ((tasks.grade_numeric_submission, NUMERIC_QUEUE), (tasks.grade_code_submission, CODE_QUEUE)):
        assert task.time_limit == LIMITS[queue] and task.soft_time_limit < task.time_limit
        assert visibility_timeout_for([queue], LIMITS) > task.time_limit
    assert visibility_timeout_for([NUMERIC_QUEUE], LIMITS) + RESTORE_INTERVAL < 180
    # A worker on both queues, or on one the table does not know, takes the longest.
    assert visibility_timeout_for([NUMERIC_QUEUE, CODE_QUEUE], LIMITS) == visibility_timeout_for([CODE_QUEUE], LIMITS)
    assert visibility_timeout_for(["elsewhere"], LIMITS) == visibility_timeout_for([CODE_QUEUE], LIMITS)


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
