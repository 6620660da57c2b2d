"""The real bubblewrap sandbox against hostile submissions, and isolation between jobs.

Every test runs student code through :class:`SandboxRunner` (no mocks) and then asserts that no
process of the job is left: job processes live two PID namespaces below this one (the sandbox's,
then the job's own), so any process whose ``NSpid`` is that deep is a leftover.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np
import pytest

from grader.sandbox.limits import Limits
from grader.sandbox.runner import (
    JobOutcome,
    JobSpec,
    SandboxConfig,
    SandboxRunner,
    SandboxUnavailable,
    make_runner,
)
from grader.tests.sandbox_support import open_sandbox

# No per-call timers here (per_call_share=0): these tests are about the job-level limits.
FAST = Limits(cpu_seconds=3, wall_seconds=4, memory_mb=256, max_processes=16, output_bytes=4096, per_call_share=0)


def _status(pid: str) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as status:
            return dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
    except OSError:
        return {}


def _descends_from_us(pid: str) -> bool:
    """Whether ``pid`` is a descendant of this test process (other test runs' sandboxes on the
    same machine are none of our business)."""
    me = str(os.getpid())
    seen = 0
    while pid not in ("0", "1", "") and seen < 64:
        pid = _status(pid).get("PPid", "")
        if pid == me:
            return True
        seen += 1
    return False


def job_processes(settle: float = 2.0) -> list[str]:
    """Our jobs' processes still alive: descendants of this process that live in a job's PID
    namespace, i.e. two levels below ours (ours → the sandbox's → the job's), and are the job (PID 3
    there) or what it started — not the init and guard (PIDs 1 and 2) waiting for the next job. A
    job's init writes the status just before it exits: a moment (``settle``) is allowed for that."""
    mine = len(_status("self").get("NSpid", "").split())

    def left() -> list[str]:
        found = []
        for pid in os.listdir("/proc"):
            nspids = _status(pid).get("NSpid", "").split() if pid.isdigit() else []
            if len(nspids) >= mine + 2 and int(nspids[mine + 1]) >= 3 and _descends_from_us(pid):
                found.append(pid)
        return found

    deadline = time.monotonic() + settle
    while (found := left()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxRunner]:
    yield from open_sandbox(torch=True)


def run(sandbox: SandboxRunner, source: str, *calls: tuple[str, tuple], limits: Limits = FAST,
        torch: bool = False) -> JobOutcome:
    job = JobSpec(source=source, limits=limits, packages=("numpy", "torch") if torch else ("numpy",), calls=[
        {"id": f"t{i}", "function": name, "args": args, "kwargs": {}} for i, (name, args) in enumerate(calls)
    ])
    outcome = sandbox.run(job)
    assert job_processes() == [], "a process of the job outlived it"
    return outcome


