"""The process inside the bubblewrap sandbox: imports numpy (and torch) once, then forks per job.

Self-contained (stdlib + ctypes; the wire module is injected as ``dlcv_wire``) because the sandbox
cannot see the project. :mod:`grader.sandbox.runner` starts it with ``python -I -S -c <source>``
and talks to it over one Unix socket (fd 3): each job is a JSON line plus five descriptors passed
with ``SCM_RIGHTS`` — input, stdout, stderr, results, status — so the trusted side reads the job's
pipes directly and the zygote never touches a job's data.

Per job (``_start_init``, ``_init``, ``_guard``):

* the zygote starts the job's **init** with one ``clone3`` straight into a new user, mount, PID,
  IPC and UTS namespace: PID 1 there (where clone3 is refused, a fork unshares and forks it). It
  does so ahead of time, while the previous job runs: a *spare* init (with its guard) waits on a
  socket for the next job and its five descriptors. Each fork of a process that has imported
  torch costs tens of milliseconds; made ahead, only the job's own fork is in a job's time.
* **init** starts a new session (the job's: nothing of the zygote's session or process group is
  in it) and forks the **guard** (PID 2); given a job, it mounts a fresh size-limited tmpfs on
  ``/work``, ``/tmp`` and ``/dev/shm`` and a fresh ``/proc``, hands the job to the guard, enforces
  the wall-clock limit (``SIGKILL`` to every other process of the namespace, daemonized or not),
  reaps, and writes the job's status (JSON) to the status pipe. The kernel drops every signal a process of the namespace sends its init
  with the default action, so the job cannot stop it; when init ends, the kernel kills whatever
  is left in the namespace.
* the **guard** forks the **job** (PID 3) and reports how it ended. ``kill(0)``,
  ``killpg(getpgrp())``, ``kill(-1)`` and ``kill(getppid())`` — the job signalling its own sandbox —
  all reach the guard: init sees it die (or stop), kills the rest and reports ``stopped_itself``;
  the grader scores that run 0 with "your code stopped its own process". The zygote, outside the
  namespace and the session, is out of reach.
* the **job** drops every capability (and sets no-new-privs), sets rlimits, closes every
  descriptor but 0–3, and runs the harness: import the student's module, call each function,
  stream each return value as a frame to fd 3. Nothing it does outlives it: its files are in its
  own tmpfs, its processes in its own PID namespace, its memory in its own forked address space.

The zygote never runs student code, so no state can pass from one job to the next through it.
"""



from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
import types

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
WORK_DIR = "/work"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mount(source, target, fstype, flags, data):
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                    data.encode() if data else None),
        f"mount {target}",
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_all_capabilities():
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _vm_size_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(limits):
    cpu = int(limits["cpu_seconds"] + 0.999)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # Address space: what the pre-imported libraries already map, plus the job's memory budget.
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size_bytes() + memory,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["max_processes"]),) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _close_fds_above(keep):
    os.closerange(keep + 1, 65536)


# --------------------------------------------------------------------------- the harness


def _student_traceback(exc, filename):
    """The traceback from the student's file on (the harness's own frames say nothing to them)."""
    frames = traceback.extract_tb(exc.__traceback__)
    for index, frame in enumerate(frames):
        if frame.filename.endswith(filename):
            frames = frames[index:]
            break
    lines = traceback.format_list(frames[-12:]) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


class CallTimeout(BaseException):
    """Raised inside the student's function when its per-test time is up (BaseException, so an
    ``except Exception`` in their code does not swallow it)."""


def _on_call_timer(signum, frame):
    kind = "CPU" if signum == signal.SIGPROF else "wall-clock"
    raise CallTimeout(kind)


