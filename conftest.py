"""Project-wide test fixtures: real services, or a loud skip — a failure when REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
PROJECT_DIR = Path(__file__).resolve().parent


def service_missing(reason: str) -> None:
    """Fail under REQUIRE_SERVICES=1 (CI); otherwise skip with a reason nobody can miss."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRED SERVICE MISSING: {reason}", pytrace=False)
    pytest.skip(f"SERVICE MISSING (REQUIRE_SERVICES=1 would fail here): {reason}")


@pytest.fixture
def postgres_required(settings) -> None:  # type: ignore[no-untyped-def]
    if settings.DATABASE_ENGINE != "postgresql":
        service_missing("PostgreSQL: DATABASE_URL is not a postgres:// URL")


@pytest.fixture
def redis_required(settings) -> None:  # type: ignore[no-untyped-def]
    if not settings.REDIS_URL:
        service_missing("Redis: REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing(f"Redis at {settings.REDIS_URL}: {exc}")


def _database_url_for_worker() -> str:
    """The URL of the database the tests use right now (pytest-django's test database)."""
    from django.db import connection

    params = connection.settings_dict
    if "postgresql" in params["ENGINE"]:
        user = params.get("USER") or ""
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        return f"postgres://{auth}{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"
    return f"sqlite:///{Path(params['NAME']).resolve()}"


def _wait_for_worker(timeout: float) -> None:
    from django.conf import settings

    from dlcv_site.tasks import ping

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            for queue in settings.GRADER_QUEUES:
                ping.apply_async(queue=queue, retry=False).get(timeout=3)
            return
        except Exception as exc:  # not up yet
            last_error = exc
            time.sleep(0.3)
    raise RuntimeError(f"Celery worker did not answer within {timeout}s: {last_error}")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """A real `celery worker` subprocess on the test database and the configured broker."""
    from django.conf import settings

    with django_db_blocker.unblock():
        database_url = _database_url_for_worker()
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    log_path = Path(settings.VAR_DIR) / "test-celery-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    command = [
        sys.executable, "-m", "celery", "-A", "dlcv_site", "worker", "-Q", ",".join(settings.GRADER_QUEUES),
        "-c", "2", "-n", f"{SESSION_WORKER_NODE}@%h", "-l", "info", "--without-gossip", "--without-mingle",
    ]
    SESSION_WORKER_QUEUES[:] = settings.GRADER_QUEUES
    worker = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for_worker(timeout=60)
    except RuntimeError as exc:
        worker.kill()
        log_file.close()
        service_missing(f"Celery worker: {exc}; log in {log_path}")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    log_file.close()


#: The session worker's node name (its reservations are kept in Redis under it: dlcv_site.worker_recovery).
SESSION_WORKER_NODE = f"pytest-{os.getpid()}"
#: The queues it consumes, as it was started (a test may change settings.GRADER_QUEUES for itself).
SESSION_WORKER_QUEUES: list[str] = []


def _session_worker_busy(broker: Any, queues: list[str]) -> int:
    """Messages waiting in the session worker's queues or held by it (taken, not yet acknowledged)."""
    waiting = sum(broker.llen(key) for queue in queues for key in broker.scan_iter(match=f"{queue}*")
                  if broker.type(key) == b"list")
    held = sum(broker.hlen(key) for key in broker.scan_iter(match=f"unacked:{SESSION_WORKER_NODE}@*"))
    return waiting + held


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before a test that ran the session's worker is torn down (its tables flushed), let the worker finish
    what the test set going: a graded lab announces study and LMS tasks that the worker runs after the
    test's own assertions, and a task writing rows while the tables are truncated deadlocks the flush."""
    if "celery_worker_process" not in getattr(item, "fixturenames", ()):
        return
    from django.conf import settings

    if not str(settings.CELERY_BROKER_URL).startswith("redis"):
        return
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + 30  # a retry waiting out its countdown is held too: not forever
    while _session_worker_busy(broker, SESSION_WORKER_QUEUES) and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def english_unless_asked(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests assert on the English source strings; the zh-Hant UI is tested by asking for it
    (language cookie or Accept-Language), which overrides this default like it does for users."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def announcements_stay_in_the_test(request, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An announcement (dlcv_site.events) reaches the broker only in a test that runs the session's
    worker or is marked ``announces``. Otherwise a live-server test's commits would queue tasks that
    the session worker runs later, against rows of other tests, while the database is being flushed."""
    if "celery_worker_process" in request.fixturenames or request.node.get_closest_marker("announces"):
        return
    from dlcv_site import events

    monkeypatch.setattr(events, "send", lambda task, object_id, queue: None)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: ids repeat across rolled-back tests (SQLite), so a
    cached value of one test's user must not reach another's."""
    from django.core.cache import cache

    from quizzes import item_html

    cache.clear()
    item_html.local_cache_clear()
    yield


@pytest.fixture
def cache_down() -> Iterator[None]:
    """The cache is Redis that cannot be reached (nothing listens on port 1), for this test only.
    A context manager, not the ``settings`` fixture: it ends before other fixtures' teardowns."""
    from django.test import override_settings

    unreachable = {"default": {"BACKEND": "dlcv_site.cache.RedisCache",
                               "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "down"}}
    with override_settings(CACHES=unreachable):
        yield


@pytest.fixture
def migration_executor() -> Iterator[Any]:
    """A migration executor for tests that migrate the test database back and forth; the schema is
    put back at the latest migrations afterwards, whatever happens (``dlcv_site.tests.db_support``)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    try:
        yield executor
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
