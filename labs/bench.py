"""Benchmark of numeric lab grading through the broker: ``python -m labs.bench [--n 600] [--json]``.

On a scratch database (``bench_<NAME>``, created, migrated and dropped like a test database) it
loads one shipped lab, starts ``--workers`` Celery worker processes on a private queue of the
configured broker (``-c 2`` by default), and measures two phases:

* **burst**: ``--n`` students submit at once (``--producers`` threads calling
  ``submission_create``, as several web processes would); every third answer has a mistake in one
  part, so diagnosis runs too;
* **drain**: ``--n`` more rows are created first and their messages sent at once afterwards:
  the workers' own capacity, whatever the producers manage;
* **paced**: ``--paced`` submissions at ``--rate`` per second, below capacity, so no backlog builds
  up and *create → started* is the queue and database overhead itself.

All times come from the rows: ``created_at`` (the service), ``started_at`` (the claim) and
``finished_at`` (the result write). *grading* = ``finished_at − started_at`` (claim, re-fetch,
grade every part, write); *queue+DB* = ``started_at − created_at`` (insert, commit, publish,
broker, worker pick-up). Goals: queue+DB < 20 ms p50 without backlog, ≥ 150 graded submissions/s.
Set ``DATABASE_URL`` and ``REDIS_URL`` to measure PostgreSQL and Redis; without them it runs on
SQLite and the filesystem broker (which polls every 100 ms, so its latencies say little).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

GOAL_OVERHEAD_MS = 20.0
GOAL_THROUGHPUT = 150.0


def _ms(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


@contextmanager
def _scratch_database() -> Iterator[str]:
    """A migrated throw-away database (Django's test-database machinery); yields the worker URL."""
    from django.conf import settings
    from django.db import connection

    from conftest import _database_url_for_worker

    db = connection.settings_dict
    if "sqlite" in db["ENGINE"]:
        db["TEST"]["NAME"] = str(Path(settings.VAR_DIR) / "bench_db.sqlite3")
    else:
        db["TEST"]["NAME"] = f"bench_{db['NAME']}"
    old_name = db["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield _database_url_for_worker()
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


@contextmanager
def _workers(queue: str, database_url: str, processes: int, prefetch: int | None = None) -> Iterator[None]:
    """One ``celery worker -c processes`` on ``queue``, returning once it answers a ping; ``prefetch``
    is its ``--prefetch-multiplier`` (default: the setting)."""
    from django.conf import settings

    from dlcv_site.tasks import ping

    log_path = Path(settings.VAR_DIR) / "bench-worker.log"
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1", GRADER_TEST_SLOW_SECONDS="0")
    command = [
        sys.executable, "-m", "celery", "-A", "dlcv_site", "worker", "-Q", queue, "-c", str(processes),
        "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "-l", "warning", "--without-gossip", "--without-mingle",
    ]
    if prefetch is not None:
        command += ["--prefetch-multiplier", str(prefetch)]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ping.apply_async(queue=queue, retry=False).get(timeout=2)
                break
            except Exception as exc:  # not up yet
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the bench worker did not start ({exc}); see {log_path}") from exc
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _students(course: Any, n: int, prefix: str) -> list[Any]:
    from accounts.models import Enrollment, Role, User

    users = User.objects.bulk_create(
        [User(username=f"{prefix}-{i}", password="!") for i in range(n)]  # "!" = unusable password
    )
    Enrollment.objects.bulk_create([Enrollment(user=u, course=course, role=Role.STUDENT) for u in users])
    return users


def _answers(lab: Any, users: Sequence[Any]) -> list[dict[str, dict[str, str]]]:
    """Right answers, except that every third student makes a known mistake in the first part."""
    from grader.problems import get_family
    from labs.services import lab_part_params, lab_variant_seed

    parts = list(lab.parts.all())
    out = []
    for i, user in enumerate(users):
        seed = lab_variant_seed(lab_id=lab.pk, user_id=user.pk)
        answers = {}
        for j, part in enumerate(parts):
            family = get_family(part.family)
            params = lab_part_params(part=part, seed=seed)
            answer = family.solve(params)
            alternatives = family.alternatives(params)
            if j == 0 and i % 3 == 0 and alternatives:
                answer = {**answer, **next(iter(alternatives.values()))}
            answers[part.key] = family.format_answer(params, answer)
        out.append(answers)
    return out


def _create(lab: Any, users: Sequence[Any], answers: Sequence[dict[str, Any]], producers: int,
            rate: float | None = None) -> list[int]:
    """Submit through the service from ``producers`` threads (``rate``: total per second, or at once)."""
    from django.db import connection

    from labs.services import submission_create

    ids: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(producers)
    interval = producers / rate if rate else 0.0

    def produce(offset: int) -> None:
        try:
            barrier.wait(timeout=30)
            start = time.monotonic()
            for k, index in enumerate(range(offset, len(users), producers)):
                if interval:
                    time.sleep(max(0.0, start + k * interval - time.monotonic()))
                result = submission_create(user=users[index], lab=lab, answers=answers[index])
                with lock:
                    ids.append(result.submission.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(ids) != len(users):
        raise RuntimeError(f"only {len(ids)} of {len(users)} submissions were created")
    return ids


def _wait_graded(ids: Sequence[int], timeout: float) -> None:
    from labs.models import Submission, SubmissionStatus

    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = Submission.objects.filter(pk__in=ids, status__in=[SubmissionStatus.GRADED, SubmissionStatus.FAILED]).count()
        if done == len(ids):
            return
        time.sleep(0.05)
    raise RuntimeError(f"only {done} of {len(ids)} submissions were graded within {timeout:.0f} s")


def _measure(phase: str, ids: Sequence[int]) -> dict[str, Any]:
    from labs.models import Submission, SubmissionStatus

    rows: list[tuple[datetime, datetime, datetime, str]] = list(
        Submission.objects.filter(pk__in=ids).values_list("created_at", "started_at", "finished_at", "status")
    )
    created = [r[0] for r in rows]
    started = [r[1] for r in rows]
    finished = [r[2] for r in rows]
    total = [(f - c).total_seconds() for c, _s, f, _st in rows]
    grading = [(f - s).total_seconds() for _c, s, f, _st in rows]
    overhead = [(s - c).total_seconds() for c, s, _f, _st in rows]
    span = (max(finished) - min(created)).total_seconds()
    return {
        "phase": phase,
        "n": len(rows),
        "failed": sum(1 for r in rows if r[3] != SubmissionStatus.GRADED),
        "created_per_s": len(rows) / max((max(created) - min(created)).total_seconds(), 1e-9),
        "graded_per_s": len(rows) / span,
        "grading_per_s": len(rows) / (max(finished) - min(started)).total_seconds(),
        "total_p50_ms": _ms(total, 0.5),
        "total_p95_ms": _ms(total, 0.95),
        "grading_p50_ms": _ms(grading, 0.5),
        "grading_p95_ms": _ms(grading, 0.95),
        "grading_mean_ms": statistics.fmean(grading) * 1000,
        "overhead_p50_ms": _ms(overhead, 0.5),
        "overhead_p95_ms": _ms(overhead, 0.95),
    }


def run(*, n: int, paced: int, rate: float, processes: int, producers: int, lab_slug: str,
        prefetch: int | None = None) -> dict[str, Any]:
    """Set up, run both phases, tear down; returns the measurements."""
    import yaml
    from django.conf import settings

    from accounts.services import course_create
    from labs import services
    from labs.services import queue as grading_queue

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    grading_queue.NUMERIC_QUEUE = queue
    spec = yaml.safe_load((Path(settings.BASE_DIR) / "fixtures" / "labs" / f"{lab_slug}.yaml").read_text("utf-8"))
    spec["due_days"] = None  # the bench must not depend on the calendar
    with _scratch_database() as database_url:
        course = course_create(slug="bench", title="Bench")
        lab, _created = services.lab_upsert(course=course, spec=spec)
        burst_users, paced_users = _students(course, n, "burst"), _students(course, paced, "paced")
        drain_users = _students(course, n, "drain")
        burst_answers, paced_answers = _answers(lab, burst_users), _answers(lab, paced_users)
        drain_answers = _answers(lab, drain_users)
        with _workers(queue, database_url, processes, prefetch):
            # Warm-up: the workers' first gradings import and connect; not measured.
            warm = _students(course, 2 * processes, "warm")
            _wait_graded(_create(lab, warm, _answers(lab, warm), 1), timeout=60)
            burst_ids = _create(lab, burst_users, burst_answers, producers)
            _wait_graded(burst_ids, timeout=max(120.0, n / 10))
            # Drain: the rows are created first and their messages sent at once afterwards, so the
            # workers' own capacity shows, whatever the producers manage.
            send = grading_queue.enqueue_gradings
            held: list[int] = []
            grading_queue.enqueue_gradings = lambda ids, kind="numeric": held.extend(ids)  # type: ignore[assignment]
            try:
                drain_ids = _create(lab, drain_users, drain_answers, producers)
            finally:
                grading_queue.enqueue_gradings = send
            send(held)
            _wait_graded(drain_ids, timeout=max(120.0, n / 10))
            paced_ids = _create(lab, paced_users, paced_answers, 1, rate=rate)
            _wait_graded(paced_ids, timeout=60 + paced / rate)
        phases = [
            _measure("burst", burst_ids),
            _measure("drain", drain_ids),
            _measure(f"paced {rate:g}/s", paced_ids),
        ]
    _cleanup_broker(queue)
    return {
        "lab": lab_slug,
        "parts": len(spec["parts"]),
        "worker_processes": processes,
        "prefetch_multiplier": prefetch if prefetch is not None else settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
        "producers": producers,
        "broker": settings.BROKER_MODE,
        "database": settings.DATABASE_ENGINE,
        "phases": phases,
        "load_before": load_before,
    }


def _cleanup_broker(queue: str) -> None:
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(
            queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
        )


def format_table(report: dict[str, Any]) -> str:
    head = (
        f"numeric lab bench: {report['lab']} ({report['parts']} parts), {report['worker_processes']} worker "
        f"processes (prefetch ×{report['prefetch_multiplier']}), {report['producers']} producer threads, broker {report['broker']}, "
        f"database {report['database']}, {os.cpu_count()} CPUs, load average before {report['load_before']}"
    )
    columns = [
        ("phase", "phase", "{}"),
        ("n", "n", "{:,}"),
        ("created/s", "created_per_s", "{:,.0f}"),
        ("graded/s", "graded_per_s", "{:,.0f}"),
        ("worker graded/s", "grading_per_s", "{:,.0f}"),
        ("create→graded p50 ms", "total_p50_ms", "{:.1f}"),
        ("p95 ms", "total_p95_ms", "{:.1f}"),
        ("grading p50 ms", "grading_p50_ms", "{:.2f}"),
        ("p95 ms", "grading_p95_ms", "{:.2f}"),
        ("queue+DB p50 ms", "overhead_p50_ms", "{:.1f}"),
        ("p95 ms", "overhead_p95_ms", "{:.1f}"),
        ("failed", "failed", "{}"),
    ]
    rows = [[fmt.format(phase[key]) for _title, key, fmt in columns] for phase in report["phases"]]
    widths = [max(len(title), *(len(r[i]) for r in rows)) for i, (title, _k, _f) in enumerate(columns)]
    lines = [head, "  ".join(t.rjust(w) if i else t.ljust(w) for i, ((t, _k, _f), w) in enumerate(zip(columns, widths, strict=True)))]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows]
    burst, drain, paced = report["phases"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines += [
        "burst: created and graded together; drain: created first, then all sent at once (worker capacity);",
        "paced: below capacity, so queue+DB is the overhead itself. Times from the rows (created_at, started_at,",
        "finished_at); graded/s = n / (first created → last graded), worker graded/s = n / (first started → last graded).",
        f"goal queue+DB overhead < {GOAL_OVERHEAD_MS:g} ms p50 ({paced['phase']}): "
        f"{verdict(paced['overhead_p50_ms'] < GOAL_OVERHEAD_MS)}",
        f"goal ≥ {GOAL_THROUGHPUT:g} graded submissions/s by the {report['worker_processes']} worker processes (drain): "
        f"{verdict(drain['grading_per_s'] >= GOAL_THROUGHPUT)} ({drain['grading_per_s']:.0f}/s); end to end in the burst, "
        f"where the producers share the same CPUs: {burst['graded_per_s']:.0f}/s",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="submissions in the burst")
    parser.add_argument("--paced", type=int, default=100, help="submissions in the paced phase")
    parser.add_argument("--rate", type=float, default=50.0, help="paced submissions per second")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery -c)")
    parser.add_argument("--producers", type=int, default=4, help="threads creating the burst")
    parser.add_argument("--lab", default="lab1-convolution", help="a lab in fixtures/labs/")
    parser.add_argument("--prefetch", type=int, default=4,
                        help="the workers' --prefetch-multiplier (default 4, as `make run` starts numeric workers)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("labs.services").setLevel(logging.WARNING)
    report = run(n=args.n, paced=args.paced, rate=args.rate, processes=args.workers, producers=args.producers,
                 lab_slug=args.lab, prefetch=args.prefetch)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    gc.collect()  # Celery result objects clean up now, not while the interpreter is shutting down
    return 0


if __name__ == "__main__":
    sys.exit(main())
