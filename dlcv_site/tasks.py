"""The platform's own task: a round trip through each grader queue, for /healthz and the tests."""

from __future__ import annotations

import os
import socket

from celery import shared_task


# Registered as "grader.ping" since the first release: workers and health checks agree on the name.
@shared_task(name="grader.ping", ignore_result=False, acks_late=False, soft_time_limit=5, time_limit=10)
def ping() -> dict[str, object]:
    """A trivial round trip for /healthz: proves a worker consumes the queue and results come back."""
    return {"pong": True, "worker": socket.gethostname(), "pid": os.getpid()}
