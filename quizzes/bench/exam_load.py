"""Exam load run: N simulated students start one exam in the same minute, then autosave every 15 s.

Served by gunicorn on PostgreSQL (a separate `dlcv_bench` database), driven by an asyncio client on
loopback. Bounded in count and time; stops by itself. Afterwards every acknowledged save is checked
against the database. Besides latencies it reports the CPU time gunicorn's processes used per
student, which other load on the machine changes far less than it changes latencies. Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dlcv_bench CACHE_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python -m quizzes.bench.exam_load --students 500 --start-window 60 --save-rounds 4

The database (its name must contain "bench") is dropped and created anew for every run. With ``CACHE_URL`` (the production set-up) the web processes
share the item HTML cache and read sessions from Redis; without it each process has its own cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.calibration import calibration_ms

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    when: dict[str, list[float]] = field(default_factory=dict)  # perf_counter at each operation's start

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.when.setdefault(kind, []).append(time.perf_counter() - seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{kind}: {detail}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


GOAL_STUDENTS = 2000
GOAL_P99_SECONDS = 0.150


def fresh_database(url: str) -> None:
    """Start every run from a new, empty database (earlier runs' deleted rows and the autovacuum
    they cause would otherwise weigh on the next run). Only a database named for benches is dropped."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if "bench" not in name:
        sys.exit(f"DATABASE_URL names {name!r}: the exam load drops and recreates its database, so its name "
                 f"must contain 'bench' (e.g. …/dlcv_bench).")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_database(students: int, questions: int) -> dict[str, object]:
    """Create the course, the students (with ready sessions: no password hashing in the run) and the exam."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import cache
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Course, Enrollment, Role, User
    from quizzes.models import Assessment, AssessmentItem, AssessmentMode, Attempt, Question

    # A fresh database reuses ids, and the cached items and views are keyed by them: a run starts
    # with an empty cache, as one day's exam would (the bench's CACHE_URL is its own database).
    cache.clear()
    call_command("migrate", verbosity=0)
    call_command("load_bank", verbosity=0)
    course, _ = Course.objects.get_or_create(slug="bench", defaults={"title": "Bench"})
    Attempt.objects.filter(assessment__course=course).delete()
    Assessment.objects.filter(course=course).delete()
    now = timezone.now()
    exam = Assessment.objects.create(
        course=course, slug="bench-exam", title="Bench exam", mode=AssessmentMode.EXAM, published=True,
        opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(hours=2), time_limit_minutes=90,
    )
    # A realistic exam: mostly auto-graded types plus a parameterized question and an essay.
    pool = list(Question.objects.filter(retired=False).exclude(type__in=["essay", "param"]).order_by("bank_id"))
    rng = random.Random(0)
    chosen = rng.sample(pool, questions - 2) + [Question.objects.get(bank_id="param-conv-by-hand-01"),
                                                Question.objects.get(bank_id="exam-109-q1")]
    AssessmentItem.objects.bulk_create(
        AssessmentItem(assessment=exam, position=i, question=q) for i, q in enumerate(chosen, start=1)
    )
    existing = {u.username: u for u in User.objects.filter(username__startswith="bench-")}
    new = [User(username=f"bench-{i:05d}", password="!") for i in range(students) if f"bench-{i:05d}" not in existing]
    User.objects.bulk_create(new, batch_size=1000)
    users = list(User.objects.filter(username__startswith="bench-").order_by("username")[:students])
    Enrollment.objects.bulk_create([Enrollment(user=u, course=course, role=Role.STUDENT) for u in users],
                                   ignore_conflicts=True)
    # The backend a login stores (as Django's test client picks it): the first that can read a user back
    # (the lockout backend before it only refuses).
    session_backend = next(path for path in settings.AUTHENTICATION_BACKENDS
                           if hasattr(load_backend(path), "get_user"))
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = session_backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(session.session_key)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # planner statistics for the tables just filled, as in production
    return {"course": course.slug, "exam": exam.slug, "exam_id": exam.pk, "sessions": cookies}


def prepare_exam(exam_id: int) -> str:
    """The periodic task's work before the window opens (``exams_prepare_upcoming``): every
    student's parameterized items worked out into the shared cache. What it did, for the report."""
    from django.conf import settings

    from quizzes import prepared_views
    from quizzes.models import Assessment
    from quizzes.services.attempts import exam_variants_prepare

    if not prepared_views.cache_is_shared():
        return "not prepared: without CACHE_URL each process has its own cache"
    began = time.perf_counter()
    prepared = exam_variants_prepare(assessment=Assessment.objects.get(pk=exam_id))
    return (f"prepared before the window: {prepared.worked_out} parameterized views ({len(settings.LANGUAGES)} "
            f"languages) in {time.perf_counter() - began:.1f} s")


