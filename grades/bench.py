"""Benchmark of the gradebook page's server time: ``python -m grades.bench [--students 200] [--labs 20]
[--exams 20]`` (DATABASE_URL: a scratch PostgreSQL database; its course ``bench-grades`` is replaced on
every run).

Stores a course of N students with graded coding labs and submitted, released exams (bulk inserts,
``grades.tests.factories.build_course``; 20 + 20 = 40 columns by default), then asks for the
instructor's gradebook page through Django's test client — access check, ``grades.selectors.course_grades``
(the points, the categories, the pure policy per student), the presenter and the template — several
times, and counts its queries. Goal: ≤ 1 s median for 200 students × 40 columns, a fixed number of
queries. Prints a fixed workload's CPU time too (``grader.calibration``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence

from grader.calibration import calibration_ms, speed_line

GOAL_SECONDS = 1.0
SLUG = "bench-grades"


def setup(students: int, labs: int, exams: int) -> object:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Course, Role, User
    from accounts.services import user_enroll
    from grades.tests.factories import build_course

    call_command("migrate", verbosity=0)
    Course.objects.filter(slug=SLUG).delete()
    User.objects.filter(username__startswith="bench-grades-").delete()
    course = Course.objects.create(slug=SLUG, title="Bench grades")
    instructor = User.objects.create(username="bench-grades-instructor", password="!")
    user_enroll(user=instructor, course=course, role=Role.INSTRUCTOR)
    build_course(course, now=timezone.now(), students=students, labs=labs, exams=exams - 1, practice=0,
                 unreleased=True, prefix="bench-grades-s", sections=("A", "B", "C", "D"))
    return instructor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--labs", type=int, default=20)
    parser.add_argument("--exams", type=int, default=20, help="assessments (one of them not released)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    speed = calibration_ms()
    began = time.perf_counter()
    instructor = setup(args.students, args.labs, args.exams)
    print(f"setup: {args.students} students × {args.labs} labs + {args.exams} exams stored in "
          f"{time.perf_counter() - began:.1f} s")
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection, reset_queries
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # the test client's renderer; no test database: the one in DATABASE_URL
    # One connection for the whole run (as a web process keeps it), so the queries can be counted on it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    request_started.disconnect(reset_queries)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(instructor)
    url = reverse("instructor-gradebook", args=[SLUG])
    statements: list[str] = []

    def counted(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        first = client.get(url)
    assert first.status_code == 200, first.status_code
    rows = first.content.decode().count('<tr data-student="')
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200
    median = statistics.median(times)
    print(f"gradebook page, {rows} students × {args.labs + args.exams} columns: {len(statements)} "
          f"queries, {len(first.content) // 1024} KB; server time median {median * 1000:.0f} ms of {args.runs} "
          f"(best {min(times) * 1000:.0f} ms); goal ≤ {GOAL_SECONDS:.0f} s: {'met' if median <= GOAL_SECONDS else 'NOT met'}")
    print(speed_line(speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
