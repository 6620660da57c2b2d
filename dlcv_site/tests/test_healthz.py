import os

import pytest
from django.test import Client


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_healthz_all_up_on_real_services(postgres_required, redis_required, celery_worker_process) -> None:
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    checks = body["checks"]
    assert checks["database"]["detail"] == "postgresql"
    assert checks["broker"]["detail"] == "redis"
    # A real round trip: each grader queue's reply carries the worker process id.
    replies = checks["workers"]["extra"]["replies"]
    assert set(replies) == {"numeric", "code"}
    assert all(reply["pong"] is True and reply["pid"] != os.getpid() for reply in replies.values())


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_healthz_names_the_worker_part_when_no_worker_consumes_a_queue(
    settings, redis_required, celery_worker_process
) -> None:
    settings.GRADER_QUEUES = ["numeric", "queue-nobody-consumes"]
    settings.HEALTHZ_WORKER_TIMEOUT = 1.5
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["workers"]
    assert "queue-nobody-consumes" in body["checks"]["workers"]["detail"]


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_unreachable(monkeypatch) -> None:
    from dlcv_site import health

    def broken_broker() -> health.CheckResult:
        return health.CheckResult(False, 1.0, "OperationalError: connection refused")

    monkeypatch.setattr(health, "check_broker", broken_broker)
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["broker", "workers"]
    assert body["checks"]["workers"]["detail"] == "broker unreachable"
    assert body["checks"]["database"]["ok"] is True


def test_check_broker_reports_a_refused_redis_connection() -> None:
    """A real refused connection (nothing listens on the port), not a mock."""
    from celery import Celery

    from dlcv_site import health

    dead_app = Celery("dead", broker="redis://127.0.0.1:1/0")
    original = health.celery_app
    health.celery_app = dead_app
    try:
        result = health.check_broker()
    finally:
        health.celery_app = original
    assert result.ok is False
    assert "refused" in result.detail.lower() or "error" in result.detail.lower()


def test_a_worker_that_never_answered_is_reported_not_raised(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """make run's file result backend raises FileNotFoundError when forgetting a result that never
    came; the check must still say which queue has no worker (it used to turn /healthz into a 500)."""
    from celery.exceptions import TimeoutError as CeleryTimeoutError

    from dlcv_site import health, tasks

    class NoReply:
        def get(self, timeout: float, propagate: bool) -> object:
            raise CeleryTimeoutError("no reply")

        def forget(self) -> None:
            raise FileNotFoundError("celery-task-meta-…")

    settings.GRADER_QUEUES = ["numeric"]
    monkeypatch.setattr(tasks.ping, "apply_async", lambda **kwargs: NoReply())
    result = health.check_workers(timeout=0.1)
    assert result.ok is False and result.detail == "numeric: no worker answered within 0.1s"
