"""Celery worker subprocesses for the reliability tests: a private queue, a chosen environment, and
a process group of their own so a test can SIGKILL the whole worker (main process and pool)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.conf import settings

from conftest import PROJECT_DIR, _database_url_for_worker

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def private_queue(prefix: str) -> str:
    return f"h12-{prefix}-{uuid.uuid4().hex[:8]}"


def start_worker(queue: str, *, name: str, env: dict[str, str] | None = None, concurrency: int = 1,
                 timeout: float = 60, node: str | None = None, prefetch: int = 1) -> subprocess.Popen[bytes]:
    """A `celery worker` on the test database consuming only ``queue``; returns once it answers a ping.
    ``node``: its node name (a restart of the same worker reuses it); otherwise a fresh one."""
    from dlcv_site.tasks import ping

    log_path = Path(settings.VAR_DIR) / f"test-worker-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker_env = dict(os.environ, DATABASE_URL=_database_url_for_worker(), PYTHONUNBUFFERED="1", **(env or {}))
    command = [
        sys.executable, "-m", "celery", "-A", "dlcv_site", "worker", "-Q", queue, "-c", str(concurrency),
        "--prefetch-multiplier", str(prefetch), "-n", node or f"{name}-{uuid.uuid4().hex[:6]}@%h", "-l", "info",
        "--without-gossip", "--without-mingle",
    ]
    with log_path.open("ab") as log_file:
        worker = subprocess.Popen(command, cwd=PROJECT_DIR, env=worker_env, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ping.apply_async(queue=queue, retry=False).get(timeout=2)
            return worker
        except Exception as exc:  # not up yet
            if worker.poll() is not None or time.monotonic() > deadline:
                kill_worker(worker)
                raise RuntimeError(f"worker {name} did not start: {exc}; log in {log_path}") from exc


def pool_children(worker: subprocess.Popen[bytes]) -> list[int]:
    """The pids of the worker's pool processes (the main process's children)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's whole process group (the main process and its pool children)."""
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait(timeout=10)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """A warm shutdown (SIGTERM to the main process), then SIGKILL if it does not exit in time."""
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill_worker(worker)
