"""Grade one coding-lab submission: run it in the sandbox, check every returned value here.

``grade_code(lab=..., source=..., seed=..., runner=...)`` returns a JSON-serializable result:
per test its points, what was earned and why (both languages), the job's capped output and the
resources it used. The student's process only computes; scoring happens on this side, so nothing
it prints, patches or forges can raise a score.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any, Protocol

from grader.sandbox.runner import JobOutcome, JobSpec

from .base import Check, CodeLab, TestCase

__all__ = ["GraderBug", "Runner", "grade_code", "job_for"]

ALLOWED_IMPORTS = "the Python standard library, numpy and torch"


class Runner(Protocol):
    sandboxed: bool

    def run(self, job: JobSpec) -> JobOutcome: ...


class GraderBug(RuntimeError):
    """A check raised: our fault, never the student's (the submission is marked failed, not 0)."""


@dataclass(frozen=True)
class _Why:
    en: str
    zh: str

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh-Hant": self.zh}


def job_for(lab: CodeLab, source: str, cases: list[TestCase]) -> JobSpec:
    calls = [{"id": c.name, "function": c.function, "args": tuple(c.args), "kwargs": dict(c.kwargs)} for c in cases]
    return JobSpec(source=source, calls=calls, limits=lab.limits, torch=lab.uses_torch,
                   filename="submission.py", module=lab.module_name)


def _death(outcome: JobOutcome, lab: CodeLab) -> _Why:
    """Why the job stopped before answering every call."""
    status = outcome.status
    limits = lab.limits
    if outcome.result_error:
        return _Why(f"The grader could not read your results ({outcome.result_error}).",
                    f"評分程式無法讀取你的結果（{outcome.result_error}）。")
    if outcome.results_truncated:
        mb = limits.result_bytes // (1024 * 1024)
        return _Why(f"Your functions returned more than {mb} MB in total.", f"你的函式回傳的資料總量超過 {mb} MB。")
    if status.get("timed_out"):
        return _Why(f"Stopped: the wall-clock limit of {limits.wall_seconds:g} s was reached.",
                    f"已停止：超過 {limits.wall_seconds:g} 秒的時間上限。")
    sig = status.get("signal")
    if sig in (signal.SIGXCPU, signal.SIGKILL) and float(status.get("cpu_seconds", 0)) >= limits.cpu_seconds - 0.5:
        return _Why(f"Stopped: the CPU time limit of {limits.cpu_seconds:g} s was exceeded.",
                    f"已停止：超過 {limits.cpu_seconds:g} 秒的 CPU 時間上限。")
    if sig == signal.SIGSEGV:
        return _Why("Your program crashed (segmentation fault).", "你的程式當掉了（segmentation fault）。")
    if sig == signal.SIGXFSZ:
        mb = limits.file_mb
        return _Why(f"Your program wrote a file larger than the {mb} MB limit.", f"你的程式寫入超過 {mb} MB 的檔案。")
    if sig is not None:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return _Why(f"Your program was killed by signal {name}.", f"你的程式被訊號 {name} 終止。")
    code = status.get("exit_code")
    return _Why(f"Your program exited (exit code {code}) before every test had run.",
                f"你的程式在所有測試執行完之前就結束了（exit code {code}）。")


def _import_failure(frame: dict[str, Any]) -> _Why:
    exception = frame.get("exception")
    error = str(frame.get("error", ""))
    trace = str(frame.get("traceback", ""))
    if exception == "SystemExit":
        return _Why("Your file called sys.exit() while it was being imported; remove top-level code that exits.",
                    "你的檔案在被匯入時呼叫了 sys.exit()；請移除會結束程式的頂層程式碼。")
    if exception in ("ModuleNotFoundError", "ImportError"):
        return _Why(f"Your file could not be imported: {error}. The grader has only {ALLOWED_IMPORTS}.",
                    f"無法匯入你的檔案：{error}。評分環境只有 Python 標準函式庫、numpy 與 torch。")
    return _Why(f"Your file could not be imported:\n{trace or error}", f"無法匯入你的檔案：\n{trace or error}")


