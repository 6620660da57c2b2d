"""The trusted side of the sandbox: start a bubblewrap'd zygote, hand it jobs, read their pipes.

``SandboxRunner.run(job)`` returns a :class:`JobOutcome`: the decoded frames the job streamed (one
per function call), its capped stdout/stderr and its exit status. It never judges anything — the
caller compares the returned values with the reference, outside the student's process.

The sandbox (``bwrap``): every namespace unshared (no network at all), a read-only root holding
only the runtime for the job's package set (:mod:`grader.sandbox.runtime`: the interpreter's
standard library without site-packages, and numpy, or numpy and torch, with their own imports —
a numpy lab's sandbox has no torch at all) and the system libraries it loads; not /usr, not the
host's or the virtualenv's site-packages, not the project, the reference code, the settings or
any socket; an empty environment, uid 65534. Inside, ``zygote.py`` has imported the packages once
and forks per job an init, a guard and the job in their own user, mount and PID namespace and
session (see there), with fresh tmpfs mounts, no capabilities and rlimits, killed at the wall
limit. The zygotes are started from one long-lived thread (:class:`_Starter`): bwrap's
``--die-with-parent`` is tied to the starting thread. When the grader itself runs as root, the
sandbox is started as uid 65534 so that the process limit applies (root is exempt from
RLIMIT_NPROC); a private mount namespace makes the runtime visible to that uid without changing
any permission on the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import queue
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import wire
from .limits import Limits
from .runtime import DEFAULT_PACKAGES, Runtime, ensure_runtime, runtime_name

__all__ = [
    "JobOutcome",
    "JobSpec",
    "SandboxConfig",
    "SandboxError",
    "SandboxRunner",
    "SandboxUnavailable",
    "UnsandboxedRunner",
    "make_runner",
]

logger = logging.getLogger(__name__)

SANDBOX_UID = 65534  # "nobody"
SITE_DIR = "/opt/site"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS")
_SOURCE_DIR = Path(__file__).resolve().parent


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the student's code): the grader should retry later."""


@dataclass(frozen=True)
class JobSpec:
    source: str
    calls: Sequence[Mapping[str, Any]]  # {"id", "function", "args", "kwargs"}
    limits: Limits = Limits()
    # What the job may import besides the standard library: one of runtime.PACKAGE_SETS. The job
    # runs in the zygote of that runtime, whose file system holds those packages and nothing else.
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    filename: str = "submission.py"
    module: str = "submission"


@dataclass
class JobOutcome:
    frames: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    results_truncated: bool = False
    result_error: str = ""  # the result stream was malformed after the frames above
    status: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0  # measured here, from hand-over to the last byte

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """The first result or error frame per call id (a repeated id cannot overwrite it)."""
        found: dict[str, dict[str, Any]] = {}
        for frame in self.frames:
            if frame.get("kind") in ("result", "error") and isinstance(frame.get("id"), str):
                found.setdefault(frame["id"], frame)
        return found

    def frame(self, kind: str) -> dict[str, Any] | None:
        return next((f for f in self.frames if f.get("kind") == kind), None)

    @property
    def busy_seconds(self) -> float:
        """Time the harness spent importing the student's module and in their functions."""
        total = 0.0
        for f in self.frames:
            if f.get("kind") in ("imported", "import_error", "result", "error"):
                with contextlib.suppress(TypeError, ValueError):
                    total += float(f.get("seconds") or 0.0)
        return total


@dataclass(frozen=True)
class SandboxConfig:
    bwrap: str = "bwrap"
    runtime_dir: str = ""  # default: runtime.default_runtime_dir() (var/sandbox)
    threads: int = 1  # cores a job may use: BLAS/OpenMP/torch thread counts
    stage_dir: str = os.path.join(tempfile.gettempdir(), "dlcv-sandbox-stage")
    start_timeout: float = 120.0

    def runtime(self, packages: Sequence[str]) -> Runtime:
        """The built runtime for ``packages`` (built now if the set-up has not)."""
        return ensure_runtime(packages, Path(self.runtime_dir) if self.runtime_dir else None)

    def environ(self) -> dict[str, str]:
        env = {name: str(self.threads) for name in THREAD_VARIABLES}
        env.update({"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"})
        return env


