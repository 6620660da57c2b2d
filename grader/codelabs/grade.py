"""Grade one coding-lab submission: run it in the sandbox, check every returned value here.

``grade_code(lab=..., source=..., seed=..., runner=...)`` returns a
:class:`~grader.results.GradingResult`: per test its points, what was earned and why (a lazy text,
worded in the reader's language), and in ``run`` the job's capped output, the resources it used
and why it stopped early, if it did. The student's process only computes; scoring happens on this
side, so nothing it prints, patches or forges can raise a score.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any, Protocol

from grader.i18n import N_, Plural, Text, Verbatim, Wording
from grader.results import GradingResult, RunOutput, TestResult
from grader.sandbox.runner import JobOutcome, JobSpec
from grader.sandbox.runtime import runtime_name

from .base import Check, CodeLab, TestCase

__all__ = ["GraderBug", "Runner", "allowed_imports", "grade_code", "job_for"]

#: What a student's file may import, per sandbox runtime (worded where it is shown).
_ALLOWED_IMPORTS = {
    "numpy": N_("the Python standard library and numpy"),
    "numpy-torch": N_("the Python standard library, numpy and torch"),
}


def allowed_imports(packages: Sequence[str]) -> Text:
    """What a lab allowing ``packages`` lets the student import, as a lazy text."""
    return Text(_ALLOWED_IMPORTS[runtime_name(packages)])


def _forbidden_module(frame: dict[str, Any], packages: Sequence[str]) -> str | None:
    """The top-level package a failed import asked for, if the lab does not allow it."""
    if frame.get("exception") not in ("ModuleNotFoundError", "ImportError"):
        return None
    module = str(frame.get("module") or "").split(".")[0][:100]
    if not module or module in packages or module in sys.stdlib_module_names:
        return None
    return module


def _not_allowed(module: str, packages: Sequence[str]) -> Text:
    return Text("This lab allows only %(allowed)s: %(module)s is not available to your code.",
                allowed=allowed_imports(packages), module=module)


class Runner(Protocol):
    sandboxed: bool

    def run(self, job: JobSpec) -> JobOutcome: ...


class GraderBug(RuntimeError):
    """A check raised: our fault, never the student's (the submission is marked failed, not 0)."""


def job_for(lab: CodeLab, source: str, cases: list[TestCase], packages: Sequence[str] | None = None) -> JobSpec:
    calls = [{"id": c.name, "function": c.function, "args": tuple(c.args), "kwargs": dict(c.kwargs)} for c in cases]
    return JobSpec(source=source, calls=calls, limits=lab.limits, packages=tuple(packages or lab.allowed_packages),
                   filename="submission.py", module=lab.module_name)


