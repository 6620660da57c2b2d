"""Benchmark of an exam's item analysis from the database: ``python -m quizzes.bench.item_analysis_page
[--students 2000] [--questions 30] [--param 3]`` (DATABASE_URL: a scratch PostgreSQL database; its
course ``bench-analysis`` is replaced on every run).

Stores an exam taken by N students (finished attempts, one item row per question: single-choice
answers, and ``--param`` parameterized questions with misconception tags) with bulk inserts, then
times ``quizzes.analysis_selectors.assessment_analysis`` — the queries, building the matrix and the
statistics — *cold* (the parameterized variants' groups not yet in the cache: every variant is
generated once) and *warm* (as every later view of the page), and counts its queries.
Goal: ≤ 1 s warm for 2,000 × 30, a fixed number of queries. Prints a fixed workload's CPU time too.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence

from grader.calibration import calibration_ms, speed_line

GOAL_SECONDS = 1.0
PARAM_QUESTIONS = ("param-conv-by-hand-01", "param-pool-unpool-01", "param-optimizer-step-01")


def setup(students: int, questions: int, params: int) -> object:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Course, User
    from grader.seeds import variant_seed
    from quizzes.models import (
        Assessment,
        AssessmentItem,
        AssessmentMode,
        Attempt,
        AttemptItem,
        AttemptStatus,
        Question,
    )

    call_command("migrate", verbosity=0)
    if not Question.objects.exists():
        call_command("load_bank", verbosity=0)
    course, _ = Course.objects.get_or_create(slug="bench-analysis", defaults={"title": "Bench analysis"})
    Attempt.objects.filter(assessment__course=course).delete()
    Assessment.objects.filter(course=course).delete()
    now = timezone.now()
    exam = Assessment.objects.create(course=course, slug="exam", title="Bench analysis exam", mode=AssessmentMode.EXAM,
                                     published=True, opens_at=now - timedelta(hours=3), closes_at=now - timedelta(hours=1))
    singles = list(Question.objects.filter(type="single", retired=False).select_related("current_version")
                   .order_by("bank_id")[: questions - params])
    param_ids = [b for b in PARAM_QUESTIONS if Question.objects.filter(bank_id=b).exists()][:params]
    if len(param_ids) < params:  # any parameterized questions the bank has
        param_ids += list(Question.objects.filter(type="param").exclude(bank_id__in=param_ids)
                          .order_by("bank_id").values_list("bank_id", flat=True)[: params - len(param_ids)])
    chosen = singles + list(Question.objects.filter(bank_id__in=param_ids).select_related("current_version"))
    AssessmentItem.objects.bulk_create(AssessmentItem(assessment=exam, position=i, question=q)
                                       for i, q in enumerate(chosen, start=1))
    existing = set(User.objects.filter(username__startswith="bench-analysis-").values_list("username", flat=True))
    User.objects.bulk_create([User(username=f"bench-analysis-{i:05d}", password="!") for i in range(students)
                              if f"bench-analysis-{i:05d}" not in existing], batch_size=1000)
    users = list(User.objects.filter(username__startswith="bench-analysis-").order_by("username")[:students])
    attempts = Attempt.objects.bulk_create([
        Attempt(assessment=exam, user=u, number=1, status=AttemptStatus.SUBMITTED, started_at=exam.opens_at,
                submitted_at=exam.opens_at + timedelta(minutes=50)) for u in users], batch_size=1000)
    rng = random.Random(0)
    rows = []
    for attempt in attempts:
        ability = rng.gauss(0, 1)
        for position, question in enumerate(chosen, start=1):
            right = rng.random() < 1 / (1 + 2.718 ** -(ability - rng.gauss(0, 0.5)))
            if question.type == "param":
                response, feedback = {"parts": {}}, {"misconceptions": [] if right else ["kernel-not-flipped"]}
            else:
                choices = question.current_version.spec["choices"]
                correct = next(i for i, c in enumerate(choices) if c.get("correct"))
                response = {"choice": correct if right else (correct + 1) % len(choices)}
                feedback = {"misconceptions": []}
            rows.append(AttemptItem(attempt=attempt, position=position, question_version=question.current_version,
                                    seed=variant_seed(exam.id, attempt.user_id, 1, question.bank_id),
                                    max_points=Decimal(1), response=response, score=Decimal(1 if right else 0),
                                    feedback=feedback, graded_at=now))
    AttemptItem.objects.bulk_create(rows, batch_size=2000)
    return exam




def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--param", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    speed = calibration_ms()
    began = time.perf_counter()
    exam = setup(args.students, args.questions, args.param)
    print(f"setup: {args.students} finished attempts × {args.questions} items stored in "
          f"{time.perf_counter() - began:.1f} s")
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from quizzes.analysis_selectors import assessment_analysis

    cache.clear()
    began = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = assessment_analysis(assessment=exam)
    cold = time.perf_counter() - began
    warm = []
    for _ in range(args.runs):
        began = time.perf_counter()
        assessment_analysis(assessment=exam)
        warm.append(time.perf_counter() - began)
    median = statistics.median(warm)
    print(f"item analysis from the database, {result.stats.n} attempts × {len(result.stats.items)} items "
          f"({args.param} parameterized): {len(queries.captured_queries)} queries; cold (variant groups worked out) "
          f"{cold * 1000:.0f} ms, warm median {median * 1000:.0f} ms of {args.runs}; goal warm ≤ {GOAL_SECONDS:.0f} s: "
          f"{'met' if median <= GOAL_SECONDS else 'NOT met'}")
    print(speed_line(speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