def _call_timeout(frame: dict[str, Any]) -> _Why:
    name = str(frame.get("function", "?"))
    try:
        budget = float(frame.get("budget") or 0)
    except (TypeError, ValueError):
        budget = 0.0
    cpu = frame.get("clock") == "CPU"
    clock_en, clock_zh = ("CPU", "CPU") if cpu else ("wall-clock", "實際")
    if frame.get("skipped"):
        return _Why(f"Skipped: {name}() already ran out of time in an earlier test.",
                    f"略過：{name}() 在先前的測試已超過時間上限。")
    return _Why(f"Stopped: {name}() used up the per-test {clock_en} time of {budget:g} s (an endless loop?).",
                f"已停止：{name}() 超過每個測試 {budget:g} 秒的 {clock_zh} 時間上限（無窮迴圈？）。")


def _row(case: TestCase, status: str, check: Check | None, why: _Why | None, seconds: float | None,
         traceback: str = "") -> dict[str, Any]:
    fraction = check.fraction if check else 0.0
    message = check.message if check else (why.as_dict() if why else {"en": "", "zh-Hant": ""})
    row: dict[str, Any] = {
        "name": case.name, "title": case.title, "public": case.public, "function": case.function,
        "points": float(case.points), "earned": round(float(case.points) * fraction, 6),
        "passed": status == "passed", "status": status, "message": message,
        "seconds": None if seconds is None else round(float(seconds), 4),
    }
    if check and check.detail:
        row["detail"] = _jsonable(check.detail)
    if traceback:
        row["traceback"] = traceback[-3000:]
    return row


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


def grade_code(*, lab: CodeLab, source: str, seed: int, runner: Runner) -> dict[str, Any]:
    """Run ``source`` against every case of ``lab`` for ``seed`` and score it."""
    cases = lab.cases(seed)
    outcome = runner.run(job_for(lab, source, cases))
    results = outcome.results
    import_error = outcome.frame("import_error")
    rows: list[dict[str, Any]] = []
    summary: _Why | None = None
    died_during_seen = False
    for case in cases:
        frame = results.get(case.name)
        if import_error is not None:
            summary = summary or _import_failure(import_error)
            rows.append(_row(case, "not_run", None, summary, None))
        elif frame is None:
            why = _death(outcome, lab)
            summary = summary or why
            if not died_during_seen:
                died_during_seen = True
                rows.append(_row(case, "error", None, _Why(f"{why.en} (during this test)", f"{why.zh}（在此測試中）"), None))
            else:
                rows.append(_row(case, "not_run", None, _Why("Not run: your program had already stopped.",
                                                             "未執行：你的程式已經停止。"), None))
        elif frame.get("kind") == "error" and frame.get("exception") == "CallTimeout":
            rows.append(_row(case, "error", None, _call_timeout(frame), frame.get("seconds")))
        elif frame.get("kind") == "error":
            error = str(frame.get("error", ""))
            rows.append(_row(case, "error", None, _Why(error, error), frame.get("seconds"), str(frame.get("traceback", ""))))
        else:
            try:
                check = case.check(frame.get("value"))
            except Exception as exc:
                raise GraderBug(f"{lab.slug}/{case.name}: the check raised {type(exc).__name__}: {exc}") from exc
            rows.append(_row(case, "passed" if check.passed else "failed", check, None, frame.get("seconds")))
    total = sum(r["points"] for r in rows)
    earned = sum(r["earned"] for r in rows)
    status = outcome.status
    return {
        "kind": "code",
        "lab": lab.slug,
        "fingerprint": lab.fingerprint(),
        "seed": seed,
        "score": round(earned / total, 6) if total else 0.0,
        "earned": round(earned, 6),
        "points": total,
        "passed": sum(r["passed"] for r in rows),
        "tests": rows,
        "summary": summary.as_dict() if summary else None,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "output_truncated": outcome.output_truncated,
        "resources": {
            "wall_seconds": round(float(status.get("wall_seconds", outcome.wall_seconds)), 4),
            "cpu_seconds": round(float(status.get("cpu_seconds", 0.0)), 4),
            "max_rss_mb": round(float(status.get("max_rss_kb", 0)) / 1024, 1),
            "busy_seconds": round(outcome.busy_seconds, 4),
            "exit": {k: status[k] for k in ("exit_code", "signal", "timed_out") if k in status},
        },
        "sandboxed": bool(getattr(runner, "sandboxed", False)),
    }
