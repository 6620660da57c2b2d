"""A real code worker's warm sandbox (issue 16, item 2): the zygotes its warm-up thread starts are
still alive after that thread has ended, so the first submission does not pay for a new one."""

from __future__ import annotations

import os
import time

import pytest

from labs.services.queue import CODE_QUEUE
from labs.tests.workers import start_worker, stop_worker, wait_for


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            found += [int(p) for p in children.read().split()]
    return found


def _state(pid: int) -> tuple[str, str]:
    """(command name, state letter) of ``pid``; ("", "") once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return "", ""
    return text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2]


def _live_bwraps(worker_pid: int) -> list[int]:
    """The bwrap processes (zygotes) of the worker's pool processes that are alive (not defunct)."""
    pool = _children(worker_pid)
    states = {p: _state(p) for child in pool for p in _children(child)}
    return sorted(p for p, (name, state) in states.items() if name == "bwrap" and state not in ("Z", "X", ""))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_zygotes_warmed_at_worker_start_stay_alive() -> None:
    worker = start_worker(CODE_QUEUE, name="warm-code")
    try:
        zygotes = wait_for(lambda: len(_live_bwraps(worker.pid)) == 2 and _live_bwraps(worker.pid), timeout=120,
                           what="the code worker's two warm zygotes (numpy, numpy+torch)")
        time.sleep(3)  # long after the warm-up thread has ended
        assert _live_bwraps(worker.pid) == zygotes
    finally:
        stop_worker(worker)
