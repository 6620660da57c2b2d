"""The one door from Celery into the grader core. Tasks take ids, re-fetch, and call a service."""

from __future__ import annotations

import os
import socket

from celery import shared_task


@shared_task(name="grader.ping", ignore_result=False, acks_late=False, soft_time_limit=5, time_limit=10)
def ping() -> dict[str, object]:
    """A trivial round trip for /healthz: proves a worker consumes the queue and results come back."""
    return {"pong": True, "worker": socket.gethostname(), "pid": os.getpid()}
