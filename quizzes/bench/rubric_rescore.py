"""Benchmark of a rubric edit that re-scores the class: ``python -m quizzes.bench.rubric_rescore
[--students 500] [--runs 3]`` (DATABASE_URL: a scratch PostgreSQL database; its course ``bench-rubric`` is
replaced on every run).

Stores an exam essay graded by rubric for N students (finished attempts with a second item each, three
rubric items, one of them applied to every answer) with bulk inserts, then times
``quizzes.services.rubric.rubric_item_update`` changing that item's points (each run flips them, so every
answer changes score: N audit entries, N items and N attempts written) and counts its queries.
Goal: ≤ 2 s for 500 answers, a number of queries that does not grow with N. Prints the machine-speed
figure (``grader.calibration``) too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from grader.calibration import calibration_ms, speed_line

GOAL_SECONDS = 2.0
ESSAY = "exam-109-q1"
OTHER = "act-dead-relu-05"


def setup(students: int) -> dict[str, Any]:
    """The course, stored; returns the rubric item to change and the instructor."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Course, User
    from quizzes.models import (
        Assessment,
        AssessmentMode,
        Attempt,
        AttemptItem,
        AttemptStatus,
        Question,
        RubricApplication,
        RubricItem,
    )

    call_command("migrate", verbosity=0)
    if not Question.objects.filter(bank_id=ESSAY).exists():
        call_command("load_bank", verbosity=0)
    course, _ = Course.objects.get_or_create(slug="bench-rubric", defaults={"title": "Bench rubric"})
    Attempt.objects.filter(assessment__course=course).delete()
    Assessment.objects.filter(course=course).delete()
    essay = Question.objects.select_related("current_version").get(bank_id=ESSAY)
    other = Question.objects.select_related("current_version").get(bank_id=OTHER)
    RubricItem.objects.filter(question=essay).delete()
    now = timezone.now()
    exam = Assessment.objects.create(course=course, slug="exam", title="Bench rubric exam", mode=AssessmentMode.EXAM,
                                     published=True, opens_at=now - timedelta(hours=3), closes_at=now - timedelta(hours=1))
    rubric = RubricItem.objects.bulk_create([
        RubricItem(question=essay, title="Bench point A", points=Decimal(6), position=1),
        RubricItem(question=essay, title="Bench point B", points=Decimal(5), position=2),
        RubricItem(question=essay, title="Bench deduction", points=Decimal(-2), position=3),
    ])
    existing = set(User.objects.filter(username__startswith="bench-rubric-").values_list("username", flat=True))
    User.objects.bulk_create([User(username=f"bench-rubric-{i:05d}", password="!") for i in range(students)
                              if f"bench-rubric-{i:05d}" not in existing], batch_size=1000)
    users = list(User.objects.filter(username__startswith="bench-rubric-").order_by("username")[:students])
    attempts = Attempt.objects.bulk_create([
        Attempt(assessment=exam, user=u, number=1, status=AttemptStatus.SUBMITTED, started_at=exam.opens_at,
                submitted_at=exam.opens_at + timedelta(minutes=50), points=Decimal(0), max_points=Decimal(16))
        for u in users], batch_size=1000)
    essays = []
    rows = []
    for index, attempt in enumerate(attempts):
        item = AttemptItem(attempt=attempt, position=1, question_version=essay.current_version, max_points=Decimal(15),
                           response={"text": "An answer."}, graded_at=now, score=Decimal(0),
                           rubric_adjustment=Decimal(index % 3), feedback={"version": 2, "parts": [], "score": 0})
        essays.append(item)
        rows.append(item)
        rows.append(AttemptItem(attempt=attempt, position=2, question_version=other.current_version,
                                max_points=Decimal(1), response={"choice": 0}, score=Decimal(1), graded_at=now))
    AttemptItem.objects.bulk_create(rows, batch_size=2000)
    RubricApplication.objects.bulk_create(
        [RubricApplication(item=item, rubric_item=rubric[0]) for item in essays]
        + [RubricApplication(item=item, rubric_item=rubric[2]) for index, item in enumerate(essays) if index % 2],
        batch_size=2000)
    instructor, _ = User.objects.get_or_create(username="bench-rubric-instructor")
    return {"rubric_item": rubric[0], "instructor": instructor, "students": len(essays)}


def run_once(state: dict[str, Any], points: str) -> tuple[float, int, int]:
    """One rubric edit: (seconds, queries, answers re-scored)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from quizzes.services.rubric import rubric_item_update

    began = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        changed = rubric_item_update(rubric_item_id=state["rubric_item"].pk, title=state["rubric_item"].title,
                                     points=points, changed_by=state["instructor"])
    return time.perf_counter() - began, len(queries.captured_queries), changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    speed = calibration_ms()
    began = time.perf_counter()
    state = setup(args.students)
    print(f"setup: {state['students']} rubric-graded essays stored in {time.perf_counter() - began:.1f} s")
    times = []
    for run in range(args.runs):
        seconds, queries, changed = run_once(state, "4" if run % 2 == 0 else "6")
        times.append(seconds)
        print(f"run {run + 1}: {changed} answers re-scored (each audited) in {seconds * 1000:.0f} ms, {queries} queries")
    median = statistics.median(times)
    print(f"goal: a rubric change applied to {args.students} answers in ≤ {GOAL_SECONDS:.0f} s; "
          f"result: median {median * 1000:.0f} ms of {args.runs}: {'met' if median <= GOAL_SECONDS else 'NOT met'}")
    print(speed_line(speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