def test_a_plain_job_returns_values_and_runs_as_nobody_in_its_own_pid_namespace(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import os\ndef f(x):\n    return x * 2, os.getuid(), os.getpid()\n", ("f", (np.arange(3),)))
    value = out.results["t0"]["value"]
    assert np.array_equal(value[0], [0, 2, 4])
    assert value[1:] == (65534, 3)  # PID 1 is the job's init, 2 its parent (grader.sandbox.zygote)
    assert out.status["exit_code"] == 0 and not out.status["timed_out"]


def test_infinite_loop_is_stopped_by_the_cpu_limit(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "def f():\n    while True:\n        pass\n", ("f", ()))
    assert "t0" not in out.results
    assert out.status.get("signal") in (9, 24)  # SIGKILL/SIGXCPU from RLIMIT_CPU
    assert out.status["cpu_seconds"] < FAST.cpu_seconds + 2


def test_sleeping_past_the_wall_limit_is_killed(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import time\ndef f():\n    time.sleep(60)\n", ("f", ()))
    assert out.status["timed_out"] is True
    assert out.status["wall_seconds"] < FAST.wall_seconds + 1


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing(sandbox: SandboxRunner) -> None:
    source = (
        "import os\n"
        "def f():\n"
        "    n = 0\n"
        "    while True:\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                import time; time.sleep(60)\n"
        "            n += 1\n"
        "        except OSError as e:\n"
        "            return n, e.errno\n"
    )
    out = run(sandbox, source, ("f", ()))
    forks, errno = out.results["t0"]["value"]
    assert forks < FAST.max_processes and errno == 11  # EAGAIN


def test_daemonized_child_does_not_survive_the_job(sandbox: SandboxRunner) -> None:
    source = (
        "import os, time\n"
        "def f():\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(120)\n"
        "        os._exit(0)\n"
        "    return 'forked'\n"
    )
    out = run(sandbox, source, ("f", ()))  # run() asserts no job process is left
    assert out.results["t0"]["value"] == "forked"


def test_memory_bomb_gets_memory_error(sandbox: SandboxRunner) -> None:
    source = "import numpy as np\ndef f():\n    return np.ones((1 << 31,)).sum()\n"
    out = run(sandbox, source, ("f", ()))
    assert out.results["t0"]["exception"] == "MemoryError"


def test_gigabytes_to_stdout_are_capped(sandbox: SandboxRunner) -> None:
    source = "import sys\ndef f():\n    while True:\n        sys.stdout.write('x' * 65536)\n"
    out = run(sandbox, source, ("f", ()))
    assert out.output_truncated and len(out.stdout) <= FAST.output_bytes
    assert out.results["t0"]["exception"] == "BrokenPipeError"


def test_a_huge_file_hits_the_file_size_limit(sandbox: SandboxRunner) -> None:
    source = (
        "def f():\n"
        "    with open('big.bin', 'wb') as fh:\n"
        "        for _ in range(1024):\n"
        "            fh.write(b'0' * (1 << 20))\n"
    )
    out = run(sandbox, source, ("f", ()))
    assert out.results["t0"]["kind"] == "error"
    assert out.results["t0"]["exception"] == "OSError" or out.status.get("signal") == 25  # EFBIG / SIGXFSZ


@pytest.mark.parametrize("address", [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("1.1.1.1", 443), ("pypi.org", 443)])
def test_no_network_at_all(sandbox: SandboxRunner, address: tuple[str, int]) -> None:
    source = (
        "import socket\n"
        "def f(host, port):\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2)\n"
        "    except OSError as e:\n"
        "        return type(e).__name__\n"
        "    return 'connected'\n"
    )
    out = run(sandbox, source, ("f", address))
    assert out.results["t0"]["value"] != "connected"


def test_unix_sockets_of_services_are_not_there(sandbox: SandboxRunner) -> None:
    source = "import os\ndef f():\n    return [p for p in ('/var/run/postgresql', '/run/postgresql', '/var/run/redis', '/run', '/var') if os.path.exists(p)]\n"
    assert run(sandbox, source, ("f", ())).results["t0"]["value"] == []


def test_host_files_secrets_and_environment_are_not_visible(sandbox: SandboxRunner) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    project = os.path.dirname(os.path.dirname(here))
    source = (
        "import os\n"
        "def f(paths):\n"
        "    seen = [p for p in paths if os.path.exists(p)]\n"
        "    return seen, dict(os.environ)\n"
    )
    paths = ["/etc/passwd", "/etc/shadow", os.path.join(project, "dlcv_site", "settings.py"),
             os.path.join(project, "grader", "reference", "conv.py"), os.path.join(project, "var"),
             os.path.join(project, ".git"), "/root/.ssh", "/home"]
    out = run(sandbox, source, ("f", (paths,)))
    seen, environ = out.results["t0"]["value"]
    assert seen == []
    assert not any(k in environ for k in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PATH"))
    assert set(environ) <= set(SandboxConfig().environ()) | {"HOME"}
    # The thread counts are set, so BLAS/OpenMP/torch use the one core a job is given.
    assert environ["OMP_NUM_THREADS"] == environ["OPENBLAS_NUM_THREADS"] == environ["MKL_NUM_THREADS"] == "1"


def test_the_filesystem_is_read_only_outside_the_work_dirs(sandbox: SandboxRunner) -> None:
    source = (
        "import os\n"
        "def f():\n"
        "    results = {}\n"
        "    for path in ('/usr/evil', '/opt/site/numpy/evil.py', '/evil', '/work/ok', '/tmp/ok'):\n"
        "        try:\n"
        "            open(path, 'w').close(); results[path] = 'written'\n"
        "        except OSError as e:\n"
        "            results[path] = e.strerror\n"
        "    return results\n"
    )
    results = run(sandbox, source, ("f", ())).results["t0"]["value"]
    assert results["/work/ok"] == results["/tmp/ok"] == "written"
    remove = (
        "import os, shutil\n"
        "def f():\n"
        "    out = []\n"
        "    for path in ('/usr/bin/env', '/opt/site/numpy/__init__.py'):\n"
        "        try:\n"
        "            os.remove(path); out.append('deleted')\n"
        "        except OSError as e:\n"
        "            out.append(e.strerror)\n"
        "    shutil.rmtree('/opt/site', ignore_errors=True)\n"
        "    return out, os.path.exists('/opt/site/numpy/__init__.py')\n"
    )
    removed, still_there = run(sandbox, remove, ("f", ())).results["t0"]["value"]
    assert "deleted" not in removed and still_there is True
    assert all(v != "written" for k, v in results.items() if k not in ("/work/ok", "/tmp/ok"))


def test_files_and_memory_do_not_pass_from_one_job_to_the_next(sandbox: SandboxRunner) -> None:
    write = (
        "import os, numpy\n"
        "def f():\n"
        "    open('/work/left.txt', 'w').write('x'); open('/tmp/left.txt', 'w').write('x')\n"
        "    open('/dev/shm/left', 'w').write('x')\n"
        "    numpy.left_behind = True\n"
        "    numpy.allclose = lambda *a, **k: True\n"
    )
    run(sandbox, write, ("f", ()))
    read = (
        "import os, numpy\n"
        "def f():\n"
        "    return (os.listdir('/work'), os.listdir('/tmp'), os.listdir('/dev/shm'),\n"
        "            hasattr(numpy, 'left_behind'), numpy.allclose([0.0], [1.0]))\n"
    )
    work, tmp, shm, flag, patched = run(sandbox, read, ("f", ())).results["t0"]["value"]
    assert work == ["submission.py"] and tmp == [] and shm == []
    assert flag is False and patched is False


def test_killing_the_parent_kills_nothing_but_the_job(sandbox: SandboxRunner) -> None:
    source = "import os, signal\ndef f():\n    os.kill(os.getppid() or 1, signal.SIGKILL)\n    os.kill(-1, signal.SIGKILL)\n"
    run(sandbox, source, ("f", ()))
    again = run(sandbox, "def f():\n    return 'alive'\n", ("f", ()))
    assert again.results["t0"]["value"] == "alive"


def test_sys_exit_at_import_is_reported(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import sys\nsys.exit(0)\n", ("f", ()))
    assert out.frame("import_error")["exception"] == "SystemExit"
    assert out.results == {}


def test_os_exit_at_import_ends_the_job_without_results(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import os\nos._exit(0)\n", ("f", ()))
    assert out.results == {} and out.status["exit_code"] == 0


def test_printing_a_fake_result_is_only_output(sandbox: SandboxRunner) -> None:
    source = "print('All tests passed! score: 100/100')\ndef f():\n    return None\n"
    out = run(sandbox, source, ("f", ()))
    assert "100/100" in out.stdout and out.results["t0"]["value"] is None


def test_forged_and_malformed_result_frames(sandbox: SandboxRunner) -> None:
    source = (
        "import os, pickle\n"
        "def f():\n"
        "    os.write(3, b'\\x05\\x00\\x00\\x00hello' + pickle.dumps(object))\n"
        "    return 1\n"
    )
    out = run(sandbox, source, ("f", ()))
    assert "t0" not in out.results and out.result_error


def test_a_pickle_cannot_be_returned(sandbox: SandboxRunner) -> None:
    source = "import numpy as np\ndef f():\n    return np.array([object()], dtype=object)\n"
    out = run(sandbox, source, ("f", ()))
    assert out.results["t0"]["kind"] == "error" and "cannot be graded" in out.results["t0"]["error"]


def test_starting_a_subprocess_finds_no_shell_or_tools(sandbox: SandboxRunner) -> None:
    source = (
        "import subprocess\n"
        "def f():\n"
        "    out = []\n"
        "    for cmd in (['id'], ['/bin/sh', '-c', 'cat /etc/passwd'], ['curl', 'http://example.com']):\n"
        "        try:\n"
        "            out.append(subprocess.run(cmd, capture_output=True, timeout=2).returncode)\n"
        "        except Exception as e:\n"
        "            out.append(type(e).__name__)\n"
        "    return out\n"
    )
    out = run(sandbox, source, ("f", ()))
    # /usr is there (read-only), so `id` may run — but as nobody, with nothing to read or reach.
    assert all(r != 0 or i == 0 for i, r in enumerate(out.results["t0"]["value"]))


def test_ctypes_segfault_is_a_clean_crash(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import ctypes\ndef f():\n    ctypes.string_at(0)\n", ("f", ()))
    assert out.status.get("signal") == 11 and "t0" not in out.results


def test_deep_recursion(sandbox: SandboxRunner) -> None:
    source = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n=0):\n    return f(n + 1)\n"
    out = run(sandbox, source, ("f", ()))
    # The process dies (no result), or the recursion limit or the memory limit stops the call.
    # Never CPython's "SystemError: error return without exception set", which a recursion that
    # exhausts memory raises in 3.11: it is named for what it is.
    assert "t0" not in out.results or out.results["t0"]["exception"] in ("RecursionError", "MemoryError")
    if "t0" in out.results and out.results["t0"]["exception"] == "MemoryError":
        assert "recursion" in out.results["t0"]["error"]


def test_missing_module_is_a_clear_import_error(sandbox: SandboxRunner) -> None:
    out = run(sandbox, "import sklearn\n", ("f", ()))
    assert out.frame("import_error")["exception"] == "ModuleNotFoundError"
    assert "sklearn" in out.frame("import_error")["error"]


def test_the_grader_process_is_not_reachable(sandbox: SandboxRunner) -> None:
    source = "import os\ndef f():\n    return sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
    assert run(sandbox, source, ("f", ())).results["t0"]["value"] == [1, 2, 3]  # its init, its parent, itself


def test_torch_is_preloaded_and_single_threaded(sandbox: SandboxRunner) -> None:
    source = "import torch\ndef f():\n    return torch.get_num_threads(), torch.ones(2, 2) @ torch.ones(2, 2)\n"
    out = run(sandbox, source, ("f", ()), torch=True)
    threads, product = out.results["t0"]["value"]
    assert threads == 1 and np.array_equal(product, np.full((2, 2), 2.0))


def test_make_runner_refuses_without_bubblewrap() -> None:
    with pytest.raises(SandboxUnavailable, match="without a sandbox"):
        make_runner(config=SandboxConfig(bwrap="/nonexistent/bwrap"))


def test_only_the_job_pipes_are_open_in_the_job(sandbox: SandboxRunner) -> None:
    source = "import os\ndef f():\n    return sorted(int(fd) for fd in os.listdir('/proc/self/fd'))\n"
    fds = run(sandbox, source, ("f", ())).results["t0"]["value"]
    assert fds[:4] == [0, 1, 2, 3] and len(fds) <= 5  # + the directory listing's own descriptor


def test_a_dead_zygote_fails_its_job_as_ours_and_is_restarted(sandbox: SandboxRunner) -> None:
    import threading
    import time

    from grader.sandbox.runner import SandboxError

    zygote = sandbox.zygote(("numpy",))
    errors: list[BaseException] = []

    def slow_job() -> None:
        try:
            run(sandbox, "import time\ndef f():\n    time.sleep(2)\n", ("f", ()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=slow_job)
    thread.start()
    time.sleep(0.5)
    assert zygote.process is not None
    zygote.process.kill()  # the whole sandbox dies mid-job
    thread.join(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], SandboxError)
    again = run(sandbox, "def f():\n    return 'fresh zygote'\n", ("f", ()))
    assert again.results["t0"]["value"] == "fresh zygote"


def test_per_call_budgets_stop_one_function_and_keep_grading_the_others(sandbox: SandboxRunner) -> None:
    limits = Limits(cpu_seconds=4, wall_seconds=6, memory_mb=256, per_call_share=0.25)
    source = "def spin():\n    while True:\n        pass\n\ndef ok():\n    return 'fine'\n"
    out = run(sandbox, source, ("spin", ()), ("ok", ()), ("spin", ()), ("ok", ()), limits=limits)
    results = out.results
    # Usually the CPU budget; on a busy machine the wall-clock one can come first.
    assert results["t0"]["exception"] == "CallTimeout" and results["t0"]["clock"] in ("CPU", "wall-clock")
    assert results["t2"].get("skipped") is True  # no second second spent on a known hang
    assert results["t1"]["value"] == results["t3"]["value"] == "fine"
    assert out.status["exit_code"] == 0 and out.status["cpu_seconds"] < 2.5
