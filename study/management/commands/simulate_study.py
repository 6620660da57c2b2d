"""Simulated students studying a course through the real services, on a clock you set.

    python manage.py simulate_study --course dlcv-demo --students 20 --days 14 [--start 2026-12-01T09:00+08:00]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Course
from study.models import ReviewLog
from study.services.simulation import simulate


class Command(BaseCommand):
    help = "Create simulated students and run N days of spaced review through the real services."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--course", required=True)
        parser.add_argument("--students", type=int, default=20)
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--start", help="ISO date-time of day 1 (default: now)")
        parser.add_argument("--seed", type=int, default=20)
        parser.add_argument("--prefix", default="sim")

    def handle(self, *args: Any, **options: Any) -> None:
        course = Course.objects.filter(slug=options["course"]).first()
        if course is None:
            raise CommandError(f"no course {options['course']!r}")
        start = datetime.fromisoformat(options["start"]) if options["start"] else timezone.now()
        if timezone.is_naive(start):
            start = timezone.make_aware(start)
        report = simulate(course=course, students=options["students"], days=options["days"], start=start,
                          seed=options["seed"], prefix=options["prefix"])
        logs = ReviewLog.objects.filter(course=course, user__username__startswith=options["prefix"] + "-")
        predicted = [(p, s) for p, s in logs.filter(predicted__isnull=False).values_list("predicted", "score")]
        self.stdout.write(f"{report.students} students × {report.days} days: {report.reviews} reviews, "
                          f"{report.right} right; {len(predicted)} with a prediction")
        if predicted:
            mean_p = sum(p for p, _s in predicted) / len(predicted)
            mean_o = sum(1 for _p, s in predicted if s and s >= 0.5) / len(predicted)
            self.stdout.write(f"mean predicted recall {mean_p:.3f}, observed share right {mean_o:.3f}")