def _call_error(exc):
    """What a call that raised ``exc`` reports: the exception's name and message. A recursion that
    exhausts the memory limit (the student raised the recursion limit) ends, in CPython 3.11, in
    "SystemError: error return without exception set", which would read like our fault: it is
    named as running out of memory."""
    if isinstance(exc, SystemError) and "without exception set" in str(exc):
        return {"exception": "MemoryError",
                "error": "MemoryError: your function ran out of memory, most likely in a recursion too deep "
                         f"(the interpreter failed with {type(exc).__name__}: {exc})"}
    return {"error": f"{type(exc).__name__}: {exc}"[:2000], "exception": type(exc).__name__, **_missing_module(exc)}


def _missing_module(exc):
    """For an import that failed: the module it asked for (the grader words what the lab allows)."""
    name = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    return {"module": name[:200]} if isinstance(name, str) and name else {}


def run_harness(wire, result_fd, work_dir):
    """Read the job from fd 0, run the student's functions, stream results to ``result_fd``."""
    job = wire.read_frame(os.fdopen(0, "rb", closefd=False), max_bytes=1 << 30)

    def emit(message):
        try:
            frame = wire.encode(message)
        except Exception as exc:  # the student's value cannot be sent: say so for that call
            frame = wire.encode({
                "kind": "error", "id": message.get("id"), "seconds": message.get("seconds"),
                "error": f"your function returned a value that cannot be graded: {exc}",
            })
        view = memoryview(frame)
        while view:
            view = view[os.write(result_fd, view):]

    filename = job["filename"]
    with open(os.path.join(work_dir, filename), "w", encoding="utf-8") as handle:
        handle.write(job["source"])
    sys.path.insert(0, work_dir)
    sys.argv = [filename]
    module_name = job["module"]
    started = time.perf_counter()
    emit({"kind": "started"})
    try:
        module = types.ModuleType(module_name)
        module.__file__ = os.path.join(work_dir, filename)
        sys.modules[module_name] = module
        with open(module.__file__, encoding="utf-8") as handle:
            code = compile(handle.read(), module.__file__, "exec")
        exec(code, module.__dict__)
    except BaseException as exc:
        emit({"kind": "import_error", "error": f"{type(exc).__name__}: {exc}",
              "exception": type(exc).__name__, **_missing_module(exc), "traceback": _student_traceback(exc, filename),
              "seconds": time.perf_counter() - started})
        return
    emit({"kind": "imported", "seconds": time.perf_counter() - started})
    # Per-test budgets: a function that hangs loses its own tests, not every test after it.
    call_cpu = float(job.get("call_cpu_seconds") or 0)
    call_wall = float(job.get("call_wall_seconds") or 0)
    signal.signal(signal.SIGPROF, _on_call_timer)
    signal.signal(signal.SIGALRM, _on_call_timer)
    out_of_time = {}
    for call in job["calls"]:
        name = call["function"]
        function = getattr(module, name, None)
        if not callable(function):
            emit({"kind": "error", "id": call["id"], "seconds": 0.0,
                  "error": f"your file does not define a function named {name!r}"})
            continue
        if name in out_of_time:
            emit({"kind": "error", "id": call["id"], "seconds": 0.0, "exception": "CallTimeout",
                  "skipped": True, **out_of_time[name],
                  "error": f"skipped: {name}() already ran out of time in an earlier test"})
            continue
        started = time.perf_counter()
        try:
            if call_cpu:
                signal.setitimer(signal.ITIMER_PROF, call_cpu)
            if call_wall:
                signal.setitimer(signal.ITIMER_REAL, call_wall)
            try:
                value = function(*call["args"], **call["kwargs"])
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CallTimeout as exc:
            budget = call_cpu if str(exc) == "CPU" else call_wall
            out_of_time[name] = {"clock": str(exc), "budget": budget, "function": name}
            emit({"kind": "error", "id": call["id"], "seconds": time.perf_counter() - started,
                  "exception": "CallTimeout", **out_of_time[name],
                  "error": f"stopped: {name}() exceeded the per-test {exc} time limit of {budget:g} s"})
            continue
        except BaseException as exc:
            emit({"kind": "error", "id": call["id"], "seconds": time.perf_counter() - started,
                  **_call_error(exc), "traceback": _student_traceback(exc, filename)})
            continue
        emit({"kind": "result", "id": call["id"], "seconds": time.perf_counter() - started, "value": value})
    emit({"kind": "done"})


