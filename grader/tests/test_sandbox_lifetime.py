"""The sandbox's zygotes live as long as their runner (issue 16, items 2 and 3): a warm-up thread
that ends does not take them along, and nothing a job does stops them."""

from __future__ import annotations

import shutil
import threading
import time

from conftest import service_missing
from grader.sandbox.limits import Limits
from grader.sandbox.runner import JobSpec, SandboxConfig, SandboxRunner
from grader.tests.test_sandbox import job_processes

FAST = Limits(cpu_seconds=3, wall_seconds=6, memory_mb=256, per_call_share=0)
ALIVE = "def f():\n    return 'alive'\n"


def job(source: str, packages: tuple[str, ...] = ("numpy",)) -> JobSpec:
    return JobSpec(source=source, limits=FAST, packages=packages,
                   calls=[{"id": "t", "function": "f", "args": (), "kwargs": {}}])


def test_zygotes_warmed_by_a_thread_that_ends_stay_alive_and_serve_the_next_job() -> None:
    if shutil.which("bwrap") is None:
        service_missing("bubblewrap: `bwrap` is not installed (apt-get install bubblewrap)")
    runner = SandboxRunner(SandboxConfig())
    try:
        warm_up = threading.Thread(target=runner.warm, kwargs={"torch": False}, name="warm-sandbox")
        warm_up.start()
        warm_up.join()
        zygote = runner.zygote(("numpy",))
        assert zygote.process is not None
        pid = zygote.process.pid
        time.sleep(1.0)  # PR_SET_PDEATHSIG of a zygote tied to the thread would have fired by now
        assert zygote.alive()
        assert runner.run(job(ALIVE)).results["t"]["value"] == "alive"
        assert zygote.starts == 1 and zygote.process.pid == pid
    finally:
        runner.close()
    assert job_processes() == []
