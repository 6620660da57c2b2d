"""``python -m grader.sandbox.bench``: what the sandbox costs per submission, next to its baselines.

Measured in one run on this machine (ratios matter, not absolute numbers):

* baselines: fork+exec of ``/bin/true``; a fresh ``python -c pass``; bubblewrap + a fresh Python +
  ``import numpy``; a fresh ``import torch``; forking a process that already imported numpy+torch;
* sandbox overhead per submission for an *empty* lab (one call that returns at once): the wall
  time from hand-over to the last byte read, minus the time the harness spent importing the
  student's file and inside their function — p50 / p99 for the numpy and the torch zygote;
* throughput: trivial numpy submissions graded per second with ``--workers`` graders in parallel;
* wall time to grade the conv2d-forward lab's model solution and the train-cnn lab's.

* cold after start (issue 16): a fresh runner warmed from a thread that then ends, as a code worker
  does at start; the first submission's wall time next to the warm ones', and whether a zygote had
  to be started again;
* the machine: a fixed pure-Python loop and the load average, to read the rest against.

Goals (issue 6): overhead p50 ≤ 50 ms (numpy) and ≤ 100 ms (torch), p99 ≤ 2 × p50, ≥ 20 trivial
numpy submissions graded per second on 2 cores. Issue 16: the first submission after a worker
start within 1.5 × a warm one (``--only-cold`` measures just that).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .limits import Limits
from .runner import JobSpec, SandboxConfig, SandboxRunner

TRIVIAL = "def f():\n    return 0\n"
CALL = [{"id": "t", "function": "f", "args": (), "kwargs": {}}]


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 2), "p99_ms": round(_pct(values, 0.99), 2),
            "mean_ms": round(statistics.fmean(values), 2), "n": len(values)}


def _fork_preimported_ms(repeat: int) -> list[float]:
    code = (
        "import os, time, numpy, torch, json\n"
        "times = []\n"
        f"for _ in range({repeat}):\n"
        "    t = time.perf_counter(); pid = os.fork()\n"
        "    if pid == 0: os._exit(0)\n"
        "    os.waitpid(pid, 0); times.append((time.perf_counter() - t) * 1000)\n"
        "print(json.dumps(times))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def baselines(runner: SandboxRunner, repeat: int) -> dict[str, Any]:
    cfg = runner.config
    numpy_site = str(cfg.runtime(("numpy",)).site_dir)
    bwrap_numpy = [
        cfg.bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
        sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {numpy_site!r}); import numpy",
    ]
    return {
        "fork_exec_true": _summary(_timed(lambda: subprocess.run(["/bin/true"], check=True), repeat)),
        "python_c_pass": _summary(_timed(lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), repeat)),
        "bwrap_python_import_numpy": _summary(_timed(lambda: subprocess.run(bwrap_numpy, check=True), max(3, repeat // 4))),
        "python_import_torch": _summary(_timed(lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True), 3)),
        "fork_preimported_numpy_torch": _summary(_fork_preimported_ms(repeat)),
    }


def overhead(runner: SandboxRunner, torch: bool, repeat: int) -> dict[str, Any]:
    job = JobSpec(source=TRIVIAL, calls=CALL, limits=Limits(), packages=("numpy", "torch") if torch else ("numpy",))
    runner.run(job)  # warm
    totals, overheads = [], []
    for _ in range(repeat):
        outcome = runner.run(job)
        assert outcome.results["t"]["value"] == 0, outcome
        totals.append(outcome.wall_seconds * 1000)
        overheads.append((outcome.wall_seconds - outcome.busy_seconds) * 1000)
    return {"overhead": _summary(overheads), "total": _summary(totals)}


def throughput(runner: SandboxRunner, workers: int, seconds: float) -> dict[str, Any]:
    from grader.codelabs.base import Check, CodeLab, TestCase
    from grader.codelabs.grade import grade_code
    from grader.i18n import Verbatim

    class Trivial(CodeLab):
        slug = "bench-trivial"
        title = "trivial"
        functions = ("f",)

        def public_cases(self) -> list[TestCase]:
            return [TestCase("t", "trivial", 1, "f", (), lambda v: Check.ok() if v == 0 else Check.fail(Verbatim("no")))]

        def hidden_cases(self, seed: int) -> list[TestCase]:
            return []

        def fingerprint(self) -> str:
            return "bench"

    lab = Trivial()
    done = [0] * workers
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        while time.monotonic() < stop:
            result = grade_code(lab=lab, source=TRIVIAL, seed=0, runner=runner)
            assert result.score == 1.0
            done[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {"workers": workers, "graded": sum(done), "seconds": round(elapsed, 2),
            "per_second": round(sum(done) / elapsed, 1)}


def machine_speed() -> dict[str, float]:
    """What this machine does in a fixed amount of pure-Python work, to read the others against."""
    def loop() -> None:
        total = 0
        for i in range(1_000_000):
            total += i
    return {"python_loop_1e6_ms": round(statistics.median(_timed(loop, 5)), 1),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def cold_after_start(torch: bool, starts: int, repeat: int) -> dict[str, Any]:
    """Issue 16, item 2: a worker starts, warms its sandbox from a short-lived thread (as
    ``labs.tasks`` does) and the thread ends; then the first submission vs the warm ones after it.
    Goal: first ≤ 1.5 × warm (p50s). Each start is a new runner, so a new set of zygotes."""
    job = JobSpec(source=TRIVIAL, calls=CALL, limits=Limits(), packages=("numpy", "torch") if torch else ("numpy",))
    firsts, warms, restarts = [], [], 0
    for _ in range(starts):
        runner = SandboxRunner(SandboxConfig())
        try:
            warm_up = threading.Thread(target=runner.warm, kwargs={"torch": torch}, name="warm-sandbox")
            warm_up.start()
            warm_up.join()
            time.sleep(0.5)  # the worker waits for its first task; a zygote tied to the thread dies here
            zygote = runner.zygote(job.packages)
            before = zygote.starts
            run_one = functools.partial(runner.run, job)
            firsts.append(_timed(run_one, 1)[0])
            restarts += zygote.starts - before
            warms += _timed(run_one, repeat)
        finally:
            runner.close()
    first, warm = statistics.median(firsts), statistics.median(warms)
    return {"first_after_start": _summary(firsts), "warm": _summary(warms), "zygote_restarts": restarts,
            "ratio_p50": round(first / warm, 2), "goal_ratio": 1.5, "met": first <= 1.5 * warm and restarts == 0}


def lab_walls(runner: SandboxRunner) -> dict[str, Any]:
    from grader.codelabs import all_codelabs
    from grader.codelabs.grade import grade_code

    out: dict[str, Any] = {}
    for lab in all_codelabs():
        if lab.slug not in ("conv2d-forward", "train-cnn"):
            continue
        started = time.perf_counter()
        result = grade_code(lab=lab, source=lab.solution(), seed=1, runner=runner)
        assert result.run is not None
        out[lab.slug] = {"wall_s": round(time.perf_counter() - started, 2), "score": result.score,
                         "tests": len(result.tests), "cpu_s": result.run.resources["cpu_seconds"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-labs", action="store_true")
    parser.add_argument("--starts", type=int, default=5, help="worker starts for the cold-after-start figure")
    parser.add_argument("--only-cold", action="store_true", help="only the cold-after-start figures")
    args = parser.parse_args(argv)
    if args.only_cold:
        report = {"machine": machine_speed(),
                  "cold_after_start": {"numpy": cold_after_start(False, args.starts, 20),
                                       "torch": cold_after_start(True, args.starts, 20)}}
        print(json.dumps(report, indent=2))
        return 0
    runner = SandboxRunner(SandboxConfig())
    try:
        started = time.perf_counter()
        runner.warm(torch=False)
        numpy_start = time.perf_counter() - started
        started = time.perf_counter()
        runner.warm(torch=True)
        torch_start = time.perf_counter() - started
        report: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "machine": machine_speed(),
            "zygote_start_s": {"numpy": round(numpy_start, 2), "torch": round(torch_start, 2)},
            "baselines": baselines(runner, max(10, args.repeat // 4)),
            "numpy_lab": overhead(runner, False, args.repeat),
            "torch_lab": overhead(runner, True, args.repeat),
            "throughput_trivial_numpy": throughput(runner, args.workers, args.seconds),
        }
        if not args.skip_labs:
            report["labs"] = lab_walls(runner)
        report["cold_after_start"] = {"numpy": cold_after_start(False, args.starts, 20),
                                      "torch": cold_after_start(True, args.starts, 20)}
        for name, goal in (("numpy_lab", 50.0), ("torch_lab", 100.0)):
            o = report[name]["overhead"]
            report[name]["goal_p50_ms"] = goal
            report[name]["met"] = o["p50_ms"] <= goal and o["p99_ms"] <= 2 * o["p50_ms"]
        report["throughput_trivial_numpy"]["met"] = report["throughput_trivial_numpy"]["per_second"] >= 20
    finally:
        runner.close()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
