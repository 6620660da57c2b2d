"""Stalled uploads against the web front: ``python -m dlcv_site.bench_stalled`` (part of ``make bench``).

50 connections each POST the login form with ``Content-Length: 300`` and 2 bytes of body, then
nothing (Django reads that body before it can answer); one answered is
opened again at once, so 50 are stalled all the time. Meanwhile one client sends normal requests
one after another (the login page and ``GET /api/labs/``) and their latency is recorded. Two
set-ups, each on this machine's loopback:

* ``make run``'s: ``gunicorn dlcv_site.front -k asgi`` with 2 processes (``make web`` is the same
  server with its own process and thread counts);
* the production front: ``deploy/nginx.conf`` (TLS) with Debian's nginx in front of that gunicorn.

It prints, for each, the normal requests' p50/p99/max against the goal (p99 under 1 s) and how the
stalled requests were answered (408 expected, never a 500), then a machine-speed figure: the CPU
time of a fixed workload (runs compare only at similar figures). It uses the configured database
(``DATABASE_URL``, else the SQLite file), migrated first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.calibration import calibration_ms

PROJECT_DIR = Path(__file__).resolve().parent.parent
GOAL_P99_SECONDS = 1.0
STALLED_CONNECTIONS = 50
NORMAL_PATHS = ("/accounts/login/", "/api/labs/")
# A well-formed CSRF cookie: with one, Django's CSRF check reads the form body for the token (without
# one it refuses at once, body unread).
CSRF_COOKIE = b"a" * 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_web_front(port: int, *, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None,
                    timeout: float = 60) -> subprocess.Popen[bytes]:
    """gunicorn as ``make run`` / ``make web`` start it (``dlcv_site.front``, the ``asgi`` worker)."""
    command = [sys.executable, "-m", "gunicorn", "dlcv_site.front", "-k", "asgi", "-c", "python:dlcv_site.gunicorn_conf",
               "-b", f"127.0.0.1:{port}", "-w", str(workers), "--no-control-socket", "--log-level", "warning"]
    # Its log (Django warns of every 401 and 403) would drown the figures.
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=dict(os.environ, WEB_THREADS=str(threads), **(env or {})),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One client context (making one loads the system's CA store: tens of ms of the event loop)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the scratch front's self-signed certificate
    return context


async def _status_of(reader: asyncio.StreamReader) -> int:
    line = await reader.readline()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def request(port: int, path: str, *, tls: bool, timeout: float = 30) -> tuple[int, float]:
    """One GET on a fresh connection, read to the end: (status, seconds)."""
    began = time.perf_counter()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=_tls() if tls else None), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(_status_of(reader), timeout)
        await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return status, time.perf_counter() - began


@dataclass
class Stalling:
    """The stalled connections' outcomes: how each was answered (status 0: closed without an answer)."""
    answers: Counter[int] = field(default_factory=Counter)
    opened: int = 0


async def _stall_forever(port: int, tls: bool, stalling: Stalling, stop_event: asyncio.Event) -> None:
    while not stop_event.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_tls() if tls else None)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        stalling.opened += 1
        try:
            # The login form: Django reads this body before it can answer (the CSRF token is in it).
            writer.write(b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
                         b"Cookie: csrftoken=" + CSRF_COOKIE + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300\r\n\r\nus")
            await writer.drain()
            waiting = asyncio.ensure_future(_status_of(reader))
            stopping = asyncio.ensure_future(stop_event.wait())
            done, _ = await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                stalling.answers[waiting.result()] += 1
            else:
                waiting.cancel()
            stopping.cancel()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            stalling.answers[0] += 1
        finally:
            writer.close()


@dataclass
class Run:
    latencies: list[float]
    statuses: Counter[int]
    stalling: Stalling


async def run(port: int, *, tls: bool, seconds: float, stalled: int = STALLED_CONNECTIONS,
              request_timeout: float = 10.0) -> Run:
    """Normal requests for ``seconds`` while ``stalled`` connections stall their bodies; a normal
    request unanswered after ``request_timeout`` seconds raises TimeoutError."""
    stalling, stop_event = Stalling(), asyncio.Event()
    stallers = [asyncio.ensure_future(_stall_forever(port, tls, stalling, stop_event)) for _ in range(stalled)]
    await asyncio.sleep(1.0)  # all of them in place
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        status, took = await request(port, NORMAL_PATHS[turn % len(NORMAL_PATHS)], tls=tls, timeout=request_timeout)
        statuses[status] += 1
        latencies.append(took)
        turn += 1
        await asyncio.sleep(0.02)
    stop_event.set()
    await asyncio.gather(*stallers, return_exceptions=True)
    return Run(latencies=latencies, statuses=statuses, stalling=stalling)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, result: Run) -> str:
    p50, p99 = percentile(result.latencies, 0.5), percentile(result.latencies, 0.99)
    met = "met" if p99 < GOAL_P99_SECONDS else "NOT met"
    ended = ", ".join(f"{count}× {status if status else 'closed without an answer'}"
                      for status, count in sorted(result.stalling.answers.items())) or "none"
    return (f"{name}: {len(result.latencies)} normal requests {dict(result.statuses)}, p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(result.latencies) * 1000:.0f} ms (goal p99 < "
            f"{GOAL_P99_SECONDS * 1000:.0f} ms: {met}); stalled requests ended: {ended} of {result.stalling.opened} "
            "opened (the rest still stalled at the end)")




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="how long normal requests are sent (longer than the 10 s body deadline)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from django.conf import settings

    from dlcv_site.nginx_local import start_nginx_front

    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_DIR, check=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=PROJECT_DIR, check=True)
    print(f"Stalled uploads: {STALLED_CONNECTIONS} connections send Content-Length: 300 and 2 bytes, then nothing "
          f"(the app answers 408 after {settings.REQUEST_BODY_IDLE_TIMEOUT:.0f} s without a byte, nginx after its "
          f"client_body_timeout); normal requests {', '.join(NORMAL_PATHS)} one after another for {args.seconds:.0f} s.")
    upstream = free_port()
    server = start_web_front(upstream, workers=args.workers, threads=args.threads)
    try:
        print(report(f"make run (gunicorn dlcv_site.front -k asgi, {args.workers} processes × {args.threads} threads)",
                     asyncio.run(run(upstream, tls=False, seconds=args.seconds))), flush=True)
        with tempfile.TemporaryDirectory(prefix="dlcv-nginx-") as scratch:
            front = start_nginx_front(directory=Path(scratch), upstream_port=upstream, http_port=free_port(),
                                      https_port=free_port())
            try:
                print(report("nginx front (deploy/nginx.conf, TLS) → the same gunicorn",
                             asyncio.run(run(front.https_port, tls=True, seconds=args.seconds))), flush=True)
            finally:
                front.stop()
    finally:
        stop(server)
    print(f"machine speed: a fixed workload took {calibration_ms():.1f} ms of CPU (runs compare only at similar figures)")


if __name__ == "__main__":
    main()
