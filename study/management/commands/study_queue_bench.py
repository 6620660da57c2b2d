"""Benchmark: today's review queue for one student with 5,000 review logs and 400 cards (goal ≤ 20 ms
of server time: the snapshot read and the choice of the next card), beside the same read through
the ORM rules the SQL is proven equal to (interleaved: a ratio that holds on a shared machine). Writes in a transaction that is
rolled back; prints the goal, the result and the machine-speed figure.

    python manage.py study_queue_bench [--cards 400] [--logs 5000] [--runs 50]
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Course, User
from grader.calibration import calibration_ms
from study import selectors, sql
from study.models import Card, ReviewLog

GOAL_MS = 20.0


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time today's review queue for a student with many cards and review logs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--cards", type=int, default=400)
        parser.add_argument("--logs", type=int, default=5000)
        parser.add_argument("--runs", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._run(options["cards"], options["logs"], options["runs"])
                raise _Rollback
        except _Rollback:
            pass

    def _run(self, n_cards: int, n_logs: int, runs: int) -> None:
        rng = random.Random(20)
        now = timezone.now()
        course = Course.objects.create(slug="bench-study-queue", title="bench")
        user = User.objects.create(username="bench-study-queue")
        other = User.objects.create(username="bench-study-queue-other")
        cards = Card.objects.bulk_create([
            Card(user=u, course=course, skill=f"q:bench-{i}", state=2, stability=rng.uniform(1, 30),
                 difficulty=rng.uniform(1, 9), due=now + timedelta(hours=rng.uniform(-72, 24 * 20)),
                 last_review=now - timedelta(days=rng.uniform(1, 20)), reps=3,
                 created_at=now - timedelta(days=30))
            for u in (user, other) for i in range(n_cards)])
        mine = [c for c in cards if c.user_id == user.pk]
        start = selectors.day_start(now)

        def reviewed_at(i: int) -> datetime:  # 20 reviews today (within the daily limit), the rest before
            return now - timedelta(seconds=i) if i < 20 else start - timedelta(minutes=i * 7)

        ReviewLog.objects.bulk_create([
            ReviewLog(card=rng.choice(mine), user=user, course=course, kind="review", source=f"item:{i}",
                      rating=rng.choice([1, 2, 3, 4]), score=1.0, reviewed_at=reviewed_at(i),
                      due_after=now) for i in range(n_logs)])
        selectors.skill_catalog()  # warm: the bank's skills are read once per process state
        def timed(by_sql: bool) -> float:
            real = sql.available
            sql.available = lambda: by_sql  # type: ignore[method-assign]
            try:
                began = time.perf_counter()
                snap = selectors.snapshot(user=user, course=course, now=now)
                chosen = selectors.review_next(snap=snap)
                elapsed = (time.perf_counter() - began) * 1000
            finally:
                sql.available = real  # type: ignore[method-assign]
            assert chosen is not None
            return elapsed

        compare = sql.available()  # the ORM rule beside it, interleaved: one ratio on a shared machine
        timings, orm_timings = [], []
        for _ in range(runs):
            timings.append(timed(compare))
            if compare:
                orm_timings.append(timed(False))
        snap = selectors.snapshot(user=user, course=course, now=now)
        median, p95 = statistics.median(timings), sorted(timings)[int(0.95 * (len(timings) - 1))]
        self.stdout.write(f"queue of a student with {n_cards} cards and {n_logs} review logs "
                          f"(another student's {n_cards} cards beside them), {runs} runs")
        self.stdout.write(f"goal ≤ {GOAL_MS:.0f} ms server time   result median {median:.2f} ms, p95 {p95:.2f} ms"
                          f"   ({len(snap.due())} due now)")
        if orm_timings:
            orm = statistics.median(orm_timings)
            self.stdout.write(f"the same through the ORM rules (study.selectors.snapshot_*_orm), interleaved: "
                              f"median {orm:.2f} ms — the SQL path takes {median / orm:.0%} of it")
        self.stdout.write(f"machine speed: calibration {calibration_ms():.1f} ms (grader/calibration.py)")