def _zygote_program(config: Mapping[str, Any]) -> str:
    """``python -c`` source: the zygote module, then the call that starts it."""
    zygote = (_SOURCE_DIR / "zygote.py").read_text(encoding="utf-8")
    wire_source = (_SOURCE_DIR / "wire.py").read_text(encoding="utf-8")
    return f"{zygote}\n\nbootstrap({wire_source!r}, json.loads({json.dumps(config)!r}))\n"


# --------------------------------------------------------------------------- root: drop to nobody

_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_CLONE_NEWNS = 0x00020000


def _root_preexec(stage: str, sources: Sequence[str]) -> Any:
    """In the child, before exec: bind ``sources`` under ``stage`` privately, then become nobody."""
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def preexec() -> None:
        check(libc.unshare(_CLONE_NEWNS), "unshare mount namespace")
        check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
        check(libc.mount(b"tmpfs", stage.encode(), b"tmpfs", 0, b"mode=0755"), "stage tmpfs")
        for index, source in enumerate(sources):
            target = f"{stage}/{index}"
            if os.path.isdir(source):
                os.mkdir(target)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
            check(libc.mount(source.encode(), target.encode(), None, _MS_BIND | _MS_REC, None), f"bind {source}")
        os.setgroups([])
        os.setgid(SANDBOX_UID)
        os.setuid(SANDBOX_UID)

    return preexec


# --------------------------------------------------------------------------- the zygote