def _fresh_mounts(limits):
    """In the job's mount and PID namespace: a size-limited tmpfs on /work, /tmp and /dev/shm, and
    a /proc that shows this namespace's processes only."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    size = int(limits["disk_mb"])
    for target in (WORK_DIR, "/tmp", "/dev/shm"):
        if os.path.isdir(target):
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=0700")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)


def _job_main(wire, limits, sandboxed):
    """The job process: no capabilities, rlimits, then the harness. Never returns."""
    code = 0
    work_dir = limits.get("work_dir") or WORK_DIR
    try:
        if sandboxed:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            _drop_all_capabilities()
        os.chdir(work_dir)
        _set_limits(limits)
        _close_fds_above(3)
        os.environ.clear()
        os.environ.update(limits["environ"])
        os.environ["HOME"] = work_dir
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        run_harness(wire, 3, work_dir)
    except BaseException:
        code = 70
        try:
            os.write(2, ("[sandbox] " + traceback.format_exc()).encode()[-4000:])
        except OSError:
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code)


def _set_signals(handlers):
    for sig, handler in handlers.items():
        try:
            signal.signal(sig, handler)
        except (OSError, ValueError, TypeError):
            pass


def _default_signals():
    """Every catchable signal back to its default action (the zygote is Python: SIGINT would raise
    KeyboardInterrupt), so that PID 1 of the job's namespace ignores what the job sends it and the
    guard dies of it. Returns the zygote's own, for the job (Python ignores SIGPIPE and SIGXFSZ:
    a closed pipe or a too-large file is an exception there, not a death)."""
    catchable = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
    saved = {sig: signal.getsignal(sig) for sig in catchable}
    _set_signals({sig: signal.SIG_DFL for sig in catchable})
    return {sig: handler for sig, handler in saved.items() if handler is not None}


def _usage(wait_status, usage):
    result = {"cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}
    if os.WIFSIGNALED(wait_status):
        result["signal"] = os.WTERMSIG(wait_status)
    elif os.WIFSTOPPED(wait_status):
        result["signal"] = os.WSTOPSIG(wait_status)
    else:
        result["exit_code"] = os.WEXITSTATUS(wait_status)
    return result


def _report(fd, message):
    try:
        os.write(fd, (json.dumps(message) + "\n").encode())
    except OSError:
        pass


def _receive(sock):
    """One request from ``sock``: a JSON line and the descriptors sent with it (``None`` at EOF)."""
    buffer, fds = b"", []
    while b"\n" not in buffer:
        data, more, _flags, _addr = socket.recv_fds(sock, 65536, 8)
        fds += more
        if not data:
            for fd in fds:
                os.close(fd)
            return None, []
        buffer += data
    return json.loads(buffer.partition(b"\n")[0]), fds


def _guard(wire, sock, report_fd, job_signals):
    """PID 2 of the job's namespace, the job's parent: forks the job when init hands it the job,
    waits for it and reports how it ended. The job can signal it (its group, ``kill(-1)``, its
    parent); init notices it die."""
    request, job_fds = _receive(sock)
    sock.close()
    if request is None:
        os._exit(0)
    pid = os.fork()
    if pid == 0:
        os.close(report_fd)
        _set_signals(job_signals)
        for target, source in enumerate(job_fds):
            os.dup2(source, target)
        _job_main(wire, request["limits"], sandboxed=True)
    for fd in job_fds:
        os.close(fd)
    _, wait_status, usage = os.wait4(pid, 0)
    _report(report_fd, {"job": _usage(wait_status, usage)})
    os._exit(0)


def _kill_the_rest():
    try:
        os.kill(-1, signal.SIGKILL)  # every process of this namespace but its init
    except ProcessLookupError:
        pass  # nothing left


def _init(wire, sock, map_ids):
    """PID 1 of the job's namespace: a new session and the guard, made ahead of time (a spare); then,
    once the zygote hands it a job on ``sock``, fresh mounts, the job to the guard (which forks it),
    the wall-clock limit, the reaper, and the job's status. Signals from inside its namespace
    cannot stop it (the kernel drops those with the default action sent to a namespace's init).
    When the guard dies of a signal or is stopped, the job has signalled its own sandbox: the rest
    of the namespace is killed and that is reported as the job stopping itself."""
    status = {"kind": "status"}
    status_fd = None
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if map_ids:
            _map_own_ids(*map_ids)
        job_signals = _default_signals()
        os.setsid()
        report_r, report_w = os.pipe()
        to_guard, guard_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        guard = os.fork()
        if guard == 0:
            os.close(report_r)
            sock.close()
            to_guard.close()
            _guard(wire, guard_end, report_w, job_signals)
        os.close(report_w)
        guard_end.close()
        request, fds = _receive(sock)  # a spare waits here for its job
        sock.close()
        if request is None or len(fds) != 5:
            os._exit(0)
        started = time.monotonic()
        stdin_fd, stdout_fd, stderr_fd, result_fd, status_fd = fds
        job_fds = (stdin_fd, stdout_fd, stderr_fd, result_fd)
        _fresh_mounts(request["limits"])
        socket.send_fds(to_guard, [(json.dumps(request) + "\n").encode()], list(job_fds))
        to_guard.close()
        for fd in job_fds:
            os.close(fd)
        deadline = started + float(request["limits"]["wall_seconds"])
        guard_fd = os.pidfd_open(guard)
        poller = select.poll()
        poller.register(guard_fd, select.POLLIN)
        timed_out = stopped_itself = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                _kill_the_rest()
                break
            # An exit wakes the poll at once; a stop (SIGSTOP) is seen within a slice.
            poller.poll(min(remaining, 0.1) * 1000)
            pid, wait_status, _ = os.wait4(guard, os.WNOHANG | os.WUNTRACED)
            if pid == 0:
                continue
            if not (os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0):
                stopped_itself = True
                _kill_the_rest()
            break
        os.close(guard_fd)
        job = None
        if timed_out or stopped_itself:
            while True:  # the job, reparented to us once the guard is gone
                try:
                    pid, wait_status, usage = os.wait4(-1, 0)
                except ChildProcessError:
                    break
                if pid != guard and job is None and not os.WIFSTOPPED(wait_status):
                    job = _usage(wait_status, usage)
        else:
            _kill_the_rest()  # what the job left behind
        with os.fdopen(report_r, "rb") as report:
            for line in report.read(1 << 16).splitlines():
                with contextlib.suppress(ValueError, AttributeError):
                    job = json.loads(line).get("job") or job
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        status.update({"wall_seconds": time.monotonic() - started, "timed_out": timed_out,
                       "stopped_itself": stopped_itself,
                       "cpu_seconds": children.ru_utime + children.ru_stime, "max_rss_kb": children.ru_maxrss})
        if timed_out or not job:
            status["signal"] = signal.SIGKILL
        else:
            status.update({k: job[k] for k in ("signal", "exit_code") if k in job})
    except BaseException as exc:
        status["sandbox_error"] = f"{type(exc).__name__}: {exc}"
    try:
        if status_fd is not None:
            os.write(status_fd, (json.dumps(status) + "\n").encode())
    finally:
        os._exit(0)


def _map_own_ids(uid, gid):
    """In a new user namespace: map our own uid and gid (nobody else exists there)."""
    _write_file("/proc/self/setgroups", "deny")
    _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
    _write_file("/proc/self/gid_map", f"{gid} {gid} 1")


class _CloneArgs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls",
        "set_tid", "set_tid_size", "cgroup")]


SYS_CLONE3 = 435  # the same number on every architecture
_JOB_NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
_libc.syscall.restype = ctypes.c_long


def _start_init(wire, control):
    """A spare for the next job: its init in new user, mount, PID, IPC and UTS namespaces, with its
    guard, waiting on the returned socket. One ``clone3`` (a fork straight into the namespaces),
    or, where clone3 is refused, a fork that unshares and forks again. Every fork of a process that
    has imported torch costs tens of milliseconds: made ahead, they are not in a job's time."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    uid, gid = os.getuid(), os.getgid()
    args = _CloneArgs(flags=_JOB_NAMESPACES, exit_signal=signal.SIGCHLD)
    pid = _libc.syscall(SYS_CLONE3, ctypes.byref(args), ctypes.c_size_t(ctypes.sizeof(args)))
    if pid == 0:
        control.close()
        ours.close()
        _init(wire, theirs, (uid, gid))
    try:
        child = os.fork() if pid < 0 else -1
    except OSError:
        ours.close()
        theirs.close()
        raise
    if child == 0:
        control.close()
        ours.close()
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # it waits for init
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            _check(_libc.unshare(_JOB_NAMESPACES), "unshare")
            _map_own_ids(uid, gid)
            init = os.fork()
            if init == 0:
                _init(wire, theirs, None)
            theirs.close()
            os.waitpid(init, 0)
        finally:
            os._exit(0)
    theirs.close()
    return ours


def _spare(wire, control):
    """A spare init, or ``None`` if none can be made now (the job's status will say why)."""
    try:
        return _start_init(wire, control)
    except OSError:
        return None


def _hand_over(wire, control, spare, line, fds):
    """Give the job to ``spare`` (or to a fresh init if that one is gone). If no init can be made,
    the job's status says so (the trusted side counts that as the sandbox failing, not the job)."""
    for attempt in range(2):
        init = spare if attempt == 0 and spare is not None else _spare(wire, control)
        if init is None:
            continue
        try:
            socket.send_fds(init, [line + b"\n"], fds)
            return
        except OSError:
            continue
        finally:
            init.close()
    with contextlib.suppress(OSError):
        os.write(fds[4], (json.dumps({"kind": "status", "sandbox_error": "no process could be started"})
                          + "\n").encode())


# --------------------------------------------------------------------------- the zygote loop


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(wire, control_fd):
    # Each job's init reports on its status pipe; its exit status is nobody's business, and the
    # kernel reaps it at once (a zombie init would stay visible in the job's namespace).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    control = socket.socket(fileno=control_fd)
    control.settimeout(1.0)
    control.sendall((json.dumps({"ready": True, "pid": os.getpid(), "python": sys.version.split()[0],
                                 "preloaded": sorted(m for m in ("numpy", "torch") if m in sys.modules)})
                     + "\n").encode())
    buffer = b""
    spare = _spare(wire, control)
    while True:
        _reap()
        try:
            data, fds, _flags, _addr = socket.recv_fds(control, 65536, 8)
        except TimeoutError:
            continue
        if not data:
            return  # the grader went away: so do we (and, by PDEATHSIG, every job)
        buffer += data
        if b"\n" not in buffer:
            for fd in fds:
                os.close(fd)
            continue
        line, _, buffer = buffer.partition(b"\n")
        if len(fds) != 5:
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        _hand_over(wire, control, spare, line, fds)
        for fd in fds:
            os.close(fd)
        spare = _spare(wire, control)  # the next job's, while this one runs


def bootstrap(wire_source, config):
    """Set up imports and threads, pre-import the libraries, then serve (or run one job directly)."""
    for name, value in config["environ"].items():
        os.environ[name] = value
    sys.path[:0] = config["sys_path"]
    wire = types.ModuleType("dlcv_wire")
    exec(compile(wire_source, "dlcv_wire.py", "exec"), wire.__dict__)
    sys.modules["dlcv_wire"] = wire
    for module in config["preload"]:
        __import__(module)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(config["threads"]))
    if config["mode"] == "direct":
        # One job on fds 0–3, no namespaces: local development only (see runner.UnsandboxedRunner).
        _job_main(wire, config["limits"], sandboxed=False)
    serve(wire, int(config["control_fd"]))