def start_gunicorn(port: int, workers: int, threads: int, worker_class: str = "gthread",
                   worker_connections: int | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DEBUG="false", WEB_THREADS=str(threads))
    # asgi: what `make run` and `make web` serve (dlcv_site.front: its threads from WEB_THREADS).
    app, thread_flags = ("dlcv_site.front", []) if worker_class == "asgi" else ("dlcv_site.wsgi", ["--threads", str(threads)])
    command = [sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{port}",
               "-w", str(workers), *thread_flags, "-k", worker_class, "--backlog", "4096",
               "-c", "python:dlcv_site.gunicorn_conf",
               "--log-level", "warning", "--timeout", "60", "--graceful-timeout", "5"]
    if worker_connections is not None:
        command += ["--worker-connections", str(worker_connections)]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, start_new_session=True)
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return process
        except Exception:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not come up")


REQUEST_TIMEOUT = 60.0  # seconds; a request that takes longer is an error of the run


class Browser:
    """One student's HTTP client: cookies, a new connection per request (``Connection: close``, as
    gunicorn sees requests behind a proxy), responses read to the end. Plain asyncio streams, not a
    client library: this generator shares the 2 cores with the server. With aiohttp it used 1.2 ms
    of CPU per request (16.5 s of a 2,000-student run), this 0.7 ms (9.2-10.4 s)."""

    def __init__(self, host: str, port: int, cookies: dict[str, str]) -> None:
        self.host, self.port, self.cookies = host, port, dict(cookies)

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names; Set-Cookie taken into the cookies) and body."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close",
                 "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items())]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), REQUEST_TIMEOUT)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            # To the end: the server closes after its response.
            data = await asyncio.wait_for(reader.read(), REQUEST_TIMEOUT)
        finally:
            writer.close()
        head, _, content = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        received: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
            received[name] = value
        if received.get("transfer-encoding", "").lower() == "chunked":
            content = _unchunk(content)
        return int(status_line.split()[1]), received, content