class _Starter:
    """Starts the zygotes from one thread that lives as long as this process.

    bwrap's ``--die-with-parent`` is ``PR_SET_PDEATHSIG``, which fires when the *thread* that forked
    bwrap ends, not the process: a zygote started by a short-lived thread (the code worker's
    warm-up) died with it, and the first submission paid for a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] | None = None
        self._pid = 0

    def _serve(self, jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
        while True:
            function, future = jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function())
                except BaseException as exc:
                    future.set_exception(exc)

    def call(self, function: Callable[[], Any]) -> Any:
        with self._lock:
            if self._queue is None or self._pid != os.getpid():  # none yet, or we are a fork's child
                self._queue, self._pid = queue.SimpleQueue(), os.getpid()
                threading.Thread(target=self._serve, args=(self._queue,), name="sandbox-starter", daemon=True).start()
            jobs = self._queue
        future: Future[Any] = Future()
        jobs.put((function, future))
        return future.result()


_STARTER = _Starter()


class _Zygote:
    def __init__(self, config: SandboxConfig, packages: Sequence[str]) -> None:
        self.config = config
        self.packages = tuple(packages)
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.info: dict[str, Any] = {}
        self.starts = 0

    def _command(self, control_fd: int) -> tuple[list[str], list[str]]:
        cfg = self.config
        runtime = cfg.runtime(self.packages)
        # Nothing of the host's /usr but the shared libraries the runtime loads; the interpreter at
        # its own path, but only the runtime's minimal copy of it (no site-packages); the packages
        # of this package set only.
        binds: list[tuple[str, str]] = [(str(source), str(dest)) for source, dest in runtime.python_binds()]
        binds.append((str(runtime.site_dir), SITE_DIR))
        as_root = os.geteuid() == 0
        args = [cfg.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"]
        for name in ("lib", "lib64", "lib32"):
            host = f"/{name}"
            if os.path.islink(host):
                args += ["--symlink", os.readlink(host), host]
        for library in runtime.system_libraries:
            # At its real directory (/lib is a link to usr/lib), under the name the loader asks for.
            args += ["--ro-bind", library, os.path.join(os.path.realpath(os.path.dirname(library)),
                                                        os.path.basename(library))]
        if os.path.exists("/etc/ld.so.cache"):
            args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        sources = []
        for index, (source, dest) in enumerate(binds):
            sources.append(source)
            args += ["--ro-bind", f"{cfg.stage_dir}/{index}" if as_root else source, dest]
        args += ["--proc", "/proc", "--dev", "/dev", "--dir", "/work", "--dir", "/tmp", "--remount-ro", "/"]
        bootstrap = {
            "environ": cfg.environ(), "sys_path": [SITE_DIR], "preload": list(self.packages),
            "threads": cfg.threads, "mode": "serve", "control_fd": control_fd,
        }
        args += [str(runtime.python_prefix / runtime.executable), "-I", "-S", "-B", "-c", _zygote_program(bootstrap)]
        return args, sources

    def start(self) -> None:
        _STARTER.call(self._start)

    def _start(self) -> None:
        if shutil.which(self.config.bwrap) is None:
            raise SandboxUnavailable(
                f"bubblewrap ({self.config.bwrap!r}) is not installed: apt-get install bubblewrap"
            )
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        args, sources = self._command(child.fileno())
        preexec = None
        if os.geteuid() == 0:
            os.makedirs(self.config.stage_dir, mode=0o755, exist_ok=True)
            preexec = _root_preexec(self.config.stage_dir, sources)
        started = time.monotonic()
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(child.fileno(),), preexec_fn=preexec,
        )
        child.close()
        parent.settimeout(self.config.start_timeout)
        try:
            line = parent.makefile("rb").readline()
        except TimeoutError:
            line = b""
        if not line:
            self.process.kill()
            err = self.process.stderr.read().decode(errors="replace")[-3000:] if self.process.stderr else ""
            self.process.wait()
            raise SandboxUnavailable(f"the sandbox did not start: {err.strip() or 'no output'}")
        self.info = json.loads(line)
        self.info["start_seconds"] = time.monotonic() - started
        self.starts += 1
        parent.settimeout(None)
        self.control = parent
        logger.info("sandbox zygote ready: %s", self.info)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def submit(self, request: Mapping[str, Any], fds: Sequence[int]) -> None:
        with self.lock:
            if not self.alive():
                self.stop()
                self.start()
            assert self.control is not None
            socket.send_fds(self.control, [(json.dumps(request) + "\n").encode()], list(fds))

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None


# --------------------------------------------------------------------------- reading a job


@contextlib.contextmanager
def _pipes(count: int) -> Iterator[list[tuple[int, int]]]:
    pairs = [os.pipe() for _ in range(count)]
    try:
        yield pairs
    finally:
        for r, w in pairs:
            for fd in (r, w):
                with contextlib.suppress(OSError):
                    os.close(fd)


def _feed(fd: int, data: bytes) -> None:
    """Write the job's input, then close: the job may stop reading early (that is its business)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _collect(
    fds: Mapping[str, int], limits: Limits, deadline: float
) -> tuple[dict[str, bytearray], dict[str, bool], bool]:
    """Drain every pipe in ``fds`` (stdout, stderr, results, and status when the sandbox has one)
    until EOF on all or the deadline. Closes the fds."""
    buffers = {name: bytearray() for name in fds}
    truncated = {name: False for name in fds}
    caps = {"stdout": limits.output_bytes, "stderr": limits.output_bytes, "results": limits.result_bytes,
            "status": 1 << 16}
    selector = selectors.DefaultSelector()
    for name, fd in fds.items():
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, name)
    open_count = len(fds)
    timed_out = False
    try:
        while open_count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                name = key.data
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                room = caps[name] - len(buffers[name])
                if chunk and room > 0:
                    buffers[name] += chunk[:room]
                if not chunk or len(chunk) > room:
                    # EOF, or over its cap: closing our end makes the job's next write fail (EPIPE),
                    # so gigabytes of output cost it an exception, not us memory or time.
                    truncated[name] = truncated[name] or bool(chunk)
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    open_count -= 1
    finally:
        for key in list(selector.get_map().values()):
            selector.unregister(key.fd)
            with contextlib.suppress(OSError):
                os.close(key.fd)
        selector.close()
    return buffers, truncated, timed_out


