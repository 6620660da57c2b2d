"""Health checks: a real round trip to the database, the broker and each grader queue's workers."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings

from dlcv_site import sql
from dlcv_site.celery import app as celery_app


@dataclass
class CheckResult:
    ok: bool
    ms: float
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _timed(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def check_database() -> CheckResult:
    start = time.perf_counter()
    try:
        sql.database_round_trip()
    except Exception as exc:  # any driver error means "down"; the message names it
        return CheckResult(False, _timed(start), f"{type(exc).__name__}: {exc}")
    return CheckResult(True, _timed(start), settings.DATABASE_ENGINE)


def check_broker() -> CheckResult:
    start = time.perf_counter()
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return CheckResult(False, _timed(start), f"{type(exc).__name__}: {exc}")
    return CheckResult(True, _timed(start), settings.BROKER_MODE)


def check_workers(timeout: float | None = None) -> CheckResult:
    """Enqueue a trivial task on every grader queue and read each result back within the timeout."""
    from dlcv_site.tasks import ping

    timeout = settings.HEALTHZ_WORKER_TIMEOUT if timeout is None else timeout
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    replies: dict[str, object] = {}
    failures: list[str] = []
    pending = {}
    for queue in settings.GRADER_QUEUES:
        try:
            pending[queue] = ping.apply_async(queue=queue, retry=False, expires=timeout)
        except Exception as exc:
            failures.append(f"{queue}: cannot enqueue ({type(exc).__name__}: {exc})")
    for queue, result in pending.items():
        try:
            replies[queue] = result.get(timeout=max(0.1, deadline - time.monotonic()), propagate=True)
        except CeleryTimeoutError:
            failures.append(f"{queue}: no worker answered within {timeout:g}s")
        except Exception as exc:
            failures.append(f"{queue}: {type(exc).__name__}: {exc}")
        finally:
            # Cleanup only: a reply that never came has nothing to forget, and the file result
            # backend (make run's) raises FileNotFoundError for it; the check's verdict stands.
            with contextlib.suppress(Exception):
                result.forget()
    if failures:
        return CheckResult(False, _timed(start), "; ".join(failures), {"replies": replies})
    return CheckResult(True, _timed(start), "all grader queues answered", {"replies": replies})


def health_report() -> tuple[bool, dict[str, object]]:
    database = check_database()
    broker = check_broker()
    # Without a broker no worker can answer; say so instead of waiting for the timeout.
    workers = check_workers() if broker.ok else CheckResult(False, 0.0, "broker unreachable")
    checks = {"database": database, "broker": broker, "workers": workers}
    all_ok = all(check.ok for check in checks.values())
    failing = [name for name, check in checks.items() if not check.ok]
    report: dict[str, object] = {
        "status": "ok" if all_ok else "fail",
        "failing": failing,
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
    return all_ok, report
