"""Benchmark of the instructor's class view: ``python -m progress.bench [--students 500] [--weeks 8]
[--answers 120]`` (DATABASE_URL: a scratch PostgreSQL database; its course ``bench-class`` is replaced
on every run).

Stores a class of N students, each with ``--answers`` graded practice answers spread over ``--weeks``
weeks and over the bank's topics (a parameterized question among them, some answers with one of its
misconceptions), with bulk inserts, and a study card per student and question answered (FSRS states
spread as a term of reviews leaves them) with an exam ten days on; then requests the class view (``progress.instructor_views.class_view``,
through Django's test client: the queries, ``progress.mastery``'s weekly figures, the SVG and the
template, and every student's predicted recall on the exam date: ``study.selectors.class_readiness``)
and its CSV, and counts the queries.
Goal: ≤ 14 queries and ≤ 1.5 s warm for 500 students. Prints a fixed workload's CPU time too.
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

GOAL_SECONDS = 1.5
GOAL_QUERIES = 14
PARAM = "param-conv-by-hand-01"


def setup(students: int, weeks: int, answers: int) -> tuple[object, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Course, Enrollment, Role, User
    from grader.problems import get_family
    from quizzes.models import Assessment, Attempt, AttemptItem, AttemptStatus, Question
    from quizzes.services.bank import practice_sets_ensure
    from study.models import Card

    call_command("migrate", verbosity=0)
    if not Question.objects.exists():
        call_command("load_bank", verbosity=0)
    course, _ = Course.objects.get_or_create(slug="bench-class", defaults={"title": "Bench class"})
    Attempt.objects.filter(assessment__course=course).delete()
    Card.objects.filter(course=course).delete()
    Assessment.objects.filter(course=course, slug="bench-final").delete()
    Enrollment.objects.filter(course=course).delete()
    practice_sets_ensure(course=course)
    sets = {a.items.first().pool_topic_id: a for a in Assessment.objects.filter(course=course, slug__startswith="practice-")
            .exclude(slug="practice-mixed").prefetch_related("items")}
    questions = list(Question.objects.filter(retired=False, topic_id__in=sets, type__in=["single", "numeric"])
                     .select_related("current_version").order_by("bank_id"))
    param = Question.objects.select_related("current_version").filter(bank_id=PARAM).first()
    tags = [m.tag for m in get_family(param.current_version.spec["family"]).misconceptions] if param else []
    existing = set(User.objects.filter(username__startswith="bench-class-").values_list("username", flat=True))
    User.objects.bulk_create([User(username=f"bench-class-{i:05d}", password="!") for i in range(students)
                              if f"bench-class-{i:05d}" not in existing], batch_size=1000)
    users = list(User.objects.filter(username__startswith="bench-class-").order_by("username")[:students])
    Enrollment.objects.bulk_create([Enrollment(user=u, course=course, role=Role.STUDENT, section="AB"[i % 2])
                                    for i, u in enumerate(users)], batch_size=1000)
    instructor, _ = User.objects.get_or_create(username="bench-class-instructor")
    Enrollment.objects.create(user=instructor, course=course, role=Role.INSTRUCTOR)
    now = timezone.now()
    rng = random.Random(0)
    attempts = Attempt.objects.bulk_create(
        [Attempt(assessment=sets[topic], user=u, number=1, status=AttemptStatus.IN_PROGRESS,
                 started_at=now - timedelta(weeks=weeks)) for u in users for topic in sets], batch_size=2000)
    topic_of_set = {practice.pk: topic for topic, practice in sets.items()}
    by_user_topic = {(a.user_id, topic_of_set[a.assessment_id]): a for a in attempts}
    rows, positions = [], {}
    for user in users:
        ability = rng.gauss(0, 1)
        for _ in range(answers):
            question = param if (param and rng.random() < 0.1) else rng.choice(questions)
            attempt = by_user_topic[(user.pk, question.topic_id)] if question.topic_id in sets else None
            if attempt is None:
                continue
            days = rng.uniform(0, weeks * 7)
            right = rng.random() < 1 / (1 + 2.718 ** -(ability + (weeks * 7 - days) / 30 - rng.gauss(0, 0.7)))
            positions[attempt.pk] = positions.get(attempt.pk, 0) + 1
            mistakes = [rng.choice(tags)] if question is param and not right and tags else []
            rows.append(AttemptItem(attempt=attempt, position=positions[attempt.pk],
                                    question_version=question.current_version, seed=positions[attempt.pk],
                                    max_points=Decimal(1), score=Decimal(1 if right else 0),
                                    feedback={"misconceptions": mistakes}, graded_at=now - timedelta(days=days)))
    AttemptItem.objects.bulk_create(rows, batch_size=5000)
    # Each student's cards: one per question answered, last reviewed at its latest answer.
    latest: dict[tuple[int, int], object] = {}
    for row in rows:
        key = (row.attempt.user_id, row.question_version.question_id)
        latest[key] = max(latest.get(key, row.graded_at), row.graded_at)
    by_id = {q.pk: q for q in [*questions, *([param] if param else [])]}
    skill_of = {pk: (f"f:{q.current_version.spec['family']}" if q.type == "param" else f"q:{q.bank_id}")
                for pk, q in by_id.items()}
    cards = {}
    for (user_id, question_id), at in latest.items():
        stability = rng.uniform(0.5, 40)
        cards[(user_id, skill_of[question_id])] = Card(
            user_id=user_id, course=course, skill=skill_of[question_id], topic_id=by_id[question_id].topic_id,
            question_id=question_id, state=2, stability=stability, difficulty=rng.uniform(2, 9), reps=1,
            due=at + timedelta(days=max(1, round(stability))), last_review=at, created_at=at)
    Card.objects.bulk_create(cards.values(), batch_size=5000)
    Assessment.objects.create(course=course, slug="bench-final", title="Bench final", mode="exam", published=True,
                              opens_at=now + timedelta(days=10), closes_at=now + timedelta(days=10, hours=2))
    # The planner's statistics, as autovacuum keeps them on a live database (bulk inserts have none yet).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE quizzes_attempt, quizzes_attemptitem, accounts_enrollment, accounts_user, study_card")
    return course, instructor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--answers", type=int, default=120, help="graded answers per student")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    speed = calibration_ms()
    began = time.perf_counter()
    course, instructor = setup(args.students, args.weeks, args.answers)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from quizzes.models import AttemptItem
    from study.models import Card

    stored = AttemptItem.objects.filter(attempt__assessment__course=course).count()
    print(f"setup: {args.students} students, {stored} graded answers over {args.weeks} weeks and "
          f"{Card.objects.filter(course=course).count()} study cards stored in "
          f"{time.perf_counter() - began:.1f} s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(instructor)
    url = reverse("instructor-class-mastery", args=[course.slug])
    client.get(url)  # warm: the navigation's cached link, the templates
    timings, queries = [], 0
    for _ in range(args.runs):
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        timings.append(time.perf_counter() - began)
        queries = len(captured.captured_queries)
        assert response.status_code == 200, response.status_code
    began = time.perf_counter()
    csv_response = client.get(reverse("instructor-class-mastery-csv", args=[course.slug]))
    csv_seconds = time.perf_counter() - began
    median = statistics.median(timings)
    met = median <= GOAL_SECONDS and queries <= GOAL_QUERIES
    print(f"class view, {args.students} students × {args.answers} answers: {queries} queries, warm median "
          f"{median * 1000:.0f} ms of {args.runs} (CSV {csv_seconds * 1000:.0f} ms, "
          f"{len(csv_response.content.splitlines())} rows); goal ≤ {GOAL_QUERIES} queries and ≤ {GOAL_SECONDS} s: "
          f"{'met' if met else 'NOT met'}")
    print(speed_line(speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