def _decode_results(data: bytes, limit: int) -> tuple[list[dict[str, Any]], str]:
    import io

    stream = io.BytesIO(bytes(data))
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frame = wire.read_frame(stream, max_bytes=limit)
        except EOFError as exc:
            if stream.tell() < len(data):
                return frames, f"the result stream ended in the middle of a frame ({exc})"
            return frames, ""
        except (wire.WireError, ValueError) as exc:
            return frames, f"malformed result data: {exc}"
        if not isinstance(frame, dict):
            return frames, "malformed result data: a frame that is not a message"
        frames.append(frame)


def _outcome(buffers: Mapping[str, bytearray], truncated: Mapping[str, bool], limits: Limits) -> JobOutcome:
    frames, result_error = _decode_results(buffers["results"], limits.result_bytes)
    return JobOutcome(
        frames=frames,
        stdout=buffers["stdout"].decode("utf-8", errors="replace"),
        stderr=buffers["stderr"].decode("utf-8", errors="replace"),
        output_truncated=truncated["stdout"] or truncated["stderr"],
        results_truncated=truncated["results"],
        result_error=result_error,
    )


# --------------------------------------------------------------------------- runners


def _job_payload(job: JobSpec) -> bytes:
    """What the harness reads on stdin: the student's source, the calls and their time budgets."""
    return wire.encode({"source": job.source, "calls": list(job.calls), "filename": job.filename,
                        "module": job.module, **job.limits.call_budgets()})


class SandboxRunner:
    """Runs jobs in the bubblewrap sandbox; thread-safe; one zygote per preload set, started lazily."""

    sandboxed = True

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._zygotes: dict[str, _Zygote] = {}
        self._lock = threading.Lock()

    def zygote(self, packages: Sequence[str] = DEFAULT_PACKAGES) -> _Zygote:
        name = runtime_name(packages)
        with self._lock:
            if name not in self._zygotes:
                zygote = _Zygote(self.config, packages)
                zygote.start()
                self._zygotes[name] = zygote
            return self._zygotes[name]

    def warm(self, torch: bool = True) -> None:
        """Start the numpy zygote, and the numpy+torch one when ``torch`` (from any thread)."""
        self.zygote(("numpy",))
        if torch:
            self.zygote(("numpy", "torch"))

    def run(self, job: JobSpec) -> JobOutcome:
        zygote = self.zygote(job.packages)
        request = {"limits": job.limits.for_job() | {"environ": self.config.environ()}}
        payload = _job_payload(job)
        with _pipes(5) as pipes:
            (in_r, in_w), (out_r, out_w), (err_r, err_w), (res_r, res_w), (st_r, st_w) = pipes
            started = time.monotonic()
            zygote.submit(request, [in_r, out_w, err_w, res_w, st_w])
            for fd in (in_r, out_w, err_w, res_w, st_w):
                os.close(fd)
            pipes[:] = [(-1, -1)]  # the rest is closed by _feed/_collect
            feeder = threading.Thread(target=_feed, args=(in_w, payload), daemon=True)
            feeder.start()
            deadline = started + job.limits.wall_seconds + 15.0
            buffers, truncated, timed_out = _collect(
                {"stdout": out_r, "stderr": err_r, "results": res_r, "status": st_r}, job.limits, deadline
            )
            feeder.join(timeout=5)
        outcome = _outcome(buffers, truncated, job.limits)
        outcome.wall_seconds = time.monotonic() - started
        if timed_out:
            # The job's init should have killed the job at the wall limit; it did not answer, so
            # the zygote is not trusted any more: restart it (killing bwrap kills everything in it).
            zygote.stop()
            raise SandboxError("the sandbox did not report the job's end in time; it was restarted")
        try:
            outcome.status = json.loads(bytes(buffers["status"]).decode() or "{}")
        except ValueError:
            outcome.status = {}
        if not outcome.status or "sandbox_error" in outcome.status:
            raise SandboxError(f"the sandbox failed: {outcome.status.get('sandbox_error', 'no status')}")
        return outcome

    def close(self) -> None:
        with self._lock:
            for zygote in self._zygotes.values():
                zygote.stop()
            self._zygotes.clear()