def _unchunk(content: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        end = content.index(b"\r\n", position)
        size = int(content[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += content[end + 2:end + 2 + size]
        position = end + 2 + size + 2


def landing_path(setup: dict[str, object]) -> str:
    return f"/courses/{setup['course']}/a/{setup['exam']}/"


async def student(host: str, port: int, landing: str, session_key: str, start_delay: float,
                  save_rounds: int, save_interval: float, stats: Stats, acks: dict[int, object]) -> None:
    await asyncio.sleep(start_delay)
    browser = Browser(host, port, {"sessionid": session_key})
    origin = f"http://{host}:{port}"
    t0 = time.perf_counter()
    try:
        await browser.request("GET", landing)
        t_landing = time.perf_counter()
        csrf = browser.cookies.get("csrftoken", "")
        status, headers, _ = await browser.request(
            "POST", landing + "start", f"csrfmiddlewaretoken={csrf}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": origin + landing})
        location = headers.get("location", "")
        t_post = time.perf_counter()
        if status not in (302, 303) or "/attempts/" not in location:
            stats.record("start", time.perf_counter() - t0, False, f"POST start → {status}")
            return
        attempt_path = location.removeprefix(origin)
        status, _, page = await browser.request("GET", attempt_path)
    except Exception as exc:  # a refused/reset connection is an error of the run, not a crash of it
        stats.record("start", time.perf_counter() - t0, False, repr(exc))
        return
    ok = status == 200
    t_page = time.perf_counter()
    stats.record("start", t_page - t0, ok, "" if ok else f"GET attempt → {status}")
    # The three requests of a start, each on its own (diagnostics; the goal is on the whole start).
    stats.record("landing page", t_landing - t0, True)
    stats.record("POST start", t_post - t_landing, True)
    stats.record("exam page", t_page - t_post, True)
    if not ok:
        return
    item_ids = [int(x) for x in _item_ids(page.decode())]
    if not item_ids:
        stats.record("start", 0.0, False, "no items on the exam page")
        return
    rng = random.Random(session_key)
    for round_number in range(save_rounds):
        await asyncio.sleep(save_interval * (0.8 + 0.4 * rng.random()))
        item_id = rng.choice(item_ids)
        value = {"value": f"{round_number}-{rng.randrange(10**6)}", "bench": True}
        t1 = time.perf_counter()
        try:
            status, _, _ = await browser.request(
                "POST", f"{attempt_path.rstrip('/')}/items/{item_id}/save", json.dumps({"response": value}).encode(),
                {"X-CSRFToken": csrf, "Content-Type": "application/json", "Referer": origin + attempt_path})
        except Exception as exc:
            stats.record("autosave", time.perf_counter() - t1, False, repr(exc))
            continue
        ok = status == 200
        stats.record("autosave", time.perf_counter() - t1, ok, "" if ok else f"save → {status}")
        if ok:
            acks[item_id] = value


def _item_ids(page: str) -> list[str]:
    import re

    return sorted(set(re.findall(r'data-item-id="(\d+)"', page)))


async def open_landing_pages(host: str, port: int, setup: dict[str, object], students: int) -> int:
    """Before the exam's minute: ``students`` of them open its landing page, a few at a time, as
    students waiting for an exam to open do. Returns how many pages came back 200 (not timed)."""
    landing = landing_path(setup)
    limit = asyncio.Semaphore(8)

    async def one(session_key: str) -> bool:
        async with limit:
            status, _, _ = await Browser(host, port, {"sessionid": session_key}).request("GET", landing)
            return status == 200

    sessions = list(setup["sessions"])[-students:] if students else []  # type: ignore[arg-type]
    return sum(await asyncio.gather(*(one(key) for key in sessions)))


async def run_load(host: str, port: int, setup: dict[str, object], start_window: float, save_rounds: int,
                   save_interval: float) -> tuple[Stats, dict[int, object]]:
    stats = Stats()
    acks: dict[int, object] = {}
    sessions = list(setup["sessions"])  # type: ignore[arg-type]
    rng = random.Random(1)
    await asyncio.gather(*(
        student(host, port, landing_path(setup), key, rng.uniform(0, start_window), save_rounds, save_interval,
                stats, acks)
        for key in sessions
    ))
    return stats, acks


def verify(acks: dict[int, object]) -> tuple[int, int]:
    """Every acknowledged save is in the database (each item's last acknowledged value)."""
    from quizzes.models import AttemptItem

    stored = dict(AttemptItem.objects.filter(pk__in=list(acks)).values_list("pk", "response"))
    lost = sum(1 for item_id, value in acks.items() if stored.get(item_id) != value)
    return len(acks), lost


def machine_cpu_seconds() -> float:
    """CPU seconds (all CPUs, not idle or iowait) the whole machine has used since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")




def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of a process group (gunicorn's):
    the server's own work, whatever else the machine is running meanwhile."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp … utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--start-window", type=float, default=60.0, help="seconds over which students start")
    parser.add_argument("--save-rounds", type=int, default=4)
    parser.add_argument("--save-interval", type=float, default=15.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--window", type=float, default=15.0, help="seconds per window of the p99-over-time lines")
    parser.add_argument("--worker-class", choices=("asgi", "gthread", "sync"), default="gthread",
                        help="gunicorn's worker class: asgi serves dlcv_site.front as make web does (sync ignores --threads)")
    parser.add_argument("--early", type=int, default=0,
                        help="students who open the landing page before the start window (not timed)")
    parser.add_argument("--worker-connections", type=int, default=None,
                        help="gthread: connections a worker takes on at once (gunicorn's default if not given)")
    parser.add_argument("--unprepared", action="store_true",
                        help="skip preparing the exam's parameterized variants before the window")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database used only for the bench (e.g. …/dlcv_bench).")
    fresh_database(os.environ["DATABASE_URL"])
    calibration_before = calibration_ms()
    t0 = time.perf_counter()
    setup = setup_database(args.students, args.questions)
    print(f"setup: {args.students} students, {args.questions}-question exam in {time.perf_counter() - t0:.1f} s")
    if not args.unprepared:
        print(prepare_exam(setup["exam_id"]))  # type: ignore[arg-type]
    server = start_gunicorn(args.port, args.workers, args.threads, args.worker_class, args.worker_connections)
    try:
        if args.early:
            opened = asyncio.run(open_landing_pages("127.0.0.1", args.port, setup, args.early))
            print(f"before the start window: {opened} of {args.early} students opened the landing page")
        cpu0, load0 = group_cpu_seconds(server.pid), os.getloadavg()[0]
        machine0, client0 = machine_cpu_seconds(), time.process_time()
        t1 = time.perf_counter()
        stats, acks = asyncio.run(run_load("127.0.0.1", args.port, setup, args.start_window,
                                           args.save_rounds, args.save_interval))
        wall = time.perf_counter() - t1
        server_cpu, load1 = group_cpu_seconds(server.pid) - cpu0, os.getloadavg()[0]
        machine_cpu, client_cpu = machine_cpu_seconds() - machine0, time.process_time() - client0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    acknowledged, lost = verify(acks)
    calibration_after = calibration_ms()
    workers = f"{args.workers} sync" if args.worker_class == "sync" else f"{args.workers}×{args.threads} {args.worker_class}"
    print(f"\n{args.students} students, gunicorn {workers}, cache "
          f"{'redis' if os.environ.get('CACHE_URL') else 'per process'}, a new connection per request, run {wall:.0f} s")
    print(f"{'operation':<10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    for kind in ("start", "autosave"):
        values = stats.latencies.get(kind, [])
        print(f"{kind:<10} {len(values):>6} {percentile(values, 50) * 1000:>8.1f} "
              f"{percentile(values, 99) * 1000:>8.1f} {max(values, default=float('nan')) * 1000:>8.1f} "
              f"{stats.errors.get(kind, 0):>7}")
    print("a start's requests, p50 / p99 ms: " + ", ".join(
        f"{kind} {percentile(stats.latencies.get(kind, []), 50) * 1000:.1f} / "
        f"{percentile(stats.latencies.get(kind, []), 99) * 1000:.1f}"
        for kind in ("landing page", "POST start", "exam page")))
    # Each start is three requests (landing page, POST start, the attempt page).
    requests = 3 * len(stats.latencies.get("start", [])) + len(stats.latencies.get("autosave", []))
    print(f"requests: {requests} in {wall:.0f} s = {requests / wall:.1f}/s; server CPU {server_cpu:.1f} s "
          f"= {server_cpu / args.students * 1000:.0f} ms per student (start + {args.save_rounds} saves); "
          f"load average {load0:.1f} → {load1:.1f}")
    # Where the machine's CPU went: the app server, this load generator, and the rest (PostgreSQL,
    # Redis, the kernel's loopback networking, anything else running).
    print(f"machine CPU {machine_cpu:.1f} s of {wall * (os.cpu_count() or 1):.0f} available: server {server_cpu:.1f} s, "
          f"load generator {client_cpu:.1f} s, rest (PostgreSQL, Redis, kernel, other) "
          f"{machine_cpu - server_cpu - client_cpu:.1f} s")
    print(f"machine speed: a fixed workload took {calibration_before:.1f} ms of CPU before the run and "
          f"{calibration_after:.1f} ms after (lower is faster; compare runs only at similar figures)")
    print(f"acknowledged saves checked: {acknowledged} items, lost: {lost}")
    # Over time: where the slow operations are (cold processes at the start, or a backlog).
    origin = min((w for values in stats.when.values() for w in values), default=0.0)
    for kind in ("start", "autosave"):
        windows: dict[int, list[float]] = {}
        for began, seconds in zip(stats.when.get(kind, []), stats.latencies.get(kind, []), strict=True):
            windows.setdefault(int((began - origin) // args.window), []).append(seconds)
        print(f"{kind} p99 ms per {args.window:g} s:", " ".join(
            f"{w * args.window:g}s:{percentile(values, 99) * 1000:.0f}({len(values)})"
            for w, values in sorted(windows.items())))
    for sample in stats.error_samples:
        print("  error:", sample)
    worst = max(percentile(stats.latencies.get(kind, []), 99) for kind in ("start", "autosave"))
    errors = sum(stats.errors.values())
    met = worst <= GOAL_P99_SECONDS and not errors and not lost
    print(f"goal at {GOAL_STUDENTS:,} students: p99 ≤ {GOAL_P99_SECONDS * 1000:.0f} ms, no errors, no lost save — "
          f"here {args.students:,} students, worst p99 {worst * 1000:.0f} ms, {errors} errors, {lost} lost: "
          f"{'met' if met else 'NOT met'}{'' if args.students >= GOAL_STUDENTS else ' (fewer students than the goal)'}")
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
