"""The sandbox's zygotes live as long as their runner (issue 16, items 2 and 3): a warm-up thread
that ends does not take them along, and nothing a job does stops them."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import service_missing
from grader.codelabs.grade import grade_code
from grader.i18n import word
from grader.sandbox.limits import Limits
from grader.sandbox.runner import JobSpec, SandboxConfig, SandboxRunner
from grader.tests.sandbox_support import open_sandbox
from grader.tests.test_codelab_grading import GOOD, LAB
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


# --------------------------------------------------------------------------- item 3


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxRunner]:
    yield from open_sandbox(torch=False)


@pytest.mark.parametrize("kill", [
    "os.kill(0, signal.SIGKILL)", "os.kill(-1, signal.SIGKILL)", "os.killpg(os.getpgrp(), signal.SIGKILL)",
    "os.kill(os.getppid(), signal.SIGKILL)", "os.kill(0, signal.SIGTERM)", "os.kill(-1, signal.SIGSTOP)",
])
def test_a_job_that_signals_its_own_sandbox_is_graded_zero_and_the_zygote_lives_on(
        sandbox: SandboxRunner, kill: str) -> None:
    zygote = sandbox.zygote(("numpy",))
    assert zygote.process is not None
    pid, starts = zygote.process.pid, zygote.starts
    source = f"import os, signal, time\n\ndef double(x):\n    {kill}\n    time.sleep(0.5)\n    return 2 * x\n"
    result = grade_code(lab=LAB, source=source, seed=1, runner=sandbox)
    assert result.score == 0 and result.points == 0
    assert word(result.message, "en").startswith("Your code stopped its own process")
    assert word(result.message, "zh-Hant") != word(result.message, "en")
    assert all(t.points == 0 and word(t.message, "en") == word(result.message, "en") for t in result.tests)
    assert job_processes() == []
    assert zygote.alive() and zygote.process.pid == pid and zygote.starts == starts
    again = grade_code(lab=LAB, source=GOOD, seed=2, runner=sandbox)
    assert again.score == 1, word(again.message, "en")


def test_a_job_sees_only_its_own_sandbox_and_leads_no_session_of_the_zygote(sandbox: SandboxRunner) -> None:
    source = "import os\ndef f():\n    return os.getpid(), os.getppid(), os.getpgrp(), os.getsid(0), os.listdir('/proc')\n"
    pid, parent, group, session, proc = sandbox.run(job(source)).results["t"]["value"]
    # PID 1 is the job's init (session and group leader, unkillable from inside), 2 its parent.
    assert (pid, parent, group, session) == (3, 2, 1, 1)
    assert sorted(int(p) for p in proc if p.isdigit()) == [1, 2, 3]