class UnsandboxedRunner:
    """Local development only: the same harness in a plain subprocess — no isolation at all."""

    sandboxed = False

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        warnings.warn(
            "student code runs WITHOUT the sandbox (GRADER_ALLOW_UNSANDBOXED): never do this in production",
            RuntimeWarning, stacklevel=2,
        )

    def warm(self, torch: bool = True) -> None:
        """Nothing to warm: every job is a fresh interpreter."""

    def run(self, job: JobSpec) -> JobOutcome:
        payload = _job_payload(job)
        with tempfile.TemporaryDirectory(prefix="dlcv-job-") as work_dir:
            limits = job.limits.for_job() | {"work_dir": work_dir, "environ": self.config.environ()}
            runtime = self.config.runtime(job.packages)
            bootstrap = {
                "environ": self.config.environ(), "sys_path": [str(runtime.site_dir)],
                "preload": list(job.packages),
                "threads": self.config.threads, "mode": "direct", "limits": limits,
            }
            with _pipes(4) as pipes:
                (in_r, in_w), (out_r, out_w), (err_r, err_w), (res_r, res_w) = pipes
                started = time.monotonic()
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-B", "-c", _zygote_program(bootstrap)],
                    # fd 3 is kept open across exec; close_fds runs after preexec_fn has put res_w there.
                    stdin=in_r, stdout=out_w, stderr=err_w, pass_fds=(3,), cwd=work_dir, env={},
                    preexec_fn=lambda: os.dup2(res_w, 3),
                    start_new_session=True,
                )
                for fd in (in_r, out_w, err_w, res_w):
                    os.close(fd)
                pipes[:] = [(-1, -1)]
                threading.Thread(target=_feed, args=(in_w, payload), daemon=True).start()
                buffers, truncated, _ = _collect(
                    {"stdout": out_r, "stderr": err_r, "results": res_r}, job.limits,
                    started + job.limits.wall_seconds,
                )
                try:
                    process.wait(timeout=max(0.1, started + job.limits.wall_seconds - time.monotonic()))
                    timed_out = False
                except subprocess.TimeoutExpired:
                    timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)  # and whatever it left behind in its session
                code = process.wait()
        buffers["status"] = bytearray()
        outcome = _outcome(buffers, truncated, job.limits)
        outcome.wall_seconds = time.monotonic() - started
        outcome.status = {"timed_out": timed_out, "wall_seconds": outcome.wall_seconds}
        outcome.status |= {"signal": -code} if code < 0 else {"exit_code": code}
        return outcome

    def close(self) -> None:
        """Nothing to stop."""


def make_runner(*, allow_unsandboxed: bool = False, config: SandboxConfig | None = None) -> SandboxRunner | UnsandboxedRunner:
    """The sandbox if bubblewrap works here; without it, refuse unless explicitly allowed."""
    config = config or SandboxConfig()
    if shutil.which(config.bwrap) is not None:
        return SandboxRunner(config)
    if allow_unsandboxed:
        return UnsandboxedRunner(config)
    raise SandboxUnavailable(
        "bubblewrap is not installed, and the grader does not run student code without a sandbox "
        "(install bubblewrap, or set GRADER_ALLOW_UNSANDBOXED=1 for local development only)"
    )