def _death(outcome: JobOutcome, lab: CodeLab) -> Text:
    """Why the job stopped before answering every call."""
    status = outcome.status
    limits = lab.limits
    if outcome.result_error:
        return Text("The grader could not read your results (%(error)s).", error=outcome.result_error)
    if outcome.results_truncated:
        return Text("Your functions returned more than %(mb)s MB in total.", mb=limits.result_bytes // (1024 * 1024))
    if status.get("timed_out"):
        return Text("Stopped: the wall-clock limit of %(seconds)g s was reached.", seconds=limits.wall_seconds)
    sig = status.get("signal")
    if sig in (signal.SIGXCPU, signal.SIGKILL) and float(status.get("cpu_seconds", 0)) >= limits.cpu_seconds - 0.5:
        return Text("Stopped: the CPU time limit of %(seconds)g s was exceeded.", seconds=limits.cpu_seconds)
    if sig == signal.SIGSEGV:
        return Text("Your program crashed (segmentation fault).")
    if sig == signal.SIGXFSZ:
        return Text("Your program wrote a file larger than the %(mb)s MB limit.", mb=limits.file_mb)
    if sig is not None:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return Text("Your program was killed by signal %(signal)s.", signal=name)
    return Text("Your program exited (exit code %(code)s) before every test had run.", code=status.get("exit_code"))


def _import_failure(frame: dict[str, Any], packages: Sequence[str]) -> Text:
    exception = frame.get("exception")
    forbidden = _forbidden_module(frame, packages)
    if forbidden:
        return _not_allowed(forbidden, packages)
    error = str(frame.get("error", ""))
    trace = str(frame.get("traceback", ""))
    if exception == "SystemExit":
        return Text("Your file called sys.exit() while it was being imported; remove top-level code that exits.")
    if exception in ("ModuleNotFoundError", "ImportError"):
        return Text("Your file could not be imported: %(error)s. The grader has only %(allowed)s.",
                    error=error, allowed=allowed_imports(packages))
    return Text("Your file could not be imported:\n%(error)s", error=trace or error)


def _call_timeout(frame: dict[str, Any]) -> Text:
    name = str(frame.get("function", "?"))
    try:
        budget = float(frame.get("budget") or 0)
    except (TypeError, ValueError):
        budget = 0.0
    if frame.get("skipped"):
        return Text("Skipped: %(function)s() already ran out of time in an earlier test.", function=name)
    if frame.get("clock") == "CPU":
        return Text("Stopped: %(function)s() used up the per-test CPU time of %(seconds)g s (an endless loop?).",
                    function=name, seconds=budget)
    return Text("Stopped: %(function)s() used up the per-test wall-clock time of %(seconds)g s (an endless loop?).",
                function=name, seconds=budget)


def _test(case: TestCase, status: str, check: Check | None, why: Wording | None, seconds: float | None,
          traceback: str = "") -> TestResult:
    fraction = check.fraction if check else 0.0
    message = check.message if check else (why if why is not None else Verbatim(""))
    return TestResult(
        name=case.name, title=case.title, public=case.public, function=case.function,
        max_points=float(case.points), points=round(float(case.points) * fraction, 6), status=status,
        message=message, seconds=None if seconds is None else round(float(seconds), 4),
        traceback=traceback[-3000:] if traceback else "",
        detail=_jsonable(check.detail) if check and check.detail else {},
    )


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"array{value.shape}"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def grade_code(*, lab: CodeLab, source: str, seed: int, runner: Runner,
               allowed_packages: Sequence[str] | None = None) -> GradingResult:
    """Run ``source`` against every case of ``lab`` for ``seed`` and score it. ``allowed_packages``
    (the course's lab definition; default: the code lab's own) picks the sandbox runtime."""
    cases = lab.cases(seed)
    job = job_for(lab, source, cases, allowed_packages)
    packages = job.packages
    outcome = runner.run(job)
    results = outcome.results
    import_error = outcome.frame("import_error")
    tests: list[TestResult] = []
    summary: Text | None = None
    died_during_seen = False
    # The job signalled its own sandbox (its process group, every process, its parent): the run
    # ended there, and nothing it returned counts.
    stopped_itself = bool(outcome.status.get("stopped_itself"))
    for case in cases:
        frame = results.get(case.name)
        if stopped_itself:
            summary = Text("Your code stopped its own process (it sent a signal to the processes running it), "
                           "so this run has no result: 0 points.")
            tests.append(_test(case, "error", None, summary, None))
        elif import_error is not None:
            summary = summary or _import_failure(import_error, packages)
            tests.append(_test(case, "not_run", None, summary, None))
        elif frame is None:
            why = _death(outcome, lab)
            summary = summary or why
            if not died_during_seen:
                died_during_seen = True
                tests.append(_test(case, "error", None, Text("%(why)s (during this test)", why=why), None))
            else:
                tests.append(_test(case, "not_run", None, Text("Not run: your program had already stopped."), None))
        elif frame.get("kind") == "error" and frame.get("exception") == "CallTimeout":
            tests.append(_test(case, "error", None, _call_timeout(frame), frame.get("seconds")))
        elif frame.get("kind") == "error" and _forbidden_module(frame, packages):
            tests.append(_test(case, "error", None, _not_allowed(str(_forbidden_module(frame, packages)), packages),
                               frame.get("seconds"), str(frame.get("traceback", ""))))
        elif frame.get("kind") == "error":
            # What the student's own code raised: the same in every language.
            error = Verbatim(str(frame.get("error", "")))
            tests.append(_test(case, "error", None, error, frame.get("seconds"), str(frame.get("traceback", ""))))
        else:
            try:
                check = case.check(frame.get("value"))
            except Exception as exc:
                raise GraderBug(f"{lab.slug}/{case.name}: the check raised {type(exc).__name__}: {exc}") from exc
            tests.append(_test(case, "passed" if check.passed else "failed", check, None, frame.get("seconds")))
    total = sum(t.max_points for t in tests)
    earned = sum(t.points for t in tests)
    passed = sum(t.passed for t in tests)
    status = outcome.status
    run = RunOutput(
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        truncated=outcome.output_truncated,
        resources={
            "wall_seconds": round(float(status.get("wall_seconds", outcome.wall_seconds)), 4),
            "cpu_seconds": round(float(status.get("cpu_seconds", 0.0)), 4),
            "max_rss_mb": round(float(status.get("max_rss_kb", 0)) / 1024, 1),
            "busy_seconds": round(outcome.busy_seconds, 4),
            "exit": {k: status[k] for k in ("exit_code", "signal", "timed_out") if k in status},
        },
        summary=summary,
        sandboxed=bool(getattr(runner, "sandboxed", False)),
        lab=lab.slug,
        fingerprint=lab.fingerprint(),
        seed=seed,
    )
    message = summary or Plural("%(passed)d of %(n)d test passed.", "%(passed)d of %(n)d tests passed.",
                                len(tests), passed=passed)
    return GradingResult(
        score=round(earned / total, 6) if total else 0.0,
        points=round(earned, 6),
        max_points=total,
        message=message,
        tests=tuple(tests),
        run=run,
    )
